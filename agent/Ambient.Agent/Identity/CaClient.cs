using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.Identity;
using Ambient.Xds.Protos.Ca;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Ambient.Agent.Identity;

/// <summary>
/// <c>istio.v1.auth.IstioCertificateService/CreateCertificate</c> as ztunnel calls it (protocol facts §g):
/// <code>
/// fresh P-256 key → CSR (one URI SAN) ─┐
/// authorization: Bearer &lt;token file&gt;  ├─ TLS gRPC (--ca-address | --ca-socket), server verified against the
/// metadata ImpersonatedIdentity = id ──┘   current roots as istiod.istio-system.svc
///                                       → cert_chain [leaf, …, root] → leaf + our key, SAN = id, chains to roots
/// </code>
/// The private key never leaves the process. The token file is read on every call, so rotating it needs no restart.
/// </summary>
public sealed class CaClient : ICaClient, IDisposable
{
    public const string ImpersonatedIdentityKey = "ImpersonatedIdentity";

    /// <summary>The HTTP/2 authority over a Unix socket (there is no host to name), as the control plane expects.</summary>
    public const string SocketAuthority = "localhost";

    /// <summary>Node tokens are 43 characters and projected tokens about 1 KiB; a larger file is not a token.</summary>
    private const int MaxTokenBytes = 16 * 1024;

    private readonly IdentityOptions _options;
    private readonly string _node;
    private readonly Func<TrustBundle> _trust;
    private readonly Lock _lock = new();
    private GrpcChannel? _channel;
    private IstioCertificateService.IstioCertificateServiceClient? _client;
    private volatile string? _lastTlsError;
    private bool _disposed;

    /// <param name="trust">The roots the CA's serving certificate is verified against, read at each handshake.</param>
    public CaClient(IdentityOptions options, string node, Func<TrustBundle> trust)
    {
        if (!options.Enabled)
            throw new ArgumentException("no CA is configured (--ca-address or --ca-socket)", nameof(options));
        _options = options;
        _node = node;
        _trust = trust;
        Target = options.CaSocket is { } socket ? "unix:" + socket : options.CaAddress!;
    }

    /// <summary>Where the CA is, for messages: <c>host:port</c> or <c>unix:/path</c>.</summary>
    public string Target { get; }

    public async Task<WorkloadCertificate> FetchAsync(SpiffeId id, TrustBundle trust, CancellationToken ct)
    {
        var token = ReadToken();
        var csr = WorkloadCsr.Create(id);
        var keep = false;
        try
        {
            var request = new IstioCertificateRequest
            {
                Csr = csr.Pem,
                ValidityDuration = (long)_options.CertTtl.TotalSeconds,
                Metadata = new Struct { Fields = { [ImpersonatedIdentityKey] = Value.ForString(id.ToString()) } },
            };
            var headers = new Metadata { { "authorization", "Bearer " + token } };
            IstioCertificateResponse response;
            try
            {
                response = await Client().CreateCertificateAsync(request, headers, DateTime.UtcNow + _options.RequestTimeout, ct).ConfigureAwait(false);
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                throw Map(e, id);
            }
            var certificate = ToCertificate(id, csr, response, trust);
            keep = true; // the leaf refers to the key
            return certificate;
        }
        finally
        {
            if (!keep)
                csr.Dispose();
        }
    }

