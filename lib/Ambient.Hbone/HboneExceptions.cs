namespace Ambient.Hbone;

/// <summary>The TLS handshake of an HBONE connection failed; the message says which check (protocol, ALPN, chain, SAN).</summary>
public sealed class HboneTlsException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>The peer answered CONNECT with a status other than 200 (ztunnel: 400 bad request, 401 RBAC deny, 503 no upstream).</summary>
public class HboneConnectException(int status) : IOException($"the HBONE peer answered CONNECT with HTTP status {status}")
{
    public int Status { get; } = status;
}

/// <summary>The HTTP/2 connection or stream failed: a protocol violation (ours to detect or the peer's GOAWAY/RST_STREAM).</summary>
public class HboneProtocolException(Http2ErrorCode errorCode, string message, Exception? inner = null) : IOException(message, inner)
{
    public Http2ErrorCode ErrorCode { get; } = errorCode;
}

/// <summary>
/// The peer did not process the stream (REFUSED_STREAM, or its id is above a GOAWAY's last stream id, RFC 9113 §8.7),
/// so opening it again, on another connection, is safe.
/// </summary>
public sealed class HboneStreamRefusedException(string message) : HboneProtocolException(Http2ErrorCode.RefusedStream, message);
