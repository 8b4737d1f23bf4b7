using YamlDotNet.RepresentationModel;

namespace Ambient.E2E.Testing;

/// <summary>
/// Edits of the manifests the control plane watches (STATE/manifests), the way `kubectl label` or a kubelet would change
/// the API server's objects. Every write is atomic (a dot-file, then rename), so the control plane never reads half a file.
/// </summary>
public static class ClusterManifests
{
    /// <summary>Sets (value) or removes (null) a label of a Namespace in 00-cluster.yaml.</summary>
    public static void SetNamespaceLabel(LocalMesh mesh, string ns, string key, string? value)
    {
        var path = Path.Combine(mesh.ManifestsDir, "00-cluster.yaml");
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        var found = false;
        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is not YamlMappingNode root || Str(root, "kind") != "Namespace" || Str(Map(root, "metadata"), "name") != ns)
            {
                continue;
            }
            found = true;
            var meta = Map(root, "metadata");
            var labels = Map(meta, "labels");
            if (value is null)
            {
                labels.Children.Remove(new YamlScalarNode(key));
            }
            else
            {
                labels.Children[new YamlScalarNode(key)] = new YamlScalarNode(value);
            }
            if (labels.Children.Count > 0)
            {
                meta.Children[new YamlScalarNode("labels")] = labels;
            }
            else
            {
                meta.Children.Remove(new YamlScalarNode("labels"));
            }
        }
        Assert.True(found, $"no Namespace {ns} in {path}");
        WriteAtomically(path, Save(stream));
    }

    /// <summary>
    /// Writes a Pod the way the runner does before a sandbox exists (status Pending, no IP), shaped after an existing pod
    /// of the mesh: what the API server holds when the kubelet calls the CNI ADD.
    /// </summary>
    public static string WritePendingPod(LocalMesh mesh, string templateNs, string templatePod, string name, string uid)
    {
        var template = Path.Combine(mesh.ManifestsDir, "pods", $"{templateNs}.{templatePod}.yaml");
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(template)));
        var pod = (YamlMappingNode)stream.Documents[0].RootNode;
        var meta = Map(pod, "metadata");
        meta.Children[new YamlScalarNode("name")] = new YamlScalarNode(name);
        meta.Children[new YamlScalarNode("uid")] = new YamlScalarNode(uid);
        meta.Children[new YamlScalarNode("labels")] = new YamlMappingNode { { "app", name } };
        pod.Children[new YamlScalarNode("status")] = new YamlMappingNode
        {
            { "phase", "Pending" },
            {
                "conditions", new YamlSequenceNode(new YamlMappingNode
                {
                    { "type", "Ready" },
                    { "status", new YamlScalarNode("False") { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted } },
                })
            },
        };
        var path = Path.Combine(mesh.ManifestsDir, "pods", $"{templateNs}.{name}.yaml");
        WriteAtomically(path, Save(stream));
        return path;
    }

    public static void WriteAtomically(string path, string text)
    {
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    private static string Save(YamlStream stream)
    {
        using var w = new StringWriter();
        stream.Save(w, assignAnchors: false);
        return w.ToString();
    }

    private static string? Str(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    private static YamlMappingNode Map(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlMappingNode m ? m : new YamlMappingNode();
}
