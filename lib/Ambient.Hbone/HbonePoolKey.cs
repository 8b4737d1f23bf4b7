using System.Net;
using Ambient.Identity;

namespace Ambient.Hbone;

/// <summary>
/// What makes two tunnels shareable (protocol facts §f, ztunnel pool key): source identity, the accepted destination
/// identities (sorted, comma-joined, so equal sets compare equal), the peer's socket address and the source pod IP.
/// </summary>
public readonly record struct HbonePoolKey(SpiffeId Source, string DestinationIdentities, IPEndPoint Destination, IPAddress SourceIp)
{
    /// <summary>Builds <see cref="DestinationIdentities"/> the canonical way.</summary>
    public static string JoinIdentities(IEnumerable<SpiffeId> ids) =>
        string.Join(",", ids.Select(i => i.ToString()).Distinct().Order(StringComparer.Ordinal));
}