    public void OnTrustChanged()
    {
        GrpcChannel? old;
        lock (_lock)
        {
            old = _channel;
            _channel = null;
            _client = null;
        }
        old?.Dispose(); // a call in flight on it fails and is retried with backoff
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _channel?.Dispose();
            _channel = null;
            _client = null;
        }
    }

    private string ReadToken()
    {
        var path = _options.CaTokenFile!;
        try
        {
            if (new FileInfo(path).Length > MaxTokenBytes)
                throw new CaFetchException(CaFetchReason.Token, $"--ca-token-file '{path}' is larger than {MaxTokenBytes} bytes: not a token");
            var token = File.ReadAllText(path).Trim();
            if (token.Length == 0)
                throw new CaFetchException(CaFetchReason.Token, $"--ca-token-file '{path}' is empty");
            return token;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaFetchException(CaFetchReason.Token, $"cannot read --ca-token-file '{path}': {e.Message}", e);
        }
    }

    private IstioCertificateService.IstioCertificateServiceClient Client()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_client is null)
            {
                _channel = CreateChannel();
                _client = new IstioCertificateService.IstioCertificateServiceClient(_channel);
            }
            return _client;
        }
    }

    private GrpcChannel CreateChannel()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.RequestTimeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = ValidateServer,
            },
        };
        Uri uri;
        if (_options.CaSocket is { } socket)
        {
            uri = new Uri("https://" + SocketAuthority);
            handler.ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct).ConfigureAwait(false);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            };
        }
        else
        {
            var (host, port) = IdentityOptions.ParseAddress(_options.CaAddress!);
            uri = new UriBuilder("https", host, port).Uri;
        }
        return GrpcChannel.ForAddress(uri, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    /// <summary>Our roots only (never the machine store), and the name istiod's certificate carries, as ztunnel checks.</summary>
    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            _lastTlsError = "the CA presented no certificate";
            return false;
        }
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var presented = chain is null ? [] : chain.ChainPolicy.ExtraStore.Cast<X509Certificate2>().Concat(chain.ChainElements.Select(e => e.Certificate)).ToList();
        if (_trust().ValidateServer(leaf, presented, IdentityOptions.CaHostname, out var error))
        {
            _lastTlsError = null;
            return true;
        }
        _lastTlsError = $"the CA's certificate ({leaf.Subject}, issuer {leaf.Issuer}) is not trusted: {error}; check --ca-root-cert '{_options.CaRootCert}' is the control plane's root-cert.pem";
        return false;
    }

    private CaFetchException Map(RpcException e, SpiffeId id)
    {
        var said = $"{e.StatusCode}: {e.Status.Detail}";
        return e.StatusCode switch
        {
            StatusCode.Unauthenticated => new CaFetchException(CaFetchReason.Unauthenticated,
                $"the CA at {Target} refused node {_node}'s credentials for {id} ({said}); check that --ca-token-file '{_options.CaTokenFile}' holds this node's token", e),
            StatusCode.PermissionDenied => new CaFetchException(CaFetchReason.PermissionDenied,
                $"the CA at {Target} refused {id} to node {_node} ({said}): it knows no pod of service account {id.ServiceAccount} in namespace {id.Namespace} on node {_node}", e),
            StatusCode.InvalidArgument => new CaFetchException(CaFetchReason.Rejected,
                $"the CA at {Target} rejected the request for {id} ({said}); check --trust-domain '{_options.TrustDomain}' matches the control plane's", e),
            _ when IsTlsFailure(e) => new CaFetchException(CaFetchReason.UntrustedCa,
                $"cannot fetch {id}: TLS to the CA at {Target} failed: {_lastTlsError ?? Innermost(e).Message}", e),
            _ => new CaFetchException(CaFetchReason.Unavailable, $"cannot fetch {id} from the CA at {Target} ({e.StatusCode}: {Innermost(e).Message})", e),
        };
    }

    private static bool IsTlsFailure(RpcException e)
    {
        for (Exception? x = e.Status.DebugException; x is not null; x = x.InnerException)
        {
            if (x is AuthenticationException)
                return true;
        }
        return false;
    }

    private static Exception Innermost(RpcException e)
    {
        Exception x = e.Status.DebugException ?? e;
        while (x.InnerException is not null)
            x = x.InnerException;
        return x;
    }

    private WorkloadCertificate ToCertificate(SpiffeId id, WorkloadCsr csr, IstioCertificateResponse response, TrustBundle trust)
    {
        if (response.CertChain.Count == 0)
            throw new CaFetchException(CaFetchReason.InvalidResponse, $"the CA at {Target} returned an empty certificate chain for {id}");
        X509Certificate2Collection all;
        try
        {
            all = PemCertificates.Read(response.CertChain);
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            throw new CaFetchException(CaFetchReason.InvalidResponse, $"the CA at {Target} returned an unreadable certificate chain for {id}: {e.Message}", e);
        }
        if (all.Count == 0)
            throw new CaFetchException(CaFetchReason.InvalidResponse, $"the CA at {Target} returned no PEM certificate for {id}");
        X509Certificate2 leaf;
        try
        {
            leaf = csr.WithKey(all[0]);
        }
        catch (CryptographicException e)
        {
            throw new CaFetchException(CaFetchReason.InvalidResponse, $"the CA at {Target} returned a certificate for {id} that is not for the key we sent: {e.Message}", e);
        }
        var above = all.Skip(1).ToList();
        if (!trust.Validate(leaf, above, out var error))
        {
            throw new CaFetchException(CaFetchReason.InvalidResponse,
                $"the certificate the CA at {Target} issued for {id} does not chain to --ca-root-cert '{_options.CaRootCert}': {error}");
        }
        // Roots are not presented: peers have them (a self-issued certificate is a root).
        var intermediates = new X509Certificate2Collection();
        foreach (var c in above)
        {
            if (c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData))
                continue;
            intermediates.Add(c);
        }
        try
        {
            return new WorkloadCertificate(id, leaf, intermediates);
        }
        catch (ArgumentException e)
        {
            throw new CaFetchException(CaFetchReason.InvalidResponse, $"the CA at {Target} returned a certificate that is not {id}: {e.Message}", e);
        }
    }
}
