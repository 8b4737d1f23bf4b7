using System.Globalization;
using System.Text;

namespace Ambient.E2E.Testing;

/// <summary>Prometheus text exposition, parsed just enough to sum counters by labels.</summary>
public sealed class PromText(IReadOnlyList<PromText.Sample> samples, string raw)
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public IReadOnlyList<Sample> Samples { get; } = samples;

    public string Raw { get; } = raw;

    /// <summary>Sum of <paramref name="name"/> over the series whose labels match every given pair.</summary>
    public double Sum(string name, params (string Key, string Value)[] match) =>
        Samples.Where(s => s.Name == name && match.All(m => s.Labels.TryGetValue(m.Key, out var v) && v == m.Value)).Sum(s => s.Value);

    public IEnumerable<Sample> Series(string name, params (string Key, string Value)[] match) =>
        Samples.Where(s => s.Name == name && match.All(m => s.Labels.TryGetValue(m.Key, out var v) && v == m.Value));

    public static PromText Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var brace = line.IndexOf('{');
            string name;
            string rest;
            if (brace >= 0)
            {
                name = line[..brace];
                var i = brace + 1;
                while (i < line.Length && line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var key = line[i..eq].Trim(' ', ',');
                    i = eq + 2; // past ="
                    var value = new StringBuilder();
                    while (line[i] != '"')
                    {
                        if (line[i] == '\\' && i + 1 < line.Length)
                        {
                            i++;
                            value.Append(line[i] == 'n' ? '\n' : line[i]);
                        }
                        else
                        {
                            value.Append(line[i]);
                        }
                        i++;
                    }
                    labels[key] = value.ToString();
                    i++; // past closing quote
                    if (i < line.Length && line[i] == ',')
                    {
                        i++;
                    }
                }
                rest = line[(i + 1)..].Trim();
            }
            else
            {
                var space = line.IndexOf(' ');
                name = line[..space];
                rest = line[(space + 1)..].Trim();
            }
            var valueText = rest.Split(' ')[0];
            samples.Add(new Sample(name, labels, double.Parse(valueText, CultureInfo.InvariantCulture)));
        }
        return new PromText(samples, text);
    }
}
