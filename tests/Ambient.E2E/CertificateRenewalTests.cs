using System.Text.Json;
using Ambient.E2E.Testing;
using Xunit.Abstractions;

namespace Ambient.E2E;

/// <summary>
/// Workload certificates with a 20 s lifetime (renewed at half-life, every ~10 s): a connection that lives across several
/// renewals on both agents carries on. Own mesh: it needs the short lifetime.
/// </summary>
public sealed class CertificateRenewalTests(ITestOutputHelper output) : OwnMeshTest(output)
{
    protected override string[] UpArgs => ["--cert-ttl", "20s"];

    [Fact]
    public async Task LongLivedConnection_WhileBothAgentsRenewTheirCertificates_StaysUp()
    {
        var mesh = Mesh;
        var server = mesh.State.Servers[0];
        using var echoServer = new PodProcess(mesh.PodNetns("shop", server.Name), "/usr/bin/python3", "-c", PodProcess.EchoServer);
        // Bounded: 50 round trips 0.5 s apart (25 s, beyond two renewals); any error or short answer ends it non-zero.
        var talk = PodProcess.EchoClient(server.Ip, 50);
        await Eventually.UntilAsync("the echo server in the server pod to accept", async () =>
        {
            var r = await mesh.ExecAsync("shop", "client", "/usr/bin/python3", "-c", PodProcess.EchoProbe(server.Ip));
            return (r.Ok, r.ToString());
        }, mesh, TimeSpan.FromSeconds(20));

        var before1 = await CertAsync(mesh, "node-1", "spiffe://cluster.local/ns/shop/sa/client");
        var before2 = await CertAsync(mesh, "node-2", "spiffe://cluster.local/ns/shop/sa/server");
        var conversation = mesh.CtlAsync(TimeSpan.FromSeconds(60), "local", "exec", "-n", "shop", "client", "--", "/usr/bin/python3", "-c", talk);
        var result = await conversation;
        Assert.True(result.Ok, $"the long-lived connection broke: {result}\n{await mesh.DiagnosticsAsync()}");
        Assert.Contains("50 round trips", result.Stdout);

        // Both sides renewed during the conversation (a new certificate, later notBefore), and it carried on.
        var after1 = await CertAsync(mesh, "node-1", "spiffe://cluster.local/ns/shop/sa/client");
        var after2 = await CertAsync(mesh, "node-2", "spiffe://cluster.local/ns/shop/sa/server");
        Assert.True(after1 > before1, $"node-1 did not renew the client's certificate (notBefore {before1:O} → {after1:O})");
        Assert.True(after2 > before2, $"node-2 did not renew the server's certificate (notBefore {before2:O} → {after2:O})");
    }

    /// <summary>notBefore of the agent's certificate for <paramref name="identity"/> (its /certs admin page), waiting for one.</summary>
    private static async Task<DateTimeOffset> CertAsync(LocalMesh mesh, string node, string identity)
    {
        DateTimeOffset found = default;
        await Eventually.UntilAsync($"{node}'s agent to hold a certificate for {identity}", async () =>
        {
            var json = await mesh.AdminGetAsync(node, "/certs");
            using var doc = JsonDocument.Parse(json);
            foreach (var c in Certs(doc.RootElement))
            {
                if (Prop(c, "identity")?.GetString() == identity && Prop(c, "notBefore") is { } nb)
                {
                    found = nb.GetDateTimeOffset();
                    return (true, json);
                }
            }
            return (false, json);
        }, mesh, TimeSpan.FromSeconds(20));
        return found;
    }

    private static IEnumerable<JsonElement> Certs(JsonElement root) =>
        root.ValueKind == JsonValueKind.Array ? root.EnumerateArray()
        : Prop(root, "certificates") is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray() : [];

    private static JsonElement? Prop(JsonElement e, string name)
    {
        foreach (var p in e.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                return p.Value;
        }
        return null;
    }
}
