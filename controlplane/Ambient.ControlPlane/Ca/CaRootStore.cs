using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.Identity;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// Loads the CA's signing key: the given <c>--ca-cert</c>/<c>--ca-key</c> as-is, or a self-signed root generated
/// once into <c>--ca-dir</c> and reused on every restart (a new root would orphan every issued certificate and every
/// client's trust bundle). Then publishes <c>root-cert.pem</c> for clients.
/// </summary>
/// <remarks>
/// Files: <c>ca-key.pem</c> is 0600, created with that mode (never readable in between); <c>ca-cert.pem</c> and
/// <c>root-cert.pem</c> are public certificates, 0644 so unprivileged clients can read the root. A half-present pair
/// (a key without its certificate or the reverse) is an error, not a reason to generate: it is someone's root.
/// </remarks>
public static class CaRootStore
{
    public const string CertFile = "ca-cert.pem";
    public const string KeyFile = "ca-key.pem";

    /// <summary>Self-signed roots live 10 years, as istiod's self-signed CA.</summary>
    public static readonly TimeSpan RootValidity = TimeSpan.FromDays(3650);

    private const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PublicMode = PrivateMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static CaRoot LoadOrCreate(CaOptions options, string trustDomain, TimeProvider time)
    {
        var root = options.CaCertPath is { } cert ? LoadGiven(cert, options.CaKeyPath!, time) : LoadOrGenerate(options.CaDir, trustDomain, time);
        Directory.CreateDirectory(options.CaDir);
        WriteAtomically(options.RootCertPath, PemCertificates.Write(root.Root), PublicMode);
        return root;
    }

    private static CaRoot LoadGiven(string certPath, string keyPath, TimeProvider time)
    {
        X509Certificate2 signer;
        X509Certificate2Collection all;
        try
        {
            signer = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            all = PemCertificates.Read(File.ReadAllText(certPath));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new InvalidOperationException($"--ca-cert '{certPath}' / --ca-key '{keyPath}': cannot load the CA certificate and key: {e.Message}", e);
        }
        CheckSigner(signer, $"--ca-cert '{certPath}'", time);
        return new CaRoot(signer, [.. all.Skip(1)]);
    }

    private static CaRoot LoadOrGenerate(string dir, string trustDomain, TimeProvider time)
    {
        var certPath = Path.Combine(dir, CertFile);
        var keyPath = Path.Combine(dir, KeyFile);
        var haveCert = File.Exists(certPath);
        var haveKey = File.Exists(keyPath);
        if (haveCert != haveKey)
        {
            throw new InvalidOperationException(
                $"--ca-dir '{dir}' holds {(haveCert ? CertFile : KeyFile)} without {(haveCert ? KeyFile : CertFile)}: restore the missing file, or remove both to generate a new root (every workload must then trust it)");
        }
        if (haveCert)
        {
            X509Certificate2 signer;
            try
            {
                signer = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new InvalidOperationException($"--ca-dir '{dir}': cannot load {CertFile} and {KeyFile}: {e.Message}", e);
            }
            CheckSigner(signer, $"--ca-dir '{dir}'", time);
            return new CaRoot(signer, []);
        }

        Directory.CreateDirectory(dir);
        var generated = Generate(trustDomain, time);
        using (var key = generated.GetECDsaPrivateKey()!)
            WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n", PrivateMode);
        WriteAtomically(certPath, PemCertificates.Write(generated), PublicMode);
        return new CaRoot(generated, []);
    }

    /// <summary>A self-signed ECDSA P-256 root, <c>O=&lt;trust domain&gt;</c> as istiod names its own.</summary>
    public static X509Certificate2 Generate(string trustDomain, TimeProvider time)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"O={trustDomain}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = time.GetUtcNow();
        return request.CreateSelfSigned(now - CertificateAuthority.ClockSkew, now + RootValidity);
    }

    private static void CheckSigner(X509Certificate2 signer, string what, TimeProvider time)
    {
        var bc = signer.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (bc is not { CertificateAuthority: true })
            throw new InvalidOperationException($"{what}: the certificate is not a CA (basicConstraints CA:TRUE is missing)");
        var ku = signer.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (ku is not null && !ku.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
            throw new InvalidOperationException($"{what}: the certificate's key usage lacks keyCertSign");
        if (signer.NotAfter.ToUniversalTime() <= time.GetUtcNow().UtcDateTime)
            throw new InvalidOperationException($"{what}: the CA certificate expired at {signer.NotAfter.ToUniversalTime():u}");
        if (signer.GetECDsaPrivateKey() is null && signer.GetRSAPrivateKey() is null)
            throw new InvalidOperationException($"{what}: the CA key is neither ECDSA nor RSA");
    }

    /// <summary>Writes through a temporary file created with <paramref name="mode"/>, then renames over the target.</summary>
    private static void WriteAtomically(string path, string content, UnixFileMode mode)
    {
        var tmp = path + ".tmp";
        File.Delete(tmp);
        var fso = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            fso.UnixCreateMode = mode;
        using (var stream = new FileStream(tmp, fso))
        using (var writer = new StreamWriter(stream))
            writer.Write(content);
        File.Move(tmp, path, overwrite: true);
    }
}
