using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.ControlPlane.Ca;
using Ambient.Identity;
using Grpc.Core;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>CreateCertificate end to end: a real gRPC client over TLS, node credentials, the impersonation rule.</summary>
public sealed class CertificateServiceTests : IAsyncLifetime
{
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
    private static readonly SpiffeId Db = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/db");
    private readonly CaTempDir _tmp = new();
    private CaTestServer _server = null!;
    private string _tokenA = "";

    public async Task InitializeAsync()
    {
        _server = await CaTestServer.StartAsync(_tmp.Path, CaManifests.Cluster(),
            new CaOptions { CaDir = _tmp.Sub("ca"), NodeCredentialsDir = _tmp.Sub("nodes"), MaxTtl = TimeSpan.FromHours(48) });
        _tokenA = _server.ProvisionNode(CaTestServer.NodeA);
        _server.ProvisionNode(CaTestServer.NodeB);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _tmp.Dispose();
    }

    [Fact]
    public async Task CreateCertificate_PodOfAccountOnCallerNode_ChainValidatesWithExactlyTheIdentity()
    {
        using var csr = WorkloadCsr.Create(Web);
        var before = DateTimeOffset.UtcNow;

        var response = await _server.RequestAsync(_tokenA, csr.Pem, ttlSeconds: 3600, impersonate: Web.ToString());

        Assert.Equal(2, response.CertChain.Count);
        var chain = PemCertificates.Read(response.CertChain);
        using var leaf = csr.WithKey(chain[0]);
        var root = chain[^1];
        Assert.Equal(File.ReadAllText(_server.Options.RootCertPath), response.CertChain[^1]);
        Assert.True(new TrustBundle([root]).Validate(leaf, chain, out var error), error);
        Assert.Equal([Web.ToString()], SubjectAltNames.GetUris(leaf));
        Assert.True(leaf.SubjectName.RawData.Length <= 2, "the subject is empty: the SAN is the identity");
        var eku = leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).Order());
        var ku = leaf.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, ku.KeyUsages);
        Assert.False(leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        var after = DateTimeOffset.UtcNow;
        Assert.InRange(new DateTimeOffset(leaf.NotAfter.ToUniversalTime()), before.AddHours(1).AddSeconds(-1), after.AddHours(1).AddSeconds(1));
        Assert.Equal(1, _server.Count(CaResult.Issued));
        Assert.Contains(_server.Logs.Messages("Ambient.ControlPlane.Ca"), m => m.Contains("issued " + Web) && m.Contains("node node-a"));
        _server.AssertNoErrors();

        // openssl agrees: the leaf verifies against the root for both TLS roles.
        await File.WriteAllTextAsync(_tmp.Sub("root.pem"), response.CertChain[^1]);
        await File.WriteAllTextAsync(_tmp.Sub("leaf.pem"), response.CertChain[0]);
        foreach (var purpose in new[] { "sslclient", "sslserver" })
        {
            var (exit, output) = await OpenSsl.RunAsync("verify", "-CAfile", _tmp.Sub("root.pem"), "-purpose", purpose, _tmp.Sub("leaf.pem"));
            Assert.True(exit == 0, output);
            Assert.Contains(": OK", output);
        }
        var (_, text) = await OpenSsl.RunAsync("x509", "-in", _tmp.Sub("leaf.pem"), "-noout", "-ext", "subjectAltName");
        Assert.Contains("URI:" + Web, text);
    }

    [Theory]
    [InlineData(0, 24 * 3600)]        // none requested: the default
    [InlineData(7200, 7200)]          // as requested
    [InlineData(365 * 86400, 48 * 3600)] // capped at the configured maximum
    public async Task CreateCertificate_RequestedTtl_DefaultAsIsOrCapped(long requested, long expected)
    {
        using var csr = WorkloadCsr.Create(Web);
        var before = DateTimeOffset.UtcNow;

        var response = await _server.RequestAsync(_tokenA, csr.Pem, requested);

        using var leaf = PemCertificates.Read(response.CertChain[0])[0];
        var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
        Assert.InRange(notAfter, before.AddSeconds(expected - 1), DateTimeOffset.UtcNow.AddSeconds(expected + 1));
    }

    [Fact]
    public async Task CreateCertificate_AccountOnlyOnAnotherNode_PermissionDeniedLoggedAndCounted()
    {
        using var csr = WorkloadCsr.Create(Db);

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(_tokenA, csr.Pem, impersonate: Db.ToString()));

        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.DoesNotContain("node", e.Status.Detail); // opaque to the caller
        Assert.Equal(1, _server.Count(CaResult.Forbidden));
        Assert.Equal(0, _server.Count(CaResult.Issued));
        Assert.Contains(_server.Logs.Messages("Ambient.ControlPlane.Ca"),
            m => m.Contains("refused " + Db) && m.Contains("node node-a") && m.Contains("no pod with service account db in namespace shop runs on node node-a"));
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task CreateCertificate_OnlyFinishedPodOnCallerNode_PermissionDenied()
    {
        using var csr = WorkloadCsr.Create(SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/batch"));

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(_tokenA, csr.Pem));

        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Fact]
    public async Task CreateCertificate_OtherNodesToken_GetsOnlyItsOwnPods()
    {
        var tokenB = await File.ReadAllTextAsync(Path.Combine(_server.Options.NodeCredentialsDir!, CaTestServer.NodeB));
        using var db = WorkloadCsr.Create(Db);
        using var web = WorkloadCsr.Create(Web);

        var response = await _server.RequestAsync(tokenB.Trim(), db.Pem);
        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(tokenB.Trim(), web.Pem));

        Assert.Equal(2, response.CertChain.Count);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Theory]
    [InlineData("no header")]
    [InlineData("unknown token")]
    [InlineData("prefix of a valid token")]
    public async Task CreateCertificate_MissingOrWrongToken_Unauthenticated(string kind)
    {
        var token = kind switch
        {
            "no header" => null,
            "unknown token" => NodeCredentials.NewToken(),
            _ => _tokenA[..^1],
        };
        using var csr = WorkloadCsr.Create(Web);

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(token, csr.Pem));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Equal(1, _server.Count(CaResult.Unauthenticated));
        Assert.Contains(_server.Logs.Messages("Ambient.ControlPlane.Ca"), m => m.Contains("refused an unauthenticated request"));
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task CreateCertificate_RevokedNodeCredential_Unauthenticated()
    {
        using var csr = WorkloadCsr.Create(Web);
        await _server.RequestAsync(_tokenA, csr.Pem);

        File.Delete(Path.Combine(_server.Options.NodeCredentialsDir!, CaTestServer.NodeA));
        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(_tokenA, csr.Pem));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    public static TheoryData<string, string, string> BadCsrs()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        string Csr(Action<SubjectAlternativeNameBuilder> sans)
        {
            var request = new CertificateRequest("", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            var b = new SubjectAlternativeNameBuilder();
            sans(b);
            request.CertificateExtensions.Add(b.Build(true));
            return request.CreateSigningRequestPem();
        }
        var good = Csr(b => b.AddUri(Web.ToUri()));
        var der = Convert.FromBase64String(good[PemEncoding.Find(good).Base64Data]);
        der[^1] ^= 1;
        return new TheoryData<string, string, string>
        {
            { "two SANs", Csr(b => { b.AddUri(Web.ToUri()); b.AddUri(new Uri("spiffe://cluster.local/ns/shop/sa/other")); }), "expected exactly one URI" },
            { "non-SPIFFE", Csr(b => b.AddUri(new Uri("https://web.shop.svc/"))), "is not spiffe://" },
            { "other trust domain", Csr(b => b.AddUri(new Uri("spiffe://evil.local/ns/shop/sa/web"))), "not in trust domain 'cluster.local'" },
            { "bad signature", PemEncoding.WriteString("CERTIFICATE REQUEST", der), "signature does not verify" },
            { "not a CSR", "hello", "not PEM PKCS#10" },
        };
    }

    [Theory]
    [MemberData(nameof(BadCsrs))]
    public async Task CreateCertificate_BadCsr_InvalidArgumentLoggedAndCounted(string name, string pem, string logged)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(_tokenA, pem));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(1, _server.Count(CaResult.InvalidCsr));
        Assert.Equal(0, _server.Count(CaResult.Issued));
        Assert.Contains(_server.Logs.Messages("Ambient.ControlPlane.Ca"), m => m.Contains("refused a CSR from node node-a") && m.Contains(logged));
        Assert.False(string.IsNullOrEmpty(name));
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task CreateCertificate_ImpersonatedIdentityDiffersFromCsr_InvalidArgument()
    {
        using var csr = WorkloadCsr.Create(Web);

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(_tokenA, csr.Pem, impersonate: Db.ToString()));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(_server.Logs.Messages("Ambient.ControlPlane.Ca"), m => m.Contains("differs from the CSR's identity"));
    }

    [Fact]
    public async Task CreateCertificate_OverPlaintextListener_UnauthenticatedEvenWithValidToken()
    {
        using var csr = WorkloadCsr.Create(Web);

        var e = await Assert.ThrowsAsync<RpcException>(() => _server.RequestAsync(_tokenA, csr.Pem, channel: _server.PlainChannel()));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Equal(0, _server.Count(CaResult.Issued));
    }

    [Fact]
    public async Task Ads_OverTlsListener_ServesWorkloads()
    {
        await using var client = new Testing.DeltaAdsClient(_server.SecureChannel());

        await client.RequestAsync(Xds.TypeUrls.Address, subscribe: ["*"]);
        var response = await client.ReceiveAsync();

        Assert.Equal(Xds.TypeUrls.Address, response.TypeUrl);
        Assert.Contains(response.Resources, r => r.Name.Contains("shop/web-1"));
    }
}
