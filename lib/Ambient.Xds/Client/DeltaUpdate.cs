namespace Ambient.Xds.Client;

/// <summary>One resource of a delta response, decoded.</summary>
public sealed record DeltaResource<T>(string Name, string Version, T Resource);

/// <summary>
/// What one <c>DeltaDiscoveryResponse</c> changed for one type: resources added or updated, and names removed.
/// A handler applies it as one unit, or throws to reject it (the client NACKs and the handler keeps its last good
/// state).
/// </summary>
public sealed record DeltaUpdate<T>(
    string TypeUrl,
    IReadOnlyList<DeltaResource<T>> Updated,
    IReadOnlyList<string> Removed,
    string SystemVersionInfo,
    bool FirstOnStream);

/// <summary>Thrown by a handler to reject a response with a specific reason (any other exception also rejects).</summary>
public sealed class XdsRejectedException(string message) : Exception(message);

/// <summary>Monotonic counters of one client; read them any time.</summary>
public sealed class DeltaAdsClientCounters
{
    internal long ResponsesValue;
    internal long AcksValue;
    internal long NacksValue;
    internal long ReconnectsValue;
    internal long StreamFailuresValue;

    /// <summary>Responses taken off the wire.</summary>
    public long Responses => Interlocked.Read(ref ResponsesValue);

    public long Acks => Interlocked.Read(ref AcksValue);

    public long Nacks => Interlocked.Read(ref NacksValue);

    /// <summary>Streams opened after the first one.</summary>
    public long Reconnects => Interlocked.Read(ref ReconnectsValue);

    /// <summary>Streams that ended with an error (or that could not be opened).</summary>
    public long StreamFailures => Interlocked.Read(ref StreamFailuresValue);
}
