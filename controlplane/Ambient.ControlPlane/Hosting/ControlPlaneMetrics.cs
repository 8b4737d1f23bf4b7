using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Ambient.ControlPlane.Hosting;

/// <summary>
/// The control plane's counters and gauges, exposed in Prometheus text format on the status port.
/// A tiny registry of our own: a handful of series does not justify an exporter dependency.
/// </summary>
public sealed class ControlPlaneMetrics
{
    private readonly ConcurrentDictionary<(string Name, string Labels), long> _counters = new();
    private readonly ConcurrentDictionary<(string Name, string Labels), double> _gauges = new();

    public void Increment(string name, string labels = "", long by = 1) =>
        _counters.AddOrUpdate((name, labels), by, (_, v) => v + by);

    public void Set(string name, double value, string labels = "") => _gauges[(name, labels)] = value;

    public long Get(string name, string labels = "") => _counters.TryGetValue((name, labels), out var v) ? v : 0;

    public long Sum(string name) => _counters.Where(kv => kv.Key.Name == name).Sum(kv => kv.Value);

    public static string Label(string key, string value) => $"{key}=\"{value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"";

    public string Render()
    {
        var sb = new StringBuilder();
        foreach (var group in _counters.GroupBy(kv => kv.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("# TYPE ").Append(group.Key).Append(" counter\n");
            foreach (var kv in group.OrderBy(kv => kv.Key.Labels, StringComparer.Ordinal))
                Line(sb, kv.Key.Name, kv.Key.Labels, kv.Value.ToString(CultureInfo.InvariantCulture));
        }
        foreach (var group in _gauges.GroupBy(kv => kv.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("# TYPE ").Append(group.Key).Append(" gauge\n");
            foreach (var kv in group.OrderBy(kv => kv.Key.Labels, StringComparer.Ordinal))
                Line(sb, kv.Key.Name, kv.Key.Labels, kv.Value.ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, string name, string labels, string value)
    {
        sb.Append(name);
        if (labels.Length > 0)
            sb.Append('{').Append(labels).Append('}');
        sb.Append(' ').Append(value).Append('\n');
    }
}
