using System.Text.Json.Nodes;

namespace Ambient.ControlPlane.Tests.Kubernetes;

/// <summary>API objects as a Kubernetes API server would serve them (JSON), for feeding the fake server.</summary>
internal static class KubeObjects
{
    public static JsonObject Namespace(string name, (string Key, string Value)[]? labels = null) => new()
    {
        ["metadata"] = Meta(name, null, labels),
        ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") },
        ["status"] = new JsonObject { ["phase"] = "Active" },
    };

    public static JsonObject ServiceAccount(string ns, string name) => new()
    {
        ["metadata"] = Meta(name, ns, null),
    };

    public static JsonObject Pod(string ns, string name, string ip, bool ready = true, string serviceAccount = "default",
        (string Key, string Value)[]? labels = null) => new()
    {
        ["metadata"] = Meta(name, ns, labels),
        ["spec"] = new JsonObject
        {
            ["nodeName"] = "node-1",
            ["serviceAccountName"] = serviceAccount,
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "app",
                ["image"] = "example/app:1",
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["containerPort"] = 8080, ["protocol"] = "TCP" }),
            }),
        },
        ["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["podIP"] = ip,
            ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ip }),
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
        },
    };

    public static JsonObject Service(string ns, string name, int port, string clusterIp = "10.96.0.10", (string Key, string Value)[]? selector = null) => new()
    {
        ["metadata"] = Meta(name, ns, null),
        ["spec"] = new JsonObject
        {
            ["type"] = "ClusterIP",
            ["clusterIP"] = clusterIp,
            ["clusterIPs"] = new JsonArray(clusterIp),
            ["ipFamilies"] = new JsonArray("IPv4"),
            ["selector"] = Labels(selector),
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port, ["targetPort"] = 8080, ["protocol"] = "TCP" }),
        },
    };

    public static JsonObject AuthorizationPolicy(string ns, string name, string action, (string Key, string Value)[]? selector = null) => new()
    {
        ["metadata"] = Meta(name, ns, null),
        ["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["matchLabels"] = Labels(selector) },
            ["action"] = action,
            ["rules"] = new JsonArray(new JsonObject
            {
                ["from"] = new JsonArray(new JsonObject
                {
                    ["source"] = new JsonObject { ["principals"] = new JsonArray("cluster.local/ns/default/sa/client") },
                }),
                ["to"] = new JsonArray(new JsonObject
                {
                    ["operation"] = new JsonObject { ["ports"] = new JsonArray("8080") },
                }),
            }),
        },
    };

    public static JsonObject PeerAuthentication(string ns, string name, string mode) => new()
    {
        ["metadata"] = Meta(name, ns, null),
        ["spec"] = new JsonObject { ["mtls"] = new JsonObject { ["mode"] = mode } },
    };

    private static JsonObject Meta(string name, string? ns, (string Key, string Value)[]? labels)
    {
        var meta = new JsonObject
        {
            ["name"] = name,
            ["uid"] = Guid.NewGuid().ToString(),
            ["creationTimestamp"] = "2025-01-01T00:00:00Z",
            ["labels"] = Labels(labels),
            // Server-side apply bookkeeping, as real objects carry it: the source must cope (and may drop it).
            ["managedFields"] = new JsonArray(new JsonObject { ["manager"] = "kubectl", ["operation"] = "Apply", ["fieldsType"] = "FieldsV1" }),
        };
        if (ns is not null)
            meta["namespace"] = ns;
        return meta;
    }

    private static JsonObject Labels((string Key, string Value)[]? labels)
    {
        var o = new JsonObject();
        foreach (var (k, v) in labels ?? [])
            o[k] = v;
        return o;
    }
}
