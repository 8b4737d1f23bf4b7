using System.Text;

namespace Ambient.ControlPlane.Tests.Testing;

/// <summary>
/// The examples/bookinfo-lite mesh, inline so each test's expectations sit next to their inputs, with knobs
/// for the edits the tests make. With the defaults the files are the example's own content.
/// </summary>
public static class BookinfoLite
{
    public const string Shop = "shop";
    public const string EchoHost = "echo.shop.svc.cluster.local";

    public const string EchoV1 = "echo-v1-7c9d8-abcde";
    public const string EchoV2 = "echo-v2-5b6f7-fghij";
    public const string EchoCanary = "echo-canary-0";

    public static string WorkloadUid(string ns, string pod) => $"Kubernetes//Pod/{ns}/{pod}";

    public static readonly string EchoV1Uid = WorkloadUid(Shop, EchoV1);
    public static readonly string EchoV2Uid = WorkloadUid(Shop, EchoV2);
    public static readonly string WebUid = WorkloadUid(Shop, "web");
    public static readonly string BatchUid = WorkloadUid(Shop, "batch");
    public static readonly string OldClientUid = WorkloadUid("legacy", "old-client");
    public const string EchoService = "shop/" + EchoHost;
    public const string EchoPolicy = "shop/echo-from-web";

    public static string ListenerName(int port) => $"{EchoHost}:{port}";

    public static string ClusterName(int port) => $"outbound|{port}||{EchoHost}";

    /// <summary>The example's four files.</summary>
    public static Dictionary<string, string> Files() => new(StringComparer.Ordinal)
    {
        ["namespaces.yaml"] = Namespaces,
        ["policies.yaml"] = Policies,
        ["echo.yaml"] = Echo(),
        ["web.yaml"] = Web(),
    };

    public const string Namespaces = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
          labels:
            istio.io/dataplane-mode: ambient
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: legacy
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: istio-system
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: web
          namespace: shop
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: echo
          namespace: shop

        """;

    public const string Policies = """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: default
          namespace: istio-system
        spec:
          mtls:
            mode: STRICT
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: echo-from-web
          namespace: shop
        spec:
          selector:
            matchLabels:
              app: echo
          action: ALLOW
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/shop/sa/web"]
            to:
            - operation:
                ports: ["8080", "9090"]

        """;

    /// <summary>The echo Service (80 → named targetPort http, 9090 → 9090) and its two backends.</summary>
    public static string Echo(bool v2Ready = true, bool withService = true, bool withV2 = true, bool withGrpcPort = true)
    {
        var sb = new StringBuilder();
        if (withService)
        {
            sb.Append("""
                apiVersion: v1
                kind: Service
                metadata:
                  name: echo
                  namespace: shop
                spec:
                  selector:
                    app: echo
                  clusterIP: 10.96.0.20
                  ports:
                  - name: http
                    port: 80
                    targetPort: http

                """);
            if (withGrpcPort)
            {
                sb.Append("""
                      - name: grpc
                        port: 9090
                        targetPort: 9090

                    """);
            }
            sb.Append("---\n");
        }
        sb.Append(EchoPod(EchoV1, "v1", "7c9d8", "node-a", "10.244.1.11", 8080, ready: true));
        if (withV2)
            sb.Append("---\n").Append(EchoPod(EchoV2, "v2", "5b6f7", "node-b", "10.244.2.12", 8081, ready: v2Ready));
        return sb.ToString();
    }

    /// <summary>A third echo backend that is not Ready: listed, but never as a healthy endpoint.</summary>
    public static string EchoCanaryFile() => $"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {EchoCanary}
          namespace: shop
          labels:
            app: echo
            version: canary
        spec:
          nodeName: node-c
          containers:
          - name: echo
            image: echo
            ports:
            - name: http
              containerPort: 8082
            - containerPort: 9090
        status:
          phase: Running
          podIPs:
          - ip: 10.244.3.13
          conditions:
          - type: Ready
            status: "False"

        """;

    private static string EchoPod(string name, string version, string hash, string node, string ip, int httpPort, bool ready) => $"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
          namespace: shop
          labels:
            app: echo
            version: {version}
            pod-template-hash: {hash}
          annotations:
            ambient.istio.io/redirection: enabled
          ownerReferences:
          - apiVersion: apps/v1
            kind: ReplicaSet
            name: echo-{version}-{hash}
            controller: true
        spec:
          nodeName: {node}
          serviceAccountName: echo
          containers:
          - name: echo
            image: echo
            ports:
            - name: http
              containerPort: {httpPort}
            - containerPort: 9090
        status:
          phase: Running
          podIPs:
          - ip: {ip}
          conditions:
          - type: Ready
            status: "{(ready ? "True" : "False")}"

        """;

    /// <summary>web (the client), batch (opted out, not Ready) and old-client (namespace outside the mesh).</summary>
    public static string Web(string? webVersion = null, bool withBatch = true)
    {
        var sb = new StringBuilder();
        sb.Append($"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
              namespace: shop
              labels:
                app: web{(webVersion is null ? "" : "\n    version: " + webVersion)}
              annotations:
                ambient.istio.io/redirection: enabled
            spec:
              nodeName: node-a
              serviceAccountName: web
              containers:
              - name: web
                image: curl
            status:
              phase: Running
              podIPs:
              - ip: 10.244.1.10
              conditions:
              - type: Ready
                status: "True"
            ---

            """);
        if (withBatch)
        {
            sb.Append("""
                apiVersion: v1
                kind: Pod
                metadata:
                  name: batch
                  namespace: shop
                  labels:
                    app: batch
                    istio.io/dataplane-mode: none
                spec:
                  nodeName: node-b
                  containers:
                  - name: batch
                    image: curl
                status:
                  phase: Running
                  podIPs:
                  - ip: 10.244.2.20
                  conditions:
                  - type: Ready
                    status: "False"
                ---

                """);
        }
        sb.Append("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: old-client
              namespace: legacy
              labels:
                app: old-client
            spec:
              nodeName: node-b
              containers:
              - name: client
                image: curl
            status:
              phase: Running
              podIPs:
              - ip: 10.244.2.30
              conditions:
              - type: Ready
                status: "True"

            """);
        return sb.ToString();
    }

    /// <summary>
    /// <paramref name="count"/> pods in <c>shop</c> whose <c>version</c> label (→ canonical_revision) carries
    /// <paramref name="generation"/>, padded to the 63-character label limit so every workload is a few hundred bytes.
    /// </summary>
    public static string Fleet(int count, int generation)
    {
        var revision = $"gen{generation:D3}-".PadRight(63, 'x');
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
                sb.Append("---\n");
            sb.Append($"""
                apiVersion: v1
                kind: Pod
                metadata:
                  name: fleet-{i:D4}
                  namespace: shop
                  labels:
                    app: fleet
                    version: {revision}
                  annotations:
                    ambient.istio.io/redirection: enabled
                spec:
                  nodeName: node-{i % 8}
                  serviceAccountName: fleet
                  containers:
                  - name: app
                    image: app
                status:
                  phase: Running
                  podIPs:
                  - ip: 10.250.{i / 250}.{i % 250 + 1}
                  conditions:
                  - type: Ready
                    status: "True"

                """);
        }
        return sb.ToString();
    }

    public static string FleetRevision(int generation) => $"gen{generation:D3}-".PadRight(63, 'x');
}
