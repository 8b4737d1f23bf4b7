using Ambient.Identity;

namespace Ambient.Hbone;

/// <summary>
/// A validated inbound CONNECT (method CONNECT, an authority, no :scheme/:path). The handler answers exactly once:
/// <see cref="AcceptAsync"/> (200, then the stream carries the tunnel) or <see cref="RejectAsync"/> (an error status).
/// </summary>
public sealed class HboneInboundRequest
{
    private readonly HboneStream _stream;
    private int _responded;

    internal HboneInboundRequest(HboneStream stream, string method, string authority, IReadOnlyList<KeyValuePair<string, string>> headers, SpiffeId peerIdentity)
    {
        _stream = stream;
        Method = method;
        Authority = authority;
        Headers = headers;
        PeerIdentity = peerIdentity;
    }

    public string Method { get; }

    /// <summary>The target, <c>ip:port</c> (<c>[v6]:port</c>) from the client's <c>:authority</c>.</summary>
    public string Authority { get; }

    /// <summary>Regular headers (no pseudo-headers), in arrival order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The client's SPIFFE identity from its TLS certificate.</summary>
    public SpiffeId PeerIdentity { get; }

    internal bool Responded => Volatile.Read(ref _responded) != 0;

    internal HboneStream Stream => _stream;

    /// <summary>The first value of header <paramref name="name"/> (names compare case-insensitively), or null.</summary>
    public string? Header(string name)
    {
        foreach (var h in Headers)
        {
            if (string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
                return h.Value;
        }
        return null;
    }

    /// <summary>Sends <c>:status 200</c> (plus e.g. response baggage) and hands over the tunnel stream.</summary>
    public ValueTask<HboneStream> AcceptAsync(IReadOnlyList<KeyValuePair<string, string>>? responseHeaders = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        MarkResponded();
        _stream.StatusCode = 200;
        _stream.Connection.SendResponse(_stream, 200, responseHeaders, endStream: false);
        return ValueTask.FromResult(_stream);
    }

    /// <summary>Sends <c>:status <paramref name="status"/></c> with END_STREAM (ztunnel: 400, 401, 503) and ends the stream.</summary>
    public ValueTask RejectAsync(int status, CancellationToken ct = default)
    {
        if (status is < 200 or > 999 || status == 200)
            throw new ArgumentOutOfRangeException(nameof(status), status, "a rejection needs a final non-200 status");
        ct.ThrowIfCancellationRequested();
        MarkResponded();
        _stream.StatusCode = status;
        _stream.Connection.RejectStream(_stream, status);
        return ValueTask.CompletedTask;
    }

    private void MarkResponded()
    {
        if (Interlocked.Exchange(ref _responded, 1) != 0)
            throw new InvalidOperationException("this HBONE request was already answered");
    }
}
