using System.Text;

namespace Ambient.ControlPlane.Tests.Enrollment;

/// <summary>Small YAML builders for the enrolment and ADS-client tests: each test's inputs stay next to its assertions.</summary>
public static class Manifests
{
    public static string Namespace(string name, string? dataplaneMode = null)
    {
        var sb = new StringBuilder($"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
        if (dataplaneMode is not null)
            sb.Append($"  labels:\n    istio.io/dataplane-mode: {dataplaneMode}\n");
        return sb.ToString();
    }

    public static string Pod(string ns, string name, string? ip = "10.244.1.10", string node = "node-a",
        IReadOnlyDictionary<string, string>? labels = null, IReadOnlyDictionary<string, string>? annotations = null,
        string phase = "Running", bool ready = true, bool hostNetwork = false, string serviceAccount = "default",
        string? uid = null)
    {
        var sb = new StringBuilder();
        sb.Append($"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  uid: {uid ?? "uid-" + ns + "-" + name}\n");
        Map(sb, "labels", labels);
        Map(sb, "annotations", annotations);
        sb.Append($"spec:\n  nodeName: {node}\n  serviceAccountName: {serviceAccount}\n");
        if (hostNetwork)
            sb.Append("  hostNetwork: true\n");
        sb.Append("  containers:\n  - name: app\n    image: app\n    ports:\n    - name: http\n      containerPort: 8080\n");
        sb.Append($"status:\n  phase: {phase}\n");
        if (ip is not null)
            sb.Append($"  podIP: {ip}\n  podIPs:\n  - ip: {ip}\n");
        sb.Append($"  conditions:\n  - type: Ready\n    status: \"{(ready ? "True" : "False")}\"\n");
        return sb.ToString();
    }

    public static string Service(string ns, string name, string clusterIp, IReadOnlyDictionary<string, string> selector, int port = 80, string targetPort = "8080")
    {
        var sb = new StringBuilder($"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n");
        Map(sb, "selector", selector);
        sb.Append($"  clusterIP: {clusterIp}\n  ports:\n  - name: http\n    port: {port}\n    targetPort: {targetPort}\n");
        return sb.ToString();
    }

    /// <summary>What the node agent writes into its status directory in file mode.</summary>
    public static string PodAnnotations(string ns, string name, IReadOnlyDictionary<string, string> annotations)
    {
        var sb = new StringBuilder($"apiVersion: ambient.dev/v1alpha1\nkind: PodAnnotations\nmetadata:\n  name: {name}\n  namespace: {ns}\n");
        Map(sb, "annotations", annotations);
        return sb.ToString();
    }

    public static string Redirected(string ns, string name) =>
        PodAnnotations(ns, name, new Dictionary<string, string> { ["ambient.istio.io/redirection"] = "enabled" });

    public static string Docs(params string[] docs) => string.Join("---\n", docs);

    public static Dictionary<string, string> Labels(params (string Key, string Value)[] items) =>
        items.ToDictionary(i => i.Key, i => i.Value, StringComparer.Ordinal);

    private static void Map(StringBuilder sb, string key, IReadOnlyDictionary<string, string>? map)
    {
        if (map is null || map.Count == 0)
            return;
        // Every map these builders write (metadata labels/annotations, spec.selector) sits one level deep.
        sb.Append($"  {key}:\n");
        foreach (var (k, v) in map)
            sb.Append($"    {k}: \"{v}\"\n");
    }
}
