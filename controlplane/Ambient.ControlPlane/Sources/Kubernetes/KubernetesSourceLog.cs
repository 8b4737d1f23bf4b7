using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Sources.Kubernetes;

internal static partial class KubernetesSourceLog
{
    [LoggerMessage(40, LogLevel.Information, "Reading Kubernetes from {Server}")]
    public static partial void Connecting(ILogger logger, Uri server);

    [LoggerMessage(41, LogLevel.Information, "Listed {Resource}: {Count} objects at resourceVersion {ResourceVersion}")]
    public static partial void Listed(ILogger logger, KubernetesResource resource, int count, string resourceVersion);

    [LoggerMessage(42, LogLevel.Information, "Every Kubernetes kind has been listed; the control plane can serve")]
    public static partial void Synced(ILogger logger);

    [LoggerMessage(43, LogLevel.Error, "Rejected {Kind} {Name}, keeping its last good version if any: {Error}")]
    public static partial void Rejected(ILogger logger, string kind, string name, string error);

    [LoggerMessage(44, LogLevel.Warning, "Listing {Resource} failed, retrying in {Delay:F0} ms: {Error}")]
    public static partial void ListFailed(ILogger logger, KubernetesResource resource, double delay, string error);

    [LoggerMessage(45, LogLevel.Warning, "Watching {Resource} failed, reconnecting in {Delay:F0} ms from resourceVersion {ResourceVersion}: {Error}")]
    public static partial void WatchFailed(ILogger logger, KubernetesResource resource, double delay, string resourceVersion, string error);

    [LoggerMessage(46, LogLevel.Debug, "The server closed the watch of {Resource}; reconnecting in {Delay:F0} ms from resourceVersion {ResourceVersion}")]
    public static partial void WatchClosed(ILogger logger, KubernetesResource resource, double delay, string resourceVersion);

    [LoggerMessage(47, LogLevel.Information, "resourceVersion {ResourceVersion} of {Resource} is gone (410); relisting")]
    public static partial void Gone(ILogger logger, KubernetesResource resource, string resourceVersion);

    [LoggerMessage(48, LogLevel.Debug, "Periodic resync of {Resource}: relisting")]
    public static partial void Resync(ILogger logger, KubernetesResource resource);

    [LoggerMessage(49, LogLevel.Warning, "{Resource} is not served by the API server (is its CRD installed?); treating it as empty and checking again in {Delay:F0} ms")]
    public static partial void NotServed(ILogger logger, KubernetesResource resource, double delay);

    [LoggerMessage(50, LogLevel.Error, "Unexpected failure mirroring {Resource}; relisting in {Delay:F0} ms")]
    public static partial void Unexpected(ILogger logger, Exception exception, KubernetesResource resource, double delay);
}
