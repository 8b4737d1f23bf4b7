namespace Ambient.Identity;

/// <summary>Why a CSR was refused; <see cref="CsrValidator"/> pairs each with a message saying what to check.</summary>
public enum CsrError
{
    None,
    Malformed,
    BadSignature,
    UnsupportedKey,
    SanCount,
    NotSpiffe,
    WrongTrustDomain,
}
