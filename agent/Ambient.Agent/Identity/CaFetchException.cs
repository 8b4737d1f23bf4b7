namespace Ambient.Agent.Identity;

/// <summary>A failed CreateCertificate: <see cref="Reason"/> is a <see cref="CaFetchReason"/>, the message says what to check.</summary>
public sealed class CaFetchException(string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Reason { get; } = reason;
}
