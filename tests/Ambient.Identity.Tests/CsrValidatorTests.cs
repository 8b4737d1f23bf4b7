using System.Net;
using System.Security.Cryptography;

namespace Ambient.Identity.Tests;

public sealed class CsrValidatorTests
{
    private const string Td = "cluster.local";

    [Fact]
    public void WorkloadCsr_Create_ValidP256CsrWithExactlyTheIdentity()
    {
        var id = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
        using var csr = WorkloadCsr.Create(id);

        var result = CsrValidator.Validate(csr.Pem, Td);

        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(id, result.Identity);
        Assert.StartsWith("-----BEGIN CERTIFICATE REQUEST-----", csr.Pem);
        Assert.Equal(256, csr.Key.KeySize);
    }

    [Fact]
    public void Validate_Rsa2048_Accepted()
    {
        using var rsa = RSA.Create(2048);
        var result = CsrValidator.Validate(TestCerts.Csr(b => b.AddUri(new Uri("spiffe://cluster.local/ns/a/sa/b")), rsa), Td);
        Assert.True(result.IsValid, result.Reason);
    }

    public static TheoryData<string, string, CsrError> Refused()
    {
        var data = new TheoryData<string, string, CsrError>
        {
            { "empty", "", CsrError.Malformed },
            { "garbage", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", CsrError.Malformed },
            { "huge", new string('A', CsrValidator.MaxPemLength + 1), CsrError.Malformed },
            { "no SAN", TestCerts.Csr(null), CsrError.SanCount },
            {
                "two URIs",
                TestCerts.Csr(b =>
                {
                    b.AddUri(new Uri("spiffe://cluster.local/ns/a/sa/b"));
                    b.AddUri(new Uri("spiffe://cluster.local/ns/a/sa/c"));
                }),
                CsrError.SanCount
            },
            {
                "URI and DNS",
                TestCerts.Csr(b =>
                {
                    b.AddUri(new Uri("spiffe://cluster.local/ns/a/sa/b"));
                    b.AddDnsName("evil.example");
                }),
                CsrError.SanCount
            },
            { "DNS only", TestCerts.Csr(b => b.AddDnsName("a.example")), CsrError.SanCount },
            { "IP only", TestCerts.Csr(b => b.AddIpAddress(IPAddress.Loopback)), CsrError.SanCount },
            { "https URI", TestCerts.UriCsr("https://cluster.local/ns/a/sa/b"), CsrError.NotSpiffe },
            { "non-Istio SPIFFE path", TestCerts.UriCsr("spiffe://cluster.local/workload/b"), CsrError.NotSpiffe },
            { "other trust domain", TestCerts.UriCsr("spiffe://evil.local/ns/a/sa/b"), CsrError.WrongTrustDomain },
            { "bad signature", TestCerts.Tamper(TestCerts.UriCsr("spiffe://cluster.local/ns/a/sa/b")), CsrError.BadSignature },
        };
        using (var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384))
            data.Add("P-384", TestCerts.Csr(b => b.AddUri(new Uri("spiffe://cluster.local/ns/a/sa/b")), p384), CsrError.UnsupportedKey);
        using (var rsa1024 = RSA.Create(1024))
            data.Add("RSA 1024", TestCerts.Csr(b => b.AddUri(new Uri("spiffe://cluster.local/ns/a/sa/b")), rsa1024), CsrError.UnsupportedKey);
        return data;
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Validate_BadCsr_RefusedWithReason(string name, string pem, CsrError expected)
    {
        var result = CsrValidator.Validate(pem, Td);

        Assert.False(result.IsValid, name);
        Assert.Equal(expected, result.Error);
        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
        Assert.Null(result.Request);
    }
}
