namespace Ambient.Identity.Tests;

public sealed class TrustBundleTests
{
    private static readonly SpiffeId Id = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");

    [Fact]
    public void Validate_LeafOfTrustedRoot_ValidAndSanReadable()
    {
        using var root = TestCerts.Root();
        using var leaf = TestCerts.Leaf(root, Id);
        var bundle = TrustBundle.FromPem(PemCertificates.Write(root));

        Assert.True(bundle.Validate(leaf, null, out var error), error);
        Assert.Equal([Id.ToString()], SubjectAltNames.GetUris(leaf));
        Assert.Equal([Id], SubjectAltNames.GetSpiffeIds(leaf));
    }

    [Fact]
    public void Validate_LeafOfOtherRoot_Invalid()
    {
        using var root = TestCerts.Root();
        using var other = TestCerts.Root("O=other");
        using var leaf = TestCerts.Leaf(other, Id);
        var bundle = new TrustBundle([root]);

        Assert.False(bundle.Validate(leaf, [other], out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Validate_AfterExpiry_Invalid()
    {
        using var root = TestCerts.Root();
        using var leaf = TestCerts.Leaf(root, Id, DateTimeOffset.UtcNow.AddMinutes(10));
        var bundle = new TrustBundle([root]);

        Assert.True(bundle.Validate(leaf, null, out _));
        Assert.False(bundle.Validate(leaf, null, out var error, DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Contains("NotTimeValid", error);
    }

    [Fact]
    public void PemCertificates_ConcatenatedPems_ReadInOrder()
    {
        using var root = TestCerts.Root();
        using var leaf = TestCerts.Leaf(root, Id);

        var read = PemCertificates.Read([PemCertificates.Write([leaf, root]), "junk before\n" + PemCertificates.Write(root)]);

        Assert.Equal([leaf.Thumbprint, root.Thumbprint, root.Thumbprint], read.Select(c => c.Thumbprint));
    }
}
