using Ambient.Agent.Identity;
using Ambient.Agent.State;
using Ambient.Agent.Tests.State;
using Ambient.Agent.Tests.Testing;
using Ambient.Identity;

namespace Ambient.Agent.Tests.Identity;

/// <summary>
/// The agent's CA client against the control plane's real CA (in-process, TLS over TCP and over the
/// <c>--secure-socket</c>), with node credentials and Istio's rule: a node gets the identities of pods on it, nothing else.
/// </summary>
public sealed class CaClientTests : IAsyncLifetime
{
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
    private static readonly SpiffeId Db = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/db");
    private InProcessCa _ca = null!;

    public async Task InitializeAsync() => _ca = await InProcessCa.StartAsync();

    public async Task DisposeAsync() => await _ca.DisposeAsync();

    private IdentityOptions Options(bool socket, string tokenFile, string? rootCert = null) => new()
    {
        CaSocket = socket ? _ca.Socket : null,
        CaAddress = socket ? null : _ca.Address,
        CaRootCert = rootCert ?? _ca.RootCertPath,
        CaTokenFile = tokenFile,
        CertTtl = TimeSpan.FromHours(2),
    };

    private static CaClient Client(IdentityOptions options, string node, out TrustBundle trust)
    {
        var bundle = TrustBundle.FromPem(File.ReadAllText(options.CaRootCert!));
        trust = bundle;
        return new CaClient(options, node, () => bundle);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CaClient_IdentityWithPodOnNode_CertificateChainsToBundleWithExactSan(bool socket)
    {
        using var client = Client(Options(socket, _ca.TokenFile(InProcessCa.NodeA)), InProcessCa.NodeA, out var trust);
        var before = DateTimeOffset.UtcNow;

        var cert = await client.FetchAsync(Web, trust, CancellationToken.None);

        Assert.Equal(Web, cert.Identity);
        Assert.Equal([Web.ToString()], SubjectAltNames.GetUris(cert.Leaf));
        Assert.True(cert.Leaf.HasPrivateKey);
        Assert.True(trust.Validate(cert.Leaf, cert.Intermediates, out var error), error);
        Assert.Empty(cert.Intermediates); // the root signs directly, and roots are not presented
        Assert.InRange(cert.NotAfter, before.AddHours(2).AddSeconds(-5), DateTimeOffset.UtcNow.AddHours(2).AddSeconds(5)); // --cert-ttl honoured
        Assert.Equal(cert.NotBefore + (cert.NotAfter - cert.NotBefore) / 2, cert.RenewAt);
    }

    [Fact]
    public async Task CaClient_IdentityWithoutPodOnNode_RefusedNamingIdentityAndNode()
    {
        using var client = Client(Options(true, _ca.TokenFile(InProcessCa.NodeA)), InProcessCa.NodeA, out var trust);

        var e = await Assert.ThrowsAsync<CaFetchException>(() => client.FetchAsync(Db, trust, CancellationToken.None));

        Assert.Equal(CaFetchReason.PermissionDenied, e.Reason);
        Assert.Contains(Db.ToString(), e.Message);
        Assert.Contains("node node-a", e.Message);
        Assert.Contains("PermissionDenied", e.Message);
    }

    [Fact]
    public async Task CaClient_WrongToken_RefusedAsUnauthenticatedNamingTokenFile()
    {
        _ca.TokenFile(InProcessCa.NodeA);
        var wrong = Path.Combine(_ca.Dir, "wrong-token");
        await File.WriteAllTextAsync(wrong, NodeCredentials.NewToken() + "\n");
        using var client = Client(Options(true, wrong), InProcessCa.NodeA, out var trust);

        var e = await Assert.ThrowsAsync<CaFetchException>(() => client.FetchAsync(Web, trust, CancellationToken.None));

        Assert.Equal(CaFetchReason.Unauthenticated, e.Reason);
        Assert.Contains("--ca-token-file '" + wrong + "'", e.Message);
        Assert.Contains(Web.ToString(), e.Message);
    }

    [Fact]
    public async Task CaClient_TokenFileRotated_NextCallUsesTheNewToken()
    {
        var tokenFile = Path.Combine(_ca.Dir, "agent-token");
        await File.WriteAllTextAsync(tokenFile, "revoked-token\n");
        using var client = Client(Options(true, tokenFile), InProcessCa.NodeA, out var trust);
        await Assert.ThrowsAsync<CaFetchException>(() => client.FetchAsync(Web, trust, CancellationToken.None));

        File.Copy(_ca.TokenFile(InProcessCa.NodeA), tokenFile, overwrite: true);
        var cert = await client.FetchAsync(Web, trust, CancellationToken.None);

        Assert.Equal(Web, cert.Identity);
    }

    [Fact]
    public async Task CaClient_RootOfAnotherCa_TlsRefusedAsUntrustedCa()
    {
        using var other = new TestCertificates("some-other-root");
        var otherRoot = Path.Combine(_ca.Dir, "other-root.pem");
        await File.WriteAllTextAsync(otherRoot, other.RootPem);
        using var client = Client(Options(true, _ca.TokenFile(InProcessCa.NodeA), otherRoot), InProcessCa.NodeA, out var trust);

        var e = await Assert.ThrowsAsync<CaFetchException>(() => client.FetchAsync(Web, trust, CancellationToken.None));

        Assert.Equal(CaFetchReason.UntrustedCa, e.Reason);
        Assert.Contains("not trusted", e.Message);
        Assert.Contains(otherRoot, e.Message);
    }

    [Fact]
    public async Task CaClient_TokenFileMissing_FailsNamingTheFile()
    {
        var missing = Path.Combine(_ca.Dir, "no-such-token");
        using var client = Client(Options(true, missing), InProcessCa.NodeA, out var trust);

        var e = await Assert.ThrowsAsync<CaFetchException>(() => client.FetchAsync(Web, trust, CancellationToken.None));

        Assert.Equal(CaFetchReason.Token, e.Reason);
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public async Task Manager_LocalHboneWorkloadOnNode_PrefetchedFromTheRealCa()
    {
        var options = Options(true, _ca.TokenFile(InProcessCa.NodeA));
        var store = new WorkloadStore();
        using var trustFile = new TrustBundleFile(_ca.RootCertPath, TimeProvider.System, options.RootCertPollInterval);
        using var client = new CaClient(options, InProcessCa.NodeA, () => trustFile.Current);
        using var manager = new WorkloadCertificateManager(options, InProcessCa.NodeA, client, trustFile, TimeProvider.System, new IdentityMetrics(), store);
        await manager.StartAsync(CancellationToken.None);
        try
        {
            var w = Wds.Workload("shop", "web-1", "10.244.1.10", InProcessCa.NodeA, hbone: true);
            w.ServiceAccount = "web";
            store.ApplyAddresses(Wds.Update(Wds.Res(w)));

            await Wait.UntilAsync(() => manager.TryGetCached(Web, out _), TimeSpan.FromSeconds(15), "the warm-up fetch of shop/web from the CA");
            manager.TryGetCached(Web, out var cert);
            Assert.True(manager.TrustBundle.Validate(cert.Leaf, cert.Intermediates, out var error), error);
            Assert.Same(cert, await manager.GetAsync(Web, CancellationToken.None));
            var refused = await Assert.ThrowsAsync<IdentityUnavailableException>(() => manager.GetAsync(Db, CancellationToken.None).AsTask());
            Assert.Equal(CaFetchReason.PermissionDenied, refused.Reason);
            Assert.Equal((1L, 1L), (manager.Metrics.FetchesOk, manager.Metrics.FetchesFailed(CaFetchReason.PermissionDenied)));
        }
        finally
        {
            await manager.StopAsync(CancellationToken.None);
        }
    }
}
