using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.Identity;

namespace Ambient.Agent.Tests.Identity;

/// <summary>A throwaway root that issues workload certificates with chosen validity (for the manager's virtual time).</summary>
public sealed class TestCertificates : IDisposable
{
    private readonly ECDsa _rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private long _serial;

    public TestCertificates(string name = "test-root")
    {
        var request = new CertificateRequest($"O={name}", _rootKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        Root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddYears(-1), DateTimeOffset.UtcNow.AddYears(20));
    }

    public X509Certificate2 Root { get; }

    public string RootPem => PemCertificates.Write(Root);

    /// <summary>A leaf for <paramref name="id"/> valid [<paramref name="notBefore"/>, + <paramref name="ttl"/>) with its key.</summary>
    public WorkloadCertificate Issue(SpiffeId id, DateTimeOffset notBefore, TimeSpan ttl)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(SubjectAltNames.ForUri(id, critical: true));
        var serial = BitConverter.GetBytes(Interlocked.Increment(ref _serial) + 1000);
        using var signed = request.Create(Root, notBefore, notBefore + ttl, serial);
        return new WorkloadCertificate(id, signed.CopyWithPrivateKey(key), []);
    }

    public void Dispose()
    {
        Root.Dispose();
        _rootKey.Dispose();
    }
}
