using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Ambient.ControlPlane.Ca;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.Identity;
using Ambient.Xds.Protos.Ca;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>
/// A real control plane in the test process with the CA: the TLS listener (CA + ADS, as the program's 15012) and a
/// plaintext h2c listener (ADS, as 15010), both on ephemeral loopback ports, over a temporary manifest directory and
/// a temporary CA directory. Clients are real gRPC clients that trust only <c>root-cert.pem</c>.
/// </summary>
internal sealed class CaTestServer : IAsyncDisposable
{
    public const string NodeA = "node-a";
    public const string NodeB = "node-b";

    private readonly WebApplication _app;
    private readonly List<GrpcChannel> _channels = [];

    private CaTestServer(WebApplication app, CaOptions options, LogCapture logs, Uri secure, Uri plain, string configDir)
    {
        _app = app;
        Options = options;
        Logs = logs;
        SecureAddress = secure;
        PlainAddress = plain;
        ConfigDir = configDir;
    }

    public CaOptions Options { get; }
    public LogCapture Logs { get; }
    public Uri SecureAddress { get; }
    public Uri PlainAddress { get; }
    public string ConfigDir { get; }
    public ControlPlaneMetrics Metrics => _app.Services.GetRequiredService<ControlPlaneMetrics>();
    public CertificateAuthority Ca => _app.Services.GetRequiredService<CertificateAuthority>();

    /// <summary>
    /// Starts over <paramref name="manifests"/> (YAML) with node credentials under <c>&lt;caDir&gt;/../nodes</c> unless
    /// <paramref name="options"/> says otherwise.
    /// </summary>
    public static async Task<CaTestServer> StartAsync(string workDir, string manifests, CaOptions? options = null, ITokenReviewer? reviewer = null)
    {
        var configDir = Path.Combine(workDir, "manifests");
        Directory.CreateDirectory(configDir);
        await File.WriteAllTextAsync(Path.Combine(configDir, "mesh.yaml"), manifests);
        options ??= new CaOptions { CaDir = Path.Combine(workDir, "ca"), NodeCredentialsDir = Path.Combine(workDir, "nodes") };
        var mesh = new MeshOptions();
        var ca = new CertificateAuthority(CaRootStore.LoadOrCreate(options, mesh.TrustDomain, TimeProvider.System), options, TimeProvider.System);
        var serving = new ServingCertificate(ca, TimeProvider.System);

        var logs = new LogCapture();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenSecure(new IPEndPoint(IPAddress.Loopback, 0), serving);
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        builder.Services.AddAmbientDiscovery(mesh);
        builder.Services.Configure<DebounceOptions>(o =>
        {
            o.Quiet = TimeSpan.FromMilliseconds(10);
            o.Max = TimeSpan.FromMilliseconds(50);
        });
        builder.Services.AddFileSource(configDir);
        builder.Services.AddAmbientCa(ca, options, reviewer);
        var app = builder.Build();
        app.MapGrpcService<AggregatedDiscoveryService>();
        app.MapAmbientCa();
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        var server = new CaTestServer(app, options, logs, addresses.Single(a => a.Scheme == "https"), addresses.Single(a => a.Scheme == "http"), configDir);
        await app.Services.GetRequiredService<SnapshotCache>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(10));
        return server;
    }

    /// <summary>A TLS channel that trusts only the published root and requires the name istiod.istio-system.svc.</summary>
    public GrpcChannel SecureChannel()
    {
        var bundle = TrustBundle.FromPem(File.ReadAllText(Options.RootCertPath));
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, chain, _) =>
                    cert is not null && bundle.ValidateServer(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()),
                        chain?.ChainElements.Select(e => e.Certificate), CaOptions.IstiodHostname, out _),
            },
        };
        var channel = GrpcChannel.ForAddress(SecureAddress, new GrpcChannelOptions { HttpHandler = handler });
        _channels.Add(channel);
        return channel;
    }

    public GrpcChannel PlainChannel()
    {
        var channel = GrpcChannel.ForAddress(PlainAddress);
        _channels.Add(channel);
        return channel;
    }

    public string ProvisionNode(string node) => NodeCredentials.Provision(Options.NodeCredentialsDir!, node);

    /// <summary>One CreateCertificate call; <paramref name="token"/> null sends no authorization header.</summary>
    public async Task<IstioCertificateResponse> RequestAsync(string? token, string csrPem, long ttlSeconds = 0, string? impersonate = null, GrpcChannel? channel = null)
    {
        var client = new IstioCertificateService.IstioCertificateServiceClient(channel ?? SecureChannel());
        var request = new IstioCertificateRequest { Csr = csrPem, ValidityDuration = ttlSeconds };
        if (impersonate is not null)
            request.Metadata = new Struct { Fields = { [CertificateService.ImpersonatedIdentityKey] = Value.ForString(impersonate) } };
        var headers = new Metadata();
        if (token is not null)
            headers.Add("authorization", "Bearer " + token);
        return await client.CreateCertificateAsync(request, headers, deadline: DateTime.UtcNow.AddSeconds(10));
    }

    public long Count(string result) => Metrics.Get(CaResult.Metric, ControlPlaneMetrics.Label("result", result));

    /// <summary>An Error means our bug: no test expects one unless it asks for it.</summary>
    public void AssertNoErrors() =>
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error);

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _channels)
            c.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
