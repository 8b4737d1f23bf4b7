namespace Ambient.Agent.Proxy;

/// <summary>
/// Outcome of one proxied connection's copy. <see cref="BytesSent"/> went from the source (downstream) to the
/// destination, <see cref="BytesReceived"/> came back. <see cref="Error"/> is the first failure of either
/// direction, or null when both ended with a clean close.
/// </summary>
public readonly record struct CopyResult(long BytesSent, long BytesReceived, Exception? Error);
