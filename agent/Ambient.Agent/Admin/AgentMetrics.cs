using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Ambient.Agent.Policy;

namespace Ambient.Agent.Admin;

/// <summary>
/// The agent's Prometheus metrics, written in the text exposition format (no client library: a handful of
/// counters, and the label sets are looked up once per connection, not per byte).
/// </summary>
public sealed class AgentMetrics
{
    private readonly ConcurrentDictionary<TcpLabels, TcpCounters> _tcp = new();
    private long _capturedPods;

    /// <summary>L4 authorization denials (Policy/).</summary>
    public PolicyMetrics Policy { get; } = new();

    public TcpCounters Tcp(in TcpLabels labels) => _tcp.GetOrAdd(labels, static _ => new TcpCounters());

    /// <summary>Sum over label sets matching <paramref name="reporter"/> (tests, /pods summaries).</summary>
    public (long Opened, long Closed, long Failed, long Received, long Sent) Totals(string reporter)
    {
        long o = 0, c = 0, f = 0, r = 0, s = 0;
        foreach (var (labels, counters) in _tcp)
        {
            if (labels.Reporter == reporter)
            {
                o += counters.Opened;
                c += counters.Closed;
                f += counters.Failed;
                r += counters.ReceivedBytes;
                s += counters.SentBytes;
            }
        }
        return (o, c, f, r, s);
    }

    public long CapturedPods
    {
        get => Interlocked.Read(ref _capturedPods);
        set => Interlocked.Exchange(ref _capturedPods, value);
    }

    public string Render()
    {
        var sb = new StringBuilder(4096);
        var snapshot = _tcp.ToArray();
        WriteCounter(sb, snapshot, "istio_tcp_connections_opened", "Total TCP connections opened", c => c.Opened);
        WriteCounter(sb, snapshot, "istio_tcp_connections_closed", "Total TCP connections closed", c => c.Closed);
        WriteCounter(sb, snapshot, "istio_tcp_connections_failed", "Total TCP connections failed", c => c.Failed);
        WriteCounter(sb, snapshot, "istio_tcp_received_bytes", "Size of total bytes received during request in case of a TCP connection", c => c.ReceivedBytes);
        WriteCounter(sb, snapshot, "istio_tcp_sent_bytes", "Size of total bytes sent during response in case of a TCP connection", c => c.SentBytes);
        sb.Append("# HELP ambient_agent_captured_pods Pods whose traffic this agent captures (rules programmed, listeners bound).\n");
        sb.Append("# TYPE ambient_agent_captured_pods gauge\n");
        sb.Append("ambient_agent_captured_pods ").Append(CapturedPods.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Policy.Render(sb);
        return sb.ToString();
    }

    private static void WriteCounter(StringBuilder sb, KeyValuePair<TcpLabels, TcpCounters>[] snapshot, string name, string help, Func<TcpCounters, long> value)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append(".\n");
        sb.Append("# TYPE ").Append(name).Append(" counter\n");
        foreach (var (l, c) in snapshot.OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal))
        {
            long v = value(c);
            if (v == 0 && name.EndsWith("failed", StringComparison.Ordinal))
            {
                continue;
            }
            sb.Append(name).Append("_total{");
            Label(sb, "reporter", l.Reporter, first: true);
            Label(sb, "source_workload", l.SourceWorkload);
            Label(sb, "source_workload_namespace", l.SourceWorkloadNamespace);
            Label(sb, "source_principal", l.SourcePrincipal);
            Label(sb, "destination_service", l.DestinationService);
            Label(sb, "destination_workload", l.DestinationWorkload);
            Label(sb, "destination_workload_namespace", l.DestinationWorkloadNamespace);
            Label(sb, "destination_principal", l.DestinationPrincipal);
            Label(sb, "request_protocol", "tcp");
            Label(sb, "response_flags", l.ResponseFlags);
            Label(sb, "connection_security_policy", l.SecurityPolicy);
            sb.Append("} ").Append(v.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static void Label(StringBuilder sb, string name, string value, bool first = false)
    {
        if (!first)
        {
            sb.Append(',');
        }
        sb.Append(name).Append("=\"");
        foreach (char ch in value)
        {
            switch (ch)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(ch); break;
            }
        }
        sb.Append('"');
    }
}
