using System.Security.Cryptography.X509Certificates;

namespace Ambient.Identity;

/// <summary>The outcome of <see cref="CsrValidator.Validate"/>: the request and its identity, or an error and why.</summary>
public sealed record CsrValidation(CsrError Error, string Reason, CertificateRequest? Request, SpiffeId Identity)
{
    public bool IsValid => Error == CsrError.None;

    internal static CsrValidation Fail(CsrError error, string reason) => new(error, reason, null, default);
}
