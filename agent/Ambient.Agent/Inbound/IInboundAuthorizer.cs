using System.Net;
using Ambient.Agent.InPod;
using Ambient.Identity;

namespace Ambient.Agent.Inbound;

/// <summary>
/// L4 authorization at the destination (protocol facts §f: ztunnel enforces at the receiving side). Implemented by
/// State/ over the served <c>istio.security.Authorization</c> policies; PeerAuthentication STRICT arrives as a DENY
/// policy on "no principal", so plaintext is refused by the same check. Called once per connection: from memory.
/// </summary>
public interface IInboundAuthorizer
{
    /// <summary><paramref name="principal"/> is the peer's verified identity, or null for plaintext (15006).</summary>
    InboundVerdict Check(CapturedPod pod, IPEndPoint destination, IPEndPoint? source, SpiffeId? principal);

    /// <summary>
    /// Keeps an allowed connection under watch: when policy changes and it would now be denied, <paramref name="abort"/>
    /// runs with the reason. Dispose when the connection ends.
    /// </summary>
    IDisposable Track(CapturedPod pod, IPEndPoint destination, IPEndPoint? source, SpiffeId? principal, Action<string> abort);
}

/// <summary>The outcome of one check; <see cref="Reason"/> names the deciding policy for logs and metrics.</summary>
public readonly record struct InboundVerdict(bool Allowed, string Reason, string? Policy = null)
{
    public static readonly InboundVerdict AllowedNoPolicy = new(true, "allowed: no policies");
}
