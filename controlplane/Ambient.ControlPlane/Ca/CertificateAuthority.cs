using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.Identity;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// Signs workload certificates and the control plane's own serving certificate with the <see cref="CaRoot"/>.
/// A workload leaf has an empty subject, exactly one (critical) URI SAN, key usage digitalSignature +
/// keyEncipherment, EKU serverAuth + clientAuth, a random 128-bit serial and the requested validity (default and cap
/// from <see cref="CaOptions"/>, never past the signer's own expiry).
/// </summary>
public sealed class CertificateAuthority
{
    /// <summary>Back-dating of notBefore, so a peer whose clock is a little behind accepts a fresh certificate.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly CaOptions _options;
    private readonly TimeProvider _time;

    public CertificateAuthority(CaRoot root, CaOptions options, TimeProvider time)
    {
        Root = root;
        _options = options;
        _time = time;
        RootPem = PemCertificates.Write(root.Root);
    }

    public CaRoot Root { get; }

    public string RootPem { get; }

    /// <summary>The validity a request gets: the default for 0 or less, the maximum for more than the maximum.</summary>
    public TimeSpan EffectiveTtl(long requestedSeconds)
    {
        if (requestedSeconds <= 0)
            return _options.DefaultTtl;
        return requestedSeconds >= (long)_options.MaxTtl.TotalSeconds ? _options.MaxTtl : TimeSpan.FromSeconds(requestedSeconds);
    }

    /// <summary>Signs a validated CSR's key for <paramref name="identity"/>; returns the chain as PEM, leaf first, root last.</summary>
    public IReadOnlyList<string> SignWorkload(PublicKey key, SpiffeId identity, TimeSpan ttl)
    {
        var request = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], false));
        // An empty subject makes the SAN the only name, so it must be critical (RFC 5280 §4.2.1.6).
        request.CertificateExtensions.Add(SubjectAltNames.ForUri(identity, critical: true));
        using var leaf = Issue(request, ttl);
        return Chain(leaf);
    }

    /// <summary>The TLS certificate of the secure listener, for <see cref="CaOptions.ServingDnsNames"/>.</summary>
    public X509Certificate2 IssueServing(TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={_options.ServingDnsNames[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in _options.ServingDnsNames)
            san.AddDnsName(name);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth], false));
        request.CertificateExtensions.Add(san.Build());
        using var cert = Issue(request, validity);
        return cert.CopyWithPrivateKey(key);
    }

    private X509Certificate2 Issue(CertificateRequest request, TimeSpan ttl)
    {
        var signer = Root.Signer;
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(signer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var now = _time.GetUtcNow();
        var notAfter = now + ttl;
        var signerNotAfter = new DateTimeOffset(signer.NotAfter.ToUniversalTime());
        if (notAfter > signerNotAfter)
            notAfter = signerNotAfter; // a leaf cannot outlive its issuer
        // A key object per signature: .NET does not promise that one instance may sign from several threads.
        using var ec = signer.GetECDsaPrivateKey();
        using var rsa = ec is null ? signer.GetRSAPrivateKey() : null;
        var generator = ec is not null ? X509SignatureGenerator.CreateForECDsa(ec)
            : rsa is not null ? X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1)
            : throw new InvalidOperationException("the CA key is neither ECDSA nor RSA");
        return request.Create(signer.SubjectName, generator, now - ClockSkew, notAfter, NewSerial());
    }

    private IReadOnlyList<string> Chain(X509Certificate2 leaf)
    {
        var chain = new List<string>(2 + Root.ChainAbove.Count) { PemCertificates.Write(leaf) };
        if (Root.ChainAbove.Count > 0)
            chain.Add(PemCertificates.Write(Root.Signer));
        for (var i = 0; i < Root.ChainAbove.Count - 1; i++)
            chain.Add(PemCertificates.Write(Root.ChainAbove[i]));
        chain.Add(RootPem);
        return chain;
    }

    /// <summary>128 random bits, positive and without a leading zero byte (RFC 5280 §4.1.2.2: ≤ 20 octets, positive).</summary>
    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }
}
