namespace Ambient.E2E.Testing;

/// <summary>A network namespace's iptables (iptables-save through nsenter), read the way an operator would.</summary>
public sealed record Iptables(string Netns, string Save)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static async Task<Iptables> ReadAsync(string netnsPath)
    {
        var r = await Proc.CheckAsync("nsenter", [$"--net={netnsPath}", "--", "iptables-save"], Timeout);
        return new Iptables(netnsPath, r.Stdout);
    }

    /// <summary>Lines declaring or using an ISTIO_* chain.</summary>
    public IReadOnlyList<string> IstioLines => Save.Split('\n').Where(l => l.Contains("ISTIO", StringComparison.Ordinal)).ToArray();

    public bool HasIstioChains => Save.Split('\n').Any(l => l.StartsWith(":ISTIO_", StringComparison.Ordinal));

    /// <summary>Rules (-A lines) qualified by their table, e.g. "nat: -A ISTIO_OUTPUT …".</summary>
    public IReadOnlyList<string> Rules
    {
        get
        {
            var rules = new List<string>();
            var table = "";
            foreach (var line in Save.Split('\n'))
            {
                if (line.StartsWith('*'))
                {
                    table = line[1..].Trim();
                }
                else if (line.StartsWith("-A ", StringComparison.Ordinal))
                {
                    rules.Add($"{table}: {line.Trim()}");
                }
            }
            return rules;
        }
    }

    /// <summary>Rules that appear more than once in their table.</summary>
    public IReadOnlyList<string> DuplicateRules => Rules.GroupBy(r => r).Where(g => g.Count() > 1).Select(g => $"{g.Count()}× {g.Key}").ToArray();

    public override string ToString() => $"iptables-save in {Netns}:\n{Save.TrimEnd()}";
}
