namespace Ambient.Net.Redirection.Internal;

/// <summary>
/// The parts of <c>iptables-save</c> output we reason about: per table, the chains declared and the
/// <c>-A CHAIN spec</c> lines in order. Counters (<c>[0:0]</c>) and comments are ignored.
/// </summary>
internal sealed class IptablesSave
{
    private readonly Dictionary<string, Table> _tables = new(StringComparer.Ordinal);

    public sealed class Table
    {
        public HashSet<string> Chains { get; } = new(StringComparer.Ordinal);

        public List<(string Chain, string Spec)> Rules { get; } = [];

        public IEnumerable<string> RulesOf(string chain) => Rules.Where(r => r.Chain == chain).Select(r => r.Spec);
    }

    public Table? this[string table] => _tables.GetValueOrDefault(table);

    public static IptablesSave Parse(string text)
    {
        var save = new IptablesSave();
        Table? current = null;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            if (line[0] == '*')
            {
                current = new Table();
                save._tables[line[1..].Trim()] = current;
            }
            else if (current is null || line == "COMMIT")
            {
                continue;
            }
            else if (line[0] == ':')
            {
                int space = line.IndexOf(' ');
                current.Chains.Add(space < 0 ? line[1..] : line[1..space]);
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                string rest = line[3..];
                int space = rest.IndexOf(' ');
                current.Rules.Add(space < 0 ? (rest, "") : (rest[..space], rest[(space + 1)..]));
            }
        }
        return save;
    }
}
