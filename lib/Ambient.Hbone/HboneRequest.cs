namespace Ambient.Hbone;

/// <summary>
/// One CONNECT: <paramref name="Authority"/> is the target <c>ip:port</c> (<c>[v6]:port</c>); <paramref name="Headers"/> are the
/// extra headers ztunnel sends (baggage, forwarded, traceparent; protocol facts §f). Names must be lowercase (RFC 9113 §8.2.1).
/// </summary>
public sealed record HboneRequest(string Authority, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public HboneRequest(string authority) : this(authority, []) { }
}
