using System.Text;
using Ambient.E2E.Testing;

namespace Ambient.E2E;

/// <summary>
/// shop/client (node-1) → VIP → server pods (node-2): between the nodes the connection is an HBONE tunnel — TLS 1.3
/// with ALPN h2 to port 15008 — and the destination agent knows the caller by its service account's certificate.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class MutualTlsTests(SharedMeshFixture fixture)
{
    private const string Vip = "http://10.96.0.10/";
    private const string Opened = "istio_tcp_connections_opened_total";
    private const string ClientIdentity = "spiffe://cluster.local/ns/shop/sa/client";
    private const string ServerIdentity = "spiffe://cluster.local/ns/shop/sa/server";

    [Fact]
    public async Task CrossNodeTraffic_OnTheLinkBetweenNodes_IsOnlyTls13ToPort15008WithNoPlaintextPayload()
    {
        var mesh = fixture.Mesh;
        var pcap = Path.Combine(mesh.StateDir, $"wire-{Guid.NewGuid():N}.pcap");
        await using (var capture = await PacketCapture.StartAsync(mesh.State.FabricNetns, "fabric0", pcap))
        {
            for (var i = 0; i < 4; i++)
            {
                var r = await mesh.CurlAsync("shop", "client", Vip);
                Assert.True(r.Ok, $"call {i + 1} failed: {r}\n{await mesh.DiagnosticsAsync()}");
                Assert.StartsWith("hello from server-", r.Stdout.Trim());
            }
            await capture.StopAsync();

            // Every TCP segment between the nodes is to or from port 15008: no plain connection to the app port.
            var segments = await capture.FieldsAsync("tcp", "tcp.srcport", "tcp.dstport");
            Assert.NotEmpty(segments);
            var other = segments.Where(s => !s.Split('|').Contains("15008")).ToList();
            Assert.True(other.Count == 0, $"{other.Count} of {segments.Count} segments bypass port 15008, e.g. {string.Join(", ", other.Take(5))}");

            // The handshakes negotiate TLS 1.3 and h2: the ClientHello offers 1.3 and h2, every ServerHello selects 1.3.
            var clientHellos = await capture.FieldsAsync("tls.handshake.type == 1", "tls.handshake.extensions.supported_version", "tls.handshake.extensions_alpn_str");
            Assert.NotEmpty(clientHellos);
            Assert.All(clientHellos, h =>
            {
                Assert.Contains("0x0304", h);
                Assert.Contains("h2", h.Split('|')[1].Split(','));
            });
            var serverHellos = await capture.FieldsAsync("tls.handshake.type == 2", "tls.handshake.extensions.supported_version");
            Assert.NotEmpty(serverHellos);
            Assert.All(serverHellos, h => Assert.Equal("0x0304", h));
            var appData = await capture.FieldsAsync("tls.record.content_type == 23", "frame.number");
            Assert.NotEmpty(appData);

            // And nothing readable: neither the request nor the answer appears anywhere in the capture.
            var raw = await File.ReadAllBytesAsync(pcap);
            foreach (var plain in new[] { "hello from", "GET / HTTP", "curl/" })
                Assert.True(raw.AsSpan().IndexOf(Encoding.ASCII.GetBytes(plain)) < 0, $"'{plain}' is visible on the wire between the nodes");
        }
        File.Delete(pcap);
    }

    [Fact]
    public async Task DestinationAgent_CountsTheCallerByItsServiceAccountCertificate()
    {
        var mesh = fixture.Mesh;
        (string, string)[] match = [("reporter", "destination"), ("source_principal", ClientIdentity), ("destination_principal", ServerIdentity),
            ("connection_security_policy", "mutual_tls"), ("source_workload", "client")];
        var before = (await mesh.MetricsAsync("node-2")).Sum(Opened, match);
        var r = await mesh.CurlAsync("shop", "client", Vip);
        Assert.True(r.Ok, $"{r}\n{await mesh.DiagnosticsAsync()}");
        await Eventually.UntilAsync("node-2's agent to count a connection from the client's identity over mutual TLS", async () =>
        {
            var now = (await mesh.MetricsAsync("node-2")).Sum(Opened, match);
            return (now > before, $"{before} → {now}");
        }, mesh, TimeSpan.FromSeconds(10));

        // The source side names the same pair of identities.
        var source = await mesh.MetricsAsync("node-1");
        Assert.True(source.Sum(Opened, ("reporter", "source"), ("source_principal", ClientIdentity), ("destination_principal", ServerIdentity),
            ("connection_security_policy", "mutual_tls")) >= 1, source.Raw);
    }
}
