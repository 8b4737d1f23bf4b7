using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Sources;
using Ambient.Identity;
using Ambient.Xds.Protos.Ca;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// <c>istio.v1.auth.IstioCertificateService/CreateCertificate</c>, served on the TLS listener only.
/// <code>
/// authorization: Bearer → authenticators ──no──▶ Unauthenticated
///        │ caller (node and/or own identity)
/// CSR → CsrValidator ──bad──▶ InvalidArgument
///        │ SPIFFE id (= metadata ImpersonatedIdentity when given)
/// NodeAuthorizer(caller, id, pods) ──no──▶ PermissionDenied
///        │
/// CertificateAuthority.SignWorkload → [leaf, …, root]
/// </code>
/// Callers learn only the status code and an opaque message; the log line names caller, identity and reason, and
/// <c>ambient_ca_requests_total{result}</c> counts every outcome.
/// </summary>
public sealed class CertificateService(
    CertificateAuthority ca,
    IEnumerable<ICaCallerAuthenticator> authenticators,
    ConfigStore store,
    Model.MeshOptions mesh,
    ControlPlaneMetrics metrics,
    ILogger<CertificateService> logger) : IstioCertificateService.IstioCertificateServiceBase
{
    public const string ImpersonatedIdentityKey = "ImpersonatedIdentity";
    private const string BearerPrefix = "Bearer ";

    /// <summary>Projected tokens are ~1 KiB; refuse headers no credential needs.</summary>
    private const int MaxTokenLength = 16 * 1024;

    public override async Task<IstioCertificateResponse> CreateCertificate(IstioCertificateRequest request, ServerCallContext context)
    {
        var peer = context.Peer ?? "?";
        if (!context.GetHttpContext().Request.IsHttps)
        {
            CaLog.Unauthenticated(logger, peer, "the CA is served over TLS only");
            throw Refuse(CaResult.Unauthenticated, StatusCode.Unauthenticated, "the CA is served over TLS only");
        }
        var caller = await AuthenticateAsync(context, peer);
        if (caller is null)
            throw Refuse(CaResult.Unauthenticated, StatusCode.Unauthenticated, "authentication failed");

        var csr = CsrValidator.Validate(request.Csr, mesh.TrustDomain);
        if (!csr.IsValid)
        {
            CaLog.InvalidCsr(logger, caller.Description, peer, "?", csr.Reason);
            throw Refuse(CaResult.InvalidCsr, StatusCode.InvalidArgument, "invalid certificate signing request");
        }
        var identity = csr.Identity;
        if (ImpersonationError(request.Metadata, identity) is { } impersonation)
        {
            CaLog.InvalidCsr(logger, caller.Description, peer, identity.ToString(), impersonation);
            throw Refuse(CaResult.InvalidCsr, StatusCode.InvalidArgument, "invalid certificate signing request");
        }
        if (NodeAuthorizer.Authorize(caller, identity, store.Snapshot()) is { } denied)
        {
            CaLog.Forbidden(logger, identity.ToString(), caller.Description, peer, denied);
            throw Refuse(CaResult.Forbidden, StatusCode.PermissionDenied, "not authorized for the requested identity");
        }

        try
        {
            var ttl = ca.EffectiveTtl(request.ValidityDuration);
            var chain = ca.SignWorkload(csr.Request!.PublicKey, identity, ttl);
            var response = new IstioCertificateResponse();
            response.CertChain.AddRange(chain);
            metrics.Increment(CaResult.Metric, ControlPlaneMetrics.Label("result", CaResult.Issued));
            if (logger.IsEnabled(LogLevel.Information))
            {
                using var leaf = PemCertificates.Read(chain[0])[0];
                CaLog.Issued(logger, identity.ToString(), caller.Description, peer, ttl, leaf.SerialNumber);
            }
            return response;
        }
        catch (Exception e) when (e is not RpcException)
        {
            CaLog.Failed(logger, e, identity.ToString(), caller.Description, peer);
            throw Refuse(CaResult.Error, StatusCode.Internal, "signing failed");
        }
    }

    private async Task<CaCaller?> AuthenticateAsync(ServerCallContext context, string peer)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            CaLog.Unauthenticated(logger, peer, header is null ? "no authorization header" : "the authorization header is not a Bearer token");
            return null;
        }
        var token = header[BearerPrefix.Length..].Trim();
        if (token.Length == 0 || token.Length > MaxTokenLength)
        {
            CaLog.Unauthenticated(logger, peer, $"the bearer token is {token.Length} characters");
            return null;
        }
        foreach (var authenticator in authenticators)
        {
            try
            {
                if (await authenticator.AuthenticateAsync(token, context.CancellationToken) is { } caller)
                    return caller;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The API server being unreachable is not the caller's fault, but it is not ours to hide either.
                CaLog.Unauthenticated(logger, peer, $"{authenticator.GetType().Name} failed: {e.Message}");
            }
        }
        CaLog.Unauthenticated(logger, peer, "the bearer token matches no node credential and no Kubernetes service account");
        return null;
    }

    /// <summary>Istio's metadata key: a node proxy names the identity it requests; it must be the CSR's.</summary>
    private static string? ImpersonationError(Struct? metadata, SpiffeId identity)
    {
        if (metadata is null || !metadata.Fields.TryGetValue(ImpersonatedIdentityKey, out var value))
            return null;
        if (value.KindCase != Value.KindOneofCase.StringValue)
            return $"metadata {ImpersonatedIdentityKey} is not a string";
        if (!SpiffeId.TryParse(value.StringValue, out var impersonated))
            return $"metadata {ImpersonatedIdentityKey} '{value.StringValue}' is not a SPIFFE id";
        return impersonated == identity ? null : $"metadata {ImpersonatedIdentityKey} {impersonated} differs from the CSR's identity {identity}";
    }

    private RpcException Refuse(string result, StatusCode code, string message)
    {
        metrics.Increment(CaResult.Metric, ControlPlaneMetrics.Label("result", result));
        return new RpcException(new Status(code, message));
    }
}
