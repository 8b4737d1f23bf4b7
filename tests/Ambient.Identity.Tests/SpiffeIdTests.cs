namespace Ambient.Identity.Tests;

public sealed class SpiffeIdTests
{
    [Fact]
    public void Parse_IstioShape_PartsAndRoundTrip()
    {
        var id = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web-v1");

        Assert.Equal(("cluster.local", "shop", "web-v1"), (id.TrustDomain, id.Namespace, id.ServiceAccount));
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/web-v1", id.ToString());
        Assert.Equal(id, SpiffeId.Create("cluster.local", "shop", "web-v1"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("cluster.local/ns/a/sa/b")]
    [InlineData("SPIFFE://cluster.local/ns/a/sa/b")]
    [InlineData("https://cluster.local/ns/a/sa/b")]
    [InlineData("spiffe://cluster.local/ns/a/sa/b/")]
    [InlineData("spiffe://cluster.local/ns/a/sa/b/extra")]
    [InlineData("spiffe://cluster.local/ns/a/sa")]
    [InlineData("spiffe://cluster.local/ns/a/serviceaccount/b")]
    [InlineData("spiffe://cluster.local/namespace/a/sa/b")]
    [InlineData("spiffe://cluster.local/ns//sa/b")]
    [InlineData("spiffe://cluster.local/ns/a/sa/")]
    [InlineData("spiffe:///ns/a/sa/b")]
    [InlineData("spiffe://Cluster.Local/ns/a/sa/b")]
    [InlineData("spiffe://cluster.local/ns/A/sa/b")]
    [InlineData("spiffe://cluster.local/ns/a/sa/b?x=1")]
    [InlineData("spiffe://cluster.local/ns/a/sa/b#f")]
    [InlineData("spiffe://cluster.local/ns/../sa/b")]
    [InlineData("spiffe://cluster.local:443/ns/a/sa/b")]
    [InlineData("spiffe://user@cluster.local/ns/a/sa/b")]
    [InlineData("spiffe://cluster.local/ns/a%2f/sa/b")]
    public void TryParse_NotIstioShape_False(string value)
    {
        Assert.False(SpiffeId.TryParse(value, out _));
        Assert.Throws<FormatException>(() => SpiffeId.Parse(value));
    }

    [Theory]
    [InlineData("", "a", "b")]
    [InlineData("cluster.local", "A", "b")]
    [InlineData("cluster.local", "a", "b/c")]
    public void Create_BadPart_ThrowsNamingIt(string td, string ns, string sa)
    {
        Assert.Throws<ArgumentException>(() => SpiffeId.Create(td, ns, sa));
    }
}
