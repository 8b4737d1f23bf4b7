using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Identity;

/// <summary>Identity events (700-719). CA refusals are warnings: the agent keeps what it has and retries.</summary>
internal static partial class IdentityLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "No CA configured (--ca-address / --ca-socket): workload identities are DISABLED and the agent proxies plaintext only; HBONE (mTLS) cannot work")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Workload certificates from the CA at {Target} for node {Node} (trust domain {TrustDomain}, ttl {Ttl}); roots from {RootCert}")]
    public static partial void Enabled(ILogger logger, string target, string node, string trustDomain, TimeSpan ttl, string rootCert);

    [LoggerMessage(EventId = 702, Level = LogLevel.Information, Message = "Certificate for {Identity} issued (serial {Serial}), valid {NotBefore:o} to {NotAfter:o}, renews at {RenewAt:o}")]
    public static partial void Issued(ILogger logger, string identity, string serial, DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset renewAt);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "Certificate fetch for {Identity} failed ({Reason}): {Message}; {Next}")]
    public static partial void FetchFailed(ILogger logger, string identity, string reason, string message, string next);

    [LoggerMessage(EventId = 704, Level = LogLevel.Debug, Message = "Certificate for {Identity} forgotten: {Why}")]
    public static partial void Dropped(ILogger logger, string identity, string why);

    [LoggerMessage(EventId = 705, Level = LogLevel.Debug, Message = "Certificate fetch for {Identity} queued at {Priority}")]
    public static partial void Queued(ILogger logger, string identity, FetchPriority priority);

    [LoggerMessage(EventId = 706, Level = LogLevel.Error, Message = "Certificate fetch for {Identity} failed unexpectedly")]
    public static partial void FetchCrashed(ILogger logger, Exception e, string identity);

    [LoggerMessage(EventId = 707, Level = LogLevel.Debug, Message = "Workload {Workload} on this node has identity {Identity} outside trust domain {TrustDomain}: no certificate is requested for it")]
    public static partial void ForeignIdentity(ILogger logger, string workload, string identity, string trustDomain);

    [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Trust bundle reloaded from {Path}: {Count} roots ({Subjects})")]
    public static partial void RootChanged(ILogger logger, string path, int count, string subjects);

    [LoggerMessage(EventId = 711, Level = LogLevel.Error, Message = "--ca-root-cert '{Path}' was changed but {Error}: keeping the previous {Count} roots")]
    public static partial void RootRejected(ILogger logger, string path, string error, int count);

    [LoggerMessage(EventId = 712, Level = LogLevel.Debug, Message = "--ca-root-cert '{Path}' cannot be read right now ({Error}): keeping the current roots")]
    public static partial void RootUnreadable(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 713, Level = LogLevel.Warning, Message = "Cannot watch --ca-root-cert '{Path}' ({Error}): changes are picked up by the periodic re-read only")]
    public static partial void RootWatchUnavailable(ILogger logger, string path, string error);
}
