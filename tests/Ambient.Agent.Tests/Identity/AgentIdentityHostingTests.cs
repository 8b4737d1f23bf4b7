using System.Net.Http.Json;
using System.Net.Sockets;
using Ambient.Agent.Hosting;
using Ambient.Agent.Identity;
using Ambient.Agent.Tests.Testing;
using Ambient.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Tests.Identity;

/// <summary>The real agent host: how identities are registered, <c>/certs</c> and <c>/metrics</c>, and the no-CA warning.</summary>
public sealed class AgentIdentityHostingTests : IAsyncLifetime
{
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
    private readonly string _dir = Directory.CreateTempSubdirectory("amb-agent-id-").FullName;
    private readonly LogCollector _logs = new();
    private InProcessCa _ca = null!;

    public async Task InitializeAsync() => _ca = await InProcessCa.StartAsync();

    public async Task DisposeAsync()
    {
        await _ca.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private WebApplication Build(IdentityOptions identity) => AgentHost.Build(new AgentOptions
    {
        Node = InProcessCa.NodeA,
        CniSocket = Path.Combine(_dir, "cni.sock"),
        StateDir = Path.Combine(_dir, "state"),
        AdminAddress = null,
        AdminSocket = Path.Combine(_dir, "admin.sock"),
        Identity = identity,
    }, configureLogging: l => l.AddProvider(_logs));

    private HttpClient Admin() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(_dir, "admin.sock")), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://localhost") };

    [Fact]
    public async Task AgentHost_CaSocketConfigured_IdentitiesServedAndListedOnCertsAndMetrics()
    {
        await using var app = Build(new IdentityOptions { CaSocket = _ca.Socket, CaRootCert = _ca.RootCertPath, CaTokenFile = _ca.TokenFile(InProcessCa.NodeA) });
        await app.StartAsync();
        try
        {
            var identities = app.Services.GetRequiredService<IWorkloadIdentities>();
            Assert.True(identities.Enabled);
            Assert.IsType<WorkloadCertificateManager>(identities);

            var cert = await identities.GetAsync(Web, CancellationToken.None);
            using var admin = Admin();
            var certs = await admin.GetFromJsonAsync<List<CertificateStatus>>("/certs", new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));
            var metrics = await admin.GetStringAsync("/metrics");

            Assert.True(identities.TrustBundle.Validate(cert.Leaf, cert.Intermediates, out var error), error);
            var listed = Assert.Single(certs!);
            Assert.Equal((Web.ToString(), "valid", cert.NotAfter, cert.RenewAt, cert.Leaf.SerialNumber), (listed.Identity, listed.State, listed.NotAfter, listed.RenewAt, listed.Serial));
            Assert.Contains("ambient_agent_certificates 1\n", metrics);
            Assert.Contains("ambient_agent_certificate_fetches_total{result=\"ok\",reason=\"\"} 1\n", metrics);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task AgentHost_NoCa_IdentitiesDisabledWithAWarning()
    {
        await using var app = Build(new IdentityOptions());
        await app.StartAsync();
        try
        {
            var identities = app.Services.GetRequiredService<IWorkloadIdentities>();

            Assert.False(identities.Enabled);
            var e = await Assert.ThrowsAsync<IdentityUnavailableException>(() => identities.GetAsync(Web, CancellationToken.None).AsTask());
            Assert.Equal(CaFetchReason.Disabled, e.Reason);
            Assert.Contains(_logs.Entries, l => l.Level == LogLevel.Warning && l.Message.Contains("DISABLED"));
            using var admin = Admin();
            Assert.Equal("[]", (await admin.GetStringAsync("/certs")).Trim());
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task AgentHost_RootFileUnreadableAtStart_StartFailsNamingTheFlag()
    {
        var root = Path.Combine(_dir, "bad-root.pem");
        await File.WriteAllTextAsync(root, "not a certificate");
        await using var app = Build(new IdentityOptions { CaSocket = _ca.Socket, CaRootCert = root, CaTokenFile = _ca.TokenFile(InProcessCa.NodeA) });

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => app.StartAsync());

        Assert.Contains("--ca-root-cert", e.Message);
        Assert.Contains(root, e.Message);
    }
}
