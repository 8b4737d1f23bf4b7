using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.ControlPlane.Ca;
using Ambient.Identity;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>The trust root: generated once and kept, or given and used as-is.</summary>
public sealed class CaRootStoreTests : IDisposable
{
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
    private readonly CaTempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void LoadOrCreate_EmptyDir_GeneratesP256RootPrivateKeyFileAndPublishesRoot()
    {
        var options = new CaOptions { CaDir = _tmp.Sub("ca") };

        var root = CaRootStore.LoadOrCreate(options, "cluster.local", TimeProvider.System);

        Assert.Equal("O=cluster.local", root.Root.Subject);
        Assert.Equal(256, root.Signer.GetECDsaPublicKey()!.KeySize);
        Assert.True(root.Root.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.InRange(root.Root.NotAfter.ToUniversalTime(), DateTime.UtcNow.AddDays(3649), DateTime.UtcNow.AddDays(3651));
        var keyMode = File.GetUnixFileMode(Path.Combine(options.CaDir, CaRootStore.KeyFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, keyMode);
        Assert.Equal(PemCertificates.Write(root.Root), File.ReadAllText(options.RootCertPath));
        Assert.Empty(Directory.GetFiles(options.CaDir, "*.tmp"));
    }

    [Fact]
    public async Task ControlPlane_Restarted_SameRootAndOldLeavesStillValidate()
    {
        var options = new CaOptions { CaDir = _tmp.Sub("ca"), NodeCredentialsDir = _tmp.Sub("nodes") };
        string firstRoot;
        string firstLeaf;
        await using (var first = await CaTestServer.StartAsync(_tmp.Path, CaManifests.Cluster(), options))
        {
            using var csr = WorkloadCsr.Create(Web);
            var response = await first.RequestAsync(first.ProvisionNode(CaTestServer.NodeA), csr.Pem);
            firstRoot = File.ReadAllText(options.RootCertPath);
            firstLeaf = response.CertChain[0];
        }

        await using var second = await CaTestServer.StartAsync(_tmp.Path, CaManifests.Cluster(), options);
        using var csr2 = WorkloadCsr.Create(Web);
        var again = await second.RequestAsync(second.ProvisionNode(CaTestServer.NodeA), csr2.Pem);

        Assert.Equal(firstRoot, File.ReadAllText(options.RootCertPath));
        Assert.Equal(firstRoot, again.CertChain[^1]);
        using var oldLeaf = PemCertificates.Read(firstLeaf)[0];
        Assert.True(TrustBundle.FromPem(again.CertChain[^1]).Validate(oldLeaf, null, out var error), error);
    }

    [Fact]
    public async Task ControlPlane_GivenCaCertAndKey_SignsWithThemAsIs()
    {
        var certPath = _tmp.Sub("given-cert.pem");
        var keyPath = _tmp.Sub("given-key.pem");
        var (exit, output) = await OpenSsl.RunAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", keyPath, "-out", certPath, "-days", "30", "-subj", "/O=given-root",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        Assert.True(exit == 0, output);
        var options = new CaOptions { CaDir = _tmp.Sub("ca"), CaCertPath = certPath, CaKeyPath = keyPath, NodeCredentialsDir = _tmp.Sub("nodes") };

        await using var server = await CaTestServer.StartAsync(_tmp.Path, CaManifests.Cluster(), options);
        using var csr = WorkloadCsr.Create(Web);
        var response = await server.RequestAsync(server.ProvisionNode(CaTestServer.NodeA), csr.Pem);

        using var given = PemCertificates.Read(File.ReadAllText(certPath))[0];
        using var root = PemCertificates.Read(response.CertChain[^1])[0];
        Assert.Equal(given.Thumbprint, root.Thumbprint);
        Assert.Equal(PemCertificates.Write(given), File.ReadAllText(options.RootCertPath));
        Assert.False(File.Exists(Path.Combine(options.CaDir, CaRootStore.KeyFile)), "no root was generated");
        var (verify, text) = await OpenSsl.RunAsync("verify", "-CAfile", certPath, WriteTemp(response.CertChain[0]));
        Assert.True(verify == 0, text);
    }

    [Fact]
    public void LoadOrCreate_KeyWithoutCert_RefusesToGenerate()
    {
        var options = new CaOptions { CaDir = _tmp.Sub("ca") };
        CaRootStore.LoadOrCreate(options, "cluster.local", TimeProvider.System);
        File.Delete(Path.Combine(options.CaDir, CaRootStore.CertFile));

        var e = Assert.Throws<InvalidOperationException>(() => CaRootStore.LoadOrCreate(options, "cluster.local", TimeProvider.System));

        Assert.Contains("ca-key.pem without ca-cert.pem", e.Message);
    }

    [Fact]
    public void LoadOrCreate_GivenCertIsNotCa_Refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=leaf", key, HashAlgorithmName.SHA256);
        using var leaf = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(_tmp.Sub("c.pem"), leaf.ExportCertificatePem());
        File.WriteAllText(_tmp.Sub("k.pem"), key.ExportPkcs8PrivateKeyPem());
        var options = new CaOptions { CaDir = _tmp.Sub("ca"), CaCertPath = _tmp.Sub("c.pem"), CaKeyPath = _tmp.Sub("k.pem") };

        var e = Assert.Throws<InvalidOperationException>(() => CaRootStore.LoadOrCreate(options, "cluster.local", TimeProvider.System));

        Assert.Contains("not a CA", e.Message);
    }

    private string WriteTemp(string pem)
    {
        var path = _tmp.Sub(Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(path, pem);
        return path;
    }
}
