using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Ambient.Agent.Identity;

/// <summary>
/// Certificate counters in the Prometheus text format, appended to the agent's <c>/metrics</c>:
/// <code>
/// ambient_agent_certificates                                  gauge: valid certificates held
/// ambient_agent_certificate_fetches_total{result, reason}     counter: ok, or failed by CaFetchReason
/// ambient_agent_certificate_next_renewal_timestamp_seconds    gauge: the earliest scheduled renewal or retry (unix time)
/// </code>
/// </summary>
public sealed class IdentityMetrics
{
    private readonly ConcurrentDictionary<string, long> _failed = new(StringComparer.Ordinal);
    private long _ok;

    public long FetchesOk => Interlocked.Read(ref _ok);

    public long FetchesFailed(string reason) => _failed.TryGetValue(reason, out var n) ? n : 0;

    public void FetchSucceeded() => Interlocked.Increment(ref _ok);

    public void FetchFailed(string reason) => _failed.AddOrUpdate(reason, 1, static (_, n) => n + 1);

    public void Render(StringBuilder sb, int held, DateTimeOffset? nextRenewal)
    {
        sb.Append("# HELP ambient_agent_certificates Valid workload certificates held by this agent.\n");
        sb.Append("# TYPE ambient_agent_certificates gauge\n");
        sb.Append("ambient_agent_certificates ").Append(held.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("# HELP ambient_agent_certificate_fetches_total Certificate fetches from the CA, by result and failure reason.\n");
        sb.Append("# TYPE ambient_agent_certificate_fetches_total counter\n");
        sb.Append("ambient_agent_certificate_fetches_total{result=\"ok\",reason=\"\"} ").Append(FetchesOk.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var (reason, n) in _failed.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sb.Append("ambient_agent_certificate_fetches_total{result=\"failed\",reason=\"").Append(reason).Append("\"} ")
                .Append(n.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        sb.Append("# HELP ambient_agent_certificate_next_renewal_timestamp_seconds When the next certificate renewal or retry is due (unix seconds; 0 when none is scheduled).\n");
        sb.Append("# TYPE ambient_agent_certificate_next_renewal_timestamp_seconds gauge\n");
        sb.Append("ambient_agent_certificate_next_renewal_timestamp_seconds ")
            .Append((nextRenewal?.ToUnixTimeMilliseconds() / 1000.0 ?? 0).ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
    }
}
