using System.Net.Security;
using Ambient.Identity;

namespace Ambient.Hbone;

/// <summary>An authenticated HBONE transport: TLS 1.3 with ALPN h2 done, and the peer's verified SPIFFE identity.</summary>
public sealed record HboneTlsSession(SslStream Stream, SpiffeId PeerIdentity);
