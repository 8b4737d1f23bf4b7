using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ambient.ControlPlane.Tests.Testing;

namespace Ambient.ControlPlane.Tests.Interop;

/// <summary>
/// gRPC C-core's xds resolver (Debian python3-grpcio) resolves <c>xds:///echo.shop.svc.cluster.local:7070</c>
/// through our LDS → RDS → CDS → EDS and load-balances over the service's ready pods, which are real gRPC servers
/// on distinct loopback addresses standing in for pod IPs.
/// </summary>
public sealed class ProxylessGrpcInteropTests
{
    private const string Target = "echo.shop.svc.cluster.local:7070";

    private static string Manifests(int port, bool secondReady) => $$$"""
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: shop}
        spec:
          selector: {app: echo}
          clusterIP: 10.96.0.20
          ports: [{name: grpc, port: 7070, targetPort: grpc}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: echo-1, namespace: shop, labels: {app: echo}}
        spec:
          containers: [{name: echo, ports: [{name: grpc, containerPort: {{{port}}}}]}]
        status:
          podIPs: [{ip: 127.0.0.11}]
          conditions: [{type: Ready, status: "True"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: echo-2, namespace: shop, labels: {app: echo}}
        spec:
          containers: [{name: echo, ports: [{name: grpc, containerPort: {{{port}}}}]}]
        status:
          podIPs: [{ip: 127.0.0.12}]
          conditions: [{type: Ready, status: "{{{(secondReady ? "True" : "False")}}}"}]
        """;

    [Fact]
    public async Task ProxylessGrpcClient_ServiceWithTwoReadyPods_CallsAreBalancedOverBoth()
    {
        PythonPeer.RequireGrpc();
        var port = FreePortOn(IPAddress.Parse("127.0.0.11"), IPAddress.Parse("127.0.0.12"));
        using var b1 = await PythonPeer.StartAsync("backend.py", "127.0.0.11", port.ToString(), "echo-1");
        using var b2 = await PythonPeer.StartAsync("backend.py", "127.0.0.12", port.ToString(), "echo-2");
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string> { ["mesh.yaml"] = Manifests(port, secondReady: true) });

        var counts = await CallAsync(cp, 40);

        Assert.Equal(40, counts.GetValueOrDefault("echo-1") + counts.GetValueOrDefault("echo-2"));
        Assert.InRange(counts.GetValueOrDefault("echo-1"), 10, 30); // round robin: about half each
        Assert.InRange(counts.GetValueOrDefault("echo-2"), 10, 30);
    }

    [Fact]
    public async Task ProxylessGrpcClient_OnePodNotReady_AllCallsGoToTheReadyPod()
    {
        PythonPeer.RequireGrpc();
        var port = FreePortOn(IPAddress.Parse("127.0.0.11"), IPAddress.Parse("127.0.0.12"));
        using var b1 = await PythonPeer.StartAsync("backend.py", "127.0.0.11", port.ToString(), "echo-1");
        using var b2 = await PythonPeer.StartAsync("backend.py", "127.0.0.12", port.ToString(), "echo-2");
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string> { ["mesh.yaml"] = Manifests(port, secondReady: false) });

        var counts = await CallAsync(cp, 20);

        Assert.Equal(20, counts.GetValueOrDefault("echo-1"));
        Assert.False(counts.ContainsKey("echo-2"));
    }

    private static async Task<Dictionary<string, int>> CallAsync(TestControlPlane cp, int calls)
    {
        var server = $"{cp.Address.Host}:{cp.Address.Port}";
        var output = await PythonPeer.RunAsync("proxyless_client.py", TimeSpan.FromSeconds(60), server, Target, calls.ToString());
        using var doc = JsonDocument.Parse(output);
        var errors = doc.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(errors.Count == 0, "calls failed: " + string.Join("; ", errors));
        return doc.RootElement.GetProperty("backends").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
    }

    /// <summary>A port free on every given address (the backends share one port number, like pods do).</summary>
    private static int FreePortOn(params IPAddress[] addresses)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = Random.Shared.Next(20000, 40000);
            var sockets = new List<Socket>();
            try
            {
                foreach (var a in addresses)
                {
                    var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    sockets.Add(s);
                    s.Bind(new IPEndPoint(a, port));
                }
                return port;
            }
            catch (SocketException)
            {
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }
        throw new InvalidOperationException("no free port found on the backend addresses");
    }
}
