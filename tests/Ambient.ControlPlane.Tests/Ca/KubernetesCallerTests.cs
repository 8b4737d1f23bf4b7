using Ambient.ControlPlane.Ca;
using Ambient.Identity;
using Grpc.Core;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>Kubernetes mode: TokenReview (faked) names the caller; ztunnel's account gets its node's identities.</summary>
public sealed class KubernetesCallerTests : IAsyncLifetime
{
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
    private static readonly SpiffeId Db = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/db");
    private readonly CaTempDir _tmp = new();
    private readonly FakeTokenReviewer _reviewer = new FakeTokenReviewer()
        .Add("ztunnel-a", "istio-system", "ztunnel", "ztunnel-a", "uid-ztunnel-a")
        .Add("ztunnel-stale-uid", "istio-system", "ztunnel", "ztunnel-a", "uid-of-an-older-pod")
        .Add("web-pod", "shop", "web", "web-1", "uid-shop-web-1");
    private CaTestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await CaTestServer.StartAsync(_tmp.Path, CaManifests.Cluster(), new CaOptions { CaDir = _tmp.Sub("ca") }, _reviewer);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _tmp.Dispose();
    }

    [Fact]
    public async Task CreateCertificate_ZtunnelOnNodeA_GetsIdentityOfPodOnNodeA()
    {
        using var csr = WorkloadCsr.Create(Web);

        var response = await _server.RequestAsync("ztunnel-a", csr.Pem, impersonate: Web.ToString());

        Assert.Equal([Web.ToString()], SubjectAltNames.GetUris(PemCertificates.Read(response.CertChain[0])[0]));
        Assert.Contains("istio-ca", _reviewer.Audiences);
        Assert.Contains(_server.Logs.Messages("Ambient.ControlPlane.Ca"), m => m.Contains("pod istio-system/ztunnel-a") && m.Contains("on node node-a"));
    }

    [Fact]
    public async Task CreateCertificate_ZtunnelOnNodeA_RefusedIdentityOfPodOnNodeB()
    {
        using var csr = WorkloadCsr.Create(Db);

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync("ztunnel-a", csr.Pem, impersonate: Db.ToString()));

        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Fact]
    public async Task CreateCertificate_ZtunnelTokenOfAnotherPodUid_NotANodeCaller()
    {
        using var csr = WorkloadCsr.Create(Web);

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync("ztunnel-stale-uid", csr.Pem));

        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Contains(_server.Logs.Messages("Ambient.ControlPlane.Ca"), m => m.Contains("not a known pod"));
    }

    [Fact]
    public async Task CreateCertificate_WorkloadToken_OwnIdentityOnly()
    {
        using var own = WorkloadCsr.Create(Web);
        using var other = WorkloadCsr.Create(SpiffeId.Parse("spiffe://cluster.local/ns/istio-system/sa/ztunnel"));

        var response = await _server.RequestAsync("web-pod", own.Pem);
        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync("web-pod", other.Pem));

        Assert.Equal(2, response.CertChain.Count);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Fact]
    public async Task CreateCertificate_TokenRejectedByApiServer_Unauthenticated()
    {
        using var csr = WorkloadCsr.Create(Web);

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync("forged", csr.Pem));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        _server.AssertNoErrors();
    }
}
