namespace Ambient.Cni.Plugin;

/// <summary>
/// The Kubernetes keys of CNI_ARGS ("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=name;K8S_POD_UID=uid;IgnoreUnknown=1").
/// Unknown keys are ignored whatever IgnoreUnknown says: the runtime adds keys of its own
/// (K8S_POD_INFRA_CONTAINER_ID, K8S_POD_NETWORK, …) and ambient-cni needs only these three.
/// </summary>
internal sealed record CniArgs(string? PodNamespace, string? PodName, string? PodUid)
{
    public static readonly CniArgs Empty = new(null, null, null);

    /// <summary>True when the runtime is Kubernetes: both the pod's name and namespace are known.</summary>
    public bool IsKubernetesPod => PodName is not null && PodNamespace is not null;

    /// <summary>Parses CNI_ARGS; a pair without '=' is an invalid environment (code 4), as in libcni.</summary>
    public static CniArgs Parse(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return Empty;
        }

        string? ns = null, name = null, uid = null;
        foreach (var pair in value.Split(';'))
        {
            if (pair.Length == 0)
            {
                continue; // "A=1;" and ";;" are harmless
            }

            var eq = pair.IndexOf('=');
            if (eq <= 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment,
                    $"CNI_ARGS: invalid pair \"{pair}\": expected KEY=VALUE pairs separated by ';'");
            }

            var key = pair.AsSpan(0, eq);
            var val = pair[(eq + 1)..];
            var v = val.Length == 0 ? null : val;
            switch (key)
            {
                case "K8S_POD_NAMESPACE": ns = v; break;
                case "K8S_POD_NAME": name = v; break;
                case "K8S_POD_UID": uid = v; break;
            }
        }

        return new CniArgs(ns, name, uid);
    }
}
