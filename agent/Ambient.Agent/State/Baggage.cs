using System.Text;
using Ambient.Agent.InPod;
using Ambient.Identity;

namespace Ambient.Agent.State;

/// <summary>
/// The <c>baggage</c> header ztunnel sends on an HBONE CONNECT to describe the source (protocol facts §f):
/// <c>k8s.cluster.name=…,k8s.namespace.name=…,k8s.&lt;deployment|cronjob|pod|job&gt;.name=…,service.name=…,service.version=…</c>
/// plus the locality when known. Empty parts are left out.
/// </summary>
public static class Baggage
{
    public static string For(Workload w)
    {
        var b = new StringBuilder(160);
        Add(b, "k8s.cluster.name", w.ClusterId);
        Add(b, "k8s.namespace.name", w.Namespace);
        Add(b, $"k8s.{(w.WorkloadType is "deployment" or "cronjob" or "job" ? w.WorkloadType : "pod")}.name", w.WorkloadName.Length > 0 ? w.WorkloadName : w.Name);
        Add(b, "service.name", w.CanonicalName);
        Add(b, "service.version", w.CanonicalRevision);
        Add(b, "cloud.region", w.Locality.Region);
        Add(b, "cloud.availability_zone", w.Locality.Zone);
        return b.ToString();
    }

    /// <summary>Null when the workload's identity does not parse (it then cannot have a certificate either).</summary>
    public static WorkloadIdentity? IdentityOf(Workload w) =>
        SpiffeId.TryParse(w.Identity, out var id) ? new WorkloadIdentity(id, w.Name, w.Namespace, For(w)) : null;

    private static void Add(StringBuilder b, string key, string value)
    {
        if (value.Length == 0)
            return;
        if (b.Length > 0)
            b.Append(',');
        b.Append(key).Append('=').Append(value);
    }
}
