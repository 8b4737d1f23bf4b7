using System.Text;
using YamlDotNet.RepresentationModel;

namespace Ambient.Ctl.Local;

/// <summary>A pod the runner will start: where, as whom, and what it runs.</summary>
internal sealed record LocalPod(string Namespace, string Name, string Node, string Uid, YamlMappingNode Manifest, IReadOnlyList<string> Command)
{
    public string Key => $"{Namespace}/{Name}";
}

/// <summary>
/// Ordinary Kubernetes YAML read the way a local "kubelet + scheduler" needs it: Pods and Deployments
/// (expanded to pods, with ReplicaSet owner references as Kubernetes would set them) to run, everything else
/// (Namespaces, Services, ServiceAccounts, policies) passed through to the control plane unchanged.
/// </summary>
internal sealed class MeshManifests
{
    public List<LocalPod> Pods { get; } = [];
    public List<YamlDocument> PassThrough { get; } = [];
    public SortedSet<string> Nodes { get; } = new(StringComparer.Ordinal);

    public static MeshManifests Load(string dir)
    {
        if (!Directory.Exists(dir))
            throw new ArgumentException($"manifest directory '{dir}' does not exist");
        var set = new MeshManifests();
        foreach (var file in Directory.EnumerateFiles(dir, "*.y*ml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(File.ReadAllText(file)));
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new ArgumentException($"{file}:{e.Start.Line}: {e.InnerException?.Message ?? e.Message}");
            }
            foreach (var doc in stream.Documents)
            {
                if (doc.RootNode is not YamlMappingNode root)
                    continue;
                var kind = Str(root, "kind");
                switch (kind)
                {
                    case "Pod":
                        set.AddPod(file, root, null);
                        break;
                    case "Deployment":
                        set.AddDeployment(file, root);
                        break;
                    default:
                        set.PassThrough.Add(doc);
                        break;
                }
            }
        }
        if (set.Nodes.Count == 0)
            set.Nodes.Add("node-1");
        return set;
    }

    private void AddDeployment(string file, YamlMappingNode deploy)
    {
        var meta = Map(deploy, "metadata");
        var name = Str(meta, "name") ?? throw new ArgumentException($"{file}: a Deployment needs metadata.name");
        var ns = Str(meta, "namespace") ?? "default";
        var spec = Map(deploy, "spec");
        var replicas = int.TryParse(Str(spec, "replicas"), out var r) ? r : 1;
        var template = Map(spec, "template");
        // Kubernetes names pods <deployment>-<pod-template-hash>-<suffix>; the hash ties them to their ReplicaSet.
        var hash = StableHash(ns + "/" + name)[..8];
        for (var i = 0; i < replicas; i++)
        {
            var pod = (YamlMappingNode)Clone(template);
            pod.Children[new YamlScalarNode("apiVersion")] = new YamlScalarNode("v1");
            pod.Children[new YamlScalarNode("kind")] = new YamlScalarNode("Pod");
            var pm = Map(pod, "metadata");
            if (!pod.Children.ContainsKey(new YamlScalarNode("metadata")))
                pod.Children[new YamlScalarNode("metadata")] = pm;
            pm.Children[new YamlScalarNode("name")] = new YamlScalarNode($"{name}-{hash}-{i}");
            pm.Children[new YamlScalarNode("namespace")] = new YamlScalarNode(ns);
            var labels = Map(pm, "labels");
            pm.Children[new YamlScalarNode("labels")] = labels;
            labels.Children[new YamlScalarNode("pod-template-hash")] = new YamlScalarNode(hash);
            pm.Children[new YamlScalarNode("ownerReferences")] = new YamlSequenceNode(new YamlMappingNode(
                new YamlScalarNode("apiVersion"), new YamlScalarNode("apps/v1"),
                new YamlScalarNode("kind"), new YamlScalarNode("ReplicaSet"),
                new YamlScalarNode("name"), new YamlScalarNode($"{name}-{hash}"),
                new YamlScalarNode("controller"), new YamlScalarNode("true")));
            AddPod(file, pod, (name, i));
        }
    }

    private void AddPod(string file, YamlMappingNode pod, (string Deployment, int Index)? from)
    {
        var meta = Map(pod, "metadata");
        var name = Str(meta, "name") ?? throw new ArgumentException($"{file}: a Pod needs metadata.name");
        var ns = Str(meta, "namespace") ?? "default";
        var spec = Map(pod, "spec");
        var node = Str(spec, "nodeName") ?? "node-1";
        var containers = spec.Children.TryGetValue(new YamlScalarNode("containers"), out var c) ? c as YamlSequenceNode : null;
        var first = containers?.Children.OfType<YamlMappingNode>().FirstOrDefault();
        var command = new List<string>();
        if (first is not null)
        {
            command.AddRange(Seq(first, "command"));
            command.AddRange(Seq(first, "args"));
        }
        if (command.Count == 0)
            command.AddRange(["sleep", "infinity"]);
        var uid = Str(meta, "uid") ?? DeterministicUid(ns, name);
        meta.Children[new YamlScalarNode("uid")] = new YamlScalarNode(uid);
        if (Pods.Any(p => p.Namespace == ns && p.Name == name))
            throw new ArgumentException($"{file}: pod {ns}/{name} is defined twice");
        _ = from;
        Pods.Add(new LocalPod(ns, name, node, uid, pod, command));
        Nodes.Add(node);
    }

    /// <summary>Serializes a YAML document back to text.</summary>
    public static string ToYaml(YamlDocument doc)
    {
        var sb = new StringBuilder();
        using var w = new StringWriter(sb);
        new YamlStream(doc).Save(w, assignAnchors: false);
        return sb.ToString();
    }

    public static YamlNode Clone(YamlNode node) => node switch
    {
        YamlScalarNode s => new YamlScalarNode(s.Value) { Style = s.Style },
        YamlSequenceNode q => new YamlSequenceNode(q.Children.Select(Clone)),
        YamlMappingNode m => new YamlMappingNode(m.Children.Select(kv => new KeyValuePair<YamlNode, YamlNode>(Clone(kv.Key), Clone(kv.Value)))),
        _ => node,
    };

    public static string? Str(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    public static YamlMappingNode Map(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlMappingNode m ? m : new YamlMappingNode();

    private static IEnumerable<string> Seq(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlSequenceNode s
            ? s.Children.OfType<YamlScalarNode>().Select(x => x.Value ?? "")
            : [];

    private static string StableHash(string s) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    private static string DeterministicUid(string ns, string name)
    {
        var h = StableHash("pod/" + ns + "/" + name);
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..32]}";
    }
}
