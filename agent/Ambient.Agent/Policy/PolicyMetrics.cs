using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Ambient.Agent.Policy;

/// <summary>When a connection was refused: when it arrived, or later, when a policy change revoked it.</summary>
public enum DenyStage
{
    Connect,
    Live,
}

/// <summary>
/// <c>ambient_agent_policy_denied_connections_total{reason, policy, stage}</c>: connections L4 authorization refused
/// (reason <c>deny_policy</c>, <c>mtls_strict</c>, <c>not_allowed</c> or <c>unknown_destination</c>; policy <c>ns/name</c>, empty for
/// <c>not_allowed</c>; stage <c>connect</c> or <c>live</c>). Rendered by <c>AgentMetrics</c>.
/// </summary>
public sealed class PolicyMetrics
{
    private readonly ConcurrentDictionary<(DenyCategory Reason, string Policy, DenyStage Stage), Counter> _denied = new();

    public void Denied(in PolicyDecision decision, DenyStage stage)
    {
        if (decision.Allowed)
            return;
        var key = (decision.Category, decision.PolicyKey ?? "", stage);
        Interlocked.Increment(ref _denied.GetOrAdd(key, static _ => new Counter()).Value);
    }

    /// <summary>Sum over label sets; null arguments match any value (tests, admin summaries).</summary>
    public long DeniedTotal(DenyCategory? reason = null, string? policy = null, DenyStage? stage = null)
    {
        long total = 0;
        foreach (var (k, c) in _denied)
        {
            if ((reason is null || k.Reason == reason) && (policy is null || k.Policy == policy) && (stage is null || k.Stage == stage))
                total += Interlocked.Read(ref c.Value);
        }
        return total;
    }

    public static string ReasonLabel(DenyCategory c) => c switch
    {
        DenyCategory.DenyPolicy => "deny_policy",
        DenyCategory.MtlsStrict => "mtls_strict",
        DenyCategory.NotAllowed => "not_allowed",
        DenyCategory.UnknownDestination => "unknown_destination",
        _ => "none",
    };

    public void Render(StringBuilder sb)
    {
        const string name = "ambient_agent_policy_denied_connections_total";
        sb.Append("# HELP ").Append(name).Append(" Connections refused by L4 authorization (at connect, or revoked live by a policy change).\n");
        sb.Append("# TYPE ").Append(name).Append(" counter\n");
        foreach (var (k, c) in _denied.ToArray().OrderBy(kv => (ReasonLabel(kv.Key.Reason), kv.Key.Policy, kv.Key.Stage)))
        {
            sb.Append(name).Append("{reason=\"").Append(ReasonLabel(k.Reason)).Append("\",policy=\"");
            Escape(sb, k.Policy);
            sb.Append("\",stage=\"").Append(k.Stage == DenyStage.Connect ? "connect" : "live").Append("\"} ")
                .Append(Interlocked.Read(ref c.Value).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static void Escape(StringBuilder sb, string value)
    {
        foreach (var ch in value)
        {
            switch (ch)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(ch); break;
            }
        }
    }

    private sealed class Counter
    {
        public long Value;
    }
}
