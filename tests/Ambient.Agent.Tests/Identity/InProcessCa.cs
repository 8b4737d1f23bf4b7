using System.Net;
using Ambient.ControlPlane.Ca;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Tests.Identity;

/// <summary>
/// The control plane's real CA in the test process: TLS on an ephemeral loopback port and on a Unix socket
/// (<c>--secure-socket</c>), node credentials, a generated root, and a manifest directory saying which pods run where:
/// shop/web on node-a, shop/db on node-b.
/// </summary>
public sealed class InProcessCa : IAsyncDisposable
{
    public const string NodeA = "node-a";
    public const string NodeB = "node-b";

    private readonly WebApplication _app;

    private InProcessCa(WebApplication app, string dir, string address)
    {
        _app = app;
        Dir = dir;
        Address = address;
    }

    public string Dir { get; }

    /// <summary><c>127.0.0.1:port</c> of the TLS listener.</summary>
    public string Address { get; }

    public string Socket => Path.Combine(Dir, "ca.sock");

    public string RootCertPath => Path.Combine(Dir, "ca", "root-cert.pem");

    public string NodeCredentialsDir => Path.Combine(Dir, "nodes");

    public static async Task<InProcessCa> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("ambient-agent-ca-").FullName;
        var manifests = Path.Combine(dir, "manifests");
        Directory.CreateDirectory(manifests);
        await File.WriteAllTextAsync(Path.Combine(manifests, "mesh.yaml"), string.Join("---\n",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio.io/dataplane-mode: ambient\n",
            Pod("web-1", "web", NodeA, "10.244.1.10"),
            Pod("db-1", "db", NodeB, "10.244.2.10")));
        var options = new CaOptions { CaDir = Path.Combine(dir, "ca"), NodeCredentialsDir = Path.Combine(dir, "nodes") };
        var mesh = new MeshOptions();
        var ca = new CertificateAuthority(CaRootStore.LoadOrCreate(options, mesh.TrustDomain, TimeProvider.System), options, TimeProvider.System);
        var serving = new ServingCertificate(ca, TimeProvider.System);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenSecure(new IPEndPoint(IPAddress.Loopback, 0), serving);
            k.ListenSecureSocket(Path.Combine(dir, "ca.sock"), serving);
        });
        builder.Services.AddGrpc();
        builder.Services.AddAmbientDiscovery(mesh);
        builder.Services.Configure<DebounceOptions>(o =>
        {
            o.Quiet = TimeSpan.FromMilliseconds(10);
            o.Max = TimeSpan.FromMilliseconds(50);
        });
        builder.Services.AddFileSource(manifests);
        builder.Services.AddAmbientCa(ca, options, tokenReviewer: null);
        var app = builder.Build();
        app.MapAmbientCa();
        await app.StartAsync();
        var https = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a)).Single(a => a.Scheme == "https" && a.Host == "127.0.0.1");
        await app.Services.GetRequiredService<SnapshotCache>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(10));
        return new InProcessCa(app, dir, $"127.0.0.1:{https.Port}");
    }

    /// <summary>Provisions <paramref name="node"/>'s credential and returns its token file (what the agent gets).</summary>
    public string TokenFile(string node)
    {
        NodeCredentials.Provision(NodeCredentialsDir, node);
        return NodeCredentials.PathOf(NodeCredentialsDir, node);
    }

    private static string Pod(string name, string sa, string node, string ip) =>
        $"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: shop\n  uid: uid-{name}\nspec:\n  nodeName: {node}\n  serviceAccountName: {sa}\n" +
        $"  containers:\n  - name: app\n    image: app\nstatus:\n  phase: Running\n  podIP: {ip}\n  podIPs:\n  - ip: {ip}\n" +
        "  conditions:\n  - type: Ready\n    status: \"True\"\n";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
