using System.Text.Json;
using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;

namespace Ambient.ControlPlane.Tests.Interop;

/// <summary>
/// An xDS client we did not write the stack of (Python gRPC, protoc-generated classes) subscribes to every type
/// over both ADS flavours and must get the same, correct answers the snapshot holds.
/// </summary>
public sealed class XdsProbeInteropTests
{
    [Fact]
    public async Task IndependentClient_BothFlavours_GetEveryTypeConsistentWithTheSnapshot()
    {
        PythonPeer.RequireGrpc();
        var example = Path.Combine(PythonPeer.RepoRoot, "examples", "bookinfo-lite");
        var files = Directory.GetFiles(example, "*.yaml").ToDictionary(f => Path.GetFileName(f), File.ReadAllText);
        await using var cp = await TestControlPlane.StartAsync(files);

        var output = await PythonPeer.RunAsync("xds_probe.py", TimeSpan.FromSeconds(90),
            $"{cp.Address.Host}:{cp.Address.Port}", Path.Combine(PythonPeer.RepoRoot, "lib", "Ambient.Xds", "Protos"));
        using var doc = JsonDocument.Parse(output);
        var snapshot = cp.Cache.Current;

        foreach (var flavour in new[] { "sotw", "delta" })
        {
            var got = doc.RootElement.GetProperty(flavour);
            foreach (var type in TypeUrls.All)
            {
                var expected = snapshot.Get(type).Items.Keys.Order(StringComparer.Ordinal).ToList();
                Assert.NotEmpty(expected);
                var actual = got.GetProperty(type).EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
                Assert.Equal(expected, actual);
            }
        }

        var delta = doc.RootElement.GetProperty("delta");
        var sotw = doc.RootElement.GetProperty("sotw");
        // Both flavours decode to the same content.
        foreach (var type in TypeUrls.All)
            Assert.Equal(Normalize(sotw.GetProperty(type)), Normalize(delta.GetProperty(type)));

        // Spot-check meaning, not just names: named targetPort resolved per pod, readiness, policy attachment.
        var echo1 = delta.GetProperty(TypeUrls.Address).GetProperty("Kubernetes//Pod/shop/echo-v1-7c9d8-abcde");
        Assert.Equal("[[80,8080],[9090,9090]]", echo1.GetProperty("services").GetProperty("shop/echo.shop.svc.cluster.local").GetRawText().Replace(" ", ""));
        Assert.Equal(1, echo1.GetProperty("tunnel").GetInt32()); // HBONE: the pod carries the redirection annotation
        var policies = echo1.GetProperty("policies").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Contains("shop/echo-from-web", policies); // its selector policy
        Assert.Contains("istio-system/istio_converted_static_strict", policies); // mesh-wide STRICT PeerAuthentication
        var batch = delta.GetProperty(TypeUrls.Address).GetProperty("Kubernetes//Pod/shop/batch");
        Assert.Equal(1, batch.GetProperty("status").GetInt32()); // UNHEALTHY: not Ready
        Assert.Equal(0, batch.GetProperty("tunnel").GetInt32());
        var endpoints = delta.GetProperty(TypeUrls.ClusterLoadAssignment).GetProperty("outbound|80||echo.shop.svc.cluster.local");
        Assert.Equal("[\"10.244.1.11:8080/1\",\"10.244.2.12:8081/1\"]", endpoints.GetRawText().Replace(" ", ""));
    }

    private static string Normalize(JsonElement e) =>
        JsonSerializer.Serialize(e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).ToDictionary(p => p.Name, p => p.Value));
}
