using Ambient.Identity;

namespace Ambient.Agent.Identity;

/// <summary>No valid certificate of <see cref="Identity"/> is held and the CA did not provide one.</summary>
public sealed class IdentityUnavailableException : Exception
{
    public IdentityUnavailableException(SpiffeId identity, string reason, string message, Exception? inner = null)
        : base(message, inner)
    {
        Identity = identity;
        Reason = reason;
    }

    public SpiffeId Identity { get; }

    /// <summary>A <see cref="CaFetchReason"/> value, or <see cref="CaFetchReason.Disabled"/>.</summary>
    public string Reason { get; }
}
