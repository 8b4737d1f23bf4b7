using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ambient.Identity;

namespace Ambient.Hbone;

/// <summary>
/// The mTLS half of HBONE (protocol facts §f): TLS 1.3 only, ALPN <c>h2</c>, no SNI, both sides present workload
/// certificates, chains are checked against the trust bundle only (never the machine store), and identities come from the
/// leaf's SPIFFE URI SAN. Every failure is an <see cref="HboneTlsException"/> naming the check that failed.
/// </summary>
public static class HboneTls
{
    public static async Task<HboneTlsSession> AuthenticateAsClientAsync(Stream transport, WorkloadCertificate identity, TrustBundle bundle,
        IReadOnlyCollection<SpiffeId> expectedServerIdentities, CancellationToken ct)
    {
        string? failure = null;
        SpiffeId peer = default;
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "", // no SNI: the server picks its certificate by listener, not by name
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            ClientCertificateContext = identity.Context,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowTlsResume = false,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                failure = CheckPeer(certificate, chain, errors, bundle, "server", out var ids);
                if (failure is not null)
                    return false;
                foreach (var id in ids)
                {
                    if (expectedServerIdentities.Contains(id))
                    {
                        peer = id;
                        return true;
                    }
                }
                failure = $"the server presented identity {string.Join(", ", ids)}, expected one of {string.Join(", ", expectedServerIdentities)}";
                return false;
            },
        };
        await HandshakeAsync(ssl, () => ssl.AuthenticateAsClientAsync(options, ct), () => failure, "server").ConfigureAwait(false);
        return new HboneTlsSession(ssl, peer);
    }

    public static Task<HboneTlsSession> AuthenticateAsServerAsync(Stream transport, WorkloadCertificate identity, TrustBundle bundle, CancellationToken ct) =>
        AuthenticateAsServerAsync(transport, () => identity, () => bundle, ct);

    public static Task<HboneTlsSession> AuthenticateAsServerAsync(Stream transport, WorkloadCertificate identity, Func<TrustBundle> bundle, CancellationToken ct) =>
        AuthenticateAsServerAsync(transport, () => identity, bundle, ct);

    /// <summary>Both read when the handshake runs, so a renewed certificate or rotated bundle applies to the next connection.</summary>
    public static async Task<HboneTlsSession> AuthenticateAsServerAsync(Stream transport, Func<WorkloadCertificate> identity, Func<TrustBundle> bundle, CancellationToken ct)
    {
        string? failure = null;
        SpiffeId peer = default;
        var certificate = identity();
        var trust = bundle();
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate.Context,
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowTlsResume = false,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
            {
                failure = CheckPeer(cert, chain, errors, trust, "client", out var ids);
                if (failure is not null)
                    return false;
                // §f: exactly one SPIFFE identity, in our own trust domain.
                if (ids.Count != 1)
                {
                    failure = $"the client certificate carries {ids.Count} SPIFFE URI SANs, expected exactly one";
                    return false;
                }
                if (ids[0].TrustDomain != certificate.Identity.TrustDomain)
                {
                    failure = $"the client identity {ids[0]} is not in trust domain {certificate.Identity.TrustDomain}";
                    return false;
                }
                peer = ids[0];
                return true;
            },
        };
        await HandshakeAsync(ssl, () => ssl.AuthenticateAsServerAsync(options, ct), () => failure, "client").ConfigureAwait(false);
        return new HboneTlsSession(ssl, peer);
    }

    /// <summary>Chain to the bundle and read SPIFFE ids; returns the failure or null.</summary>
    private static string? CheckPeer(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, TrustBundle bundle, string role,
        out IReadOnlyList<SpiffeId> ids)
    {
        ids = [];
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            return $"the {role} presented no certificate";
        // SslStream's own verdict used the machine store and host names; we ignore it and decide from the bundle alone.
        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        var intermediates = chain?.ChainPolicy.ExtraStore;
        if (!bundle.Validate(leaf, intermediates, out var error))
            return $"the {role} certificate does not chain to the trust bundle: {error}";
        ids = SubjectAltNames.GetSpiffeIds(leaf);
        if (ids.Count == 0)
            return $"the {role} certificate has no SPIFFE URI SAN";
        return null;
    }

    private static async Task HandshakeAsync(SslStream ssl, Func<Task> handshake, Func<string?> failure, string role)
    {
        try
        {
            await handshake().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            var reason = failure() ?? $"TLS handshake with the {role} failed (HBONE needs TLS 1.3 with ALPN h2 and a workload certificate): {e.Message}";
            throw new HboneTlsException(reason, e);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        if (ssl.SslProtocol != SslProtocols.Tls13)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new HboneTlsException($"the {role} negotiated {ssl.SslProtocol}, HBONE requires TLS 1.3");
        }
        if (ssl.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new HboneTlsException($"the {role} did not negotiate ALPN h2 (got '{ssl.NegotiatedApplicationProtocol}')");
        }
    }
}
