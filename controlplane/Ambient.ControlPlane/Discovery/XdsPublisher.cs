using System.Diagnostics;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Sources;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ambient.ControlPlane.Discovery;

public sealed class DebounceOptions
{
    /// <summary>A burst of changes is pushed once it has been quiet this long…</summary>
    public TimeSpan Quiet { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>…or once this much time has passed since its first change, whichever comes first.</summary>
    public TimeSpan Max { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Turns store changes into published snapshots: debounces bursts, waits for every source's first full
/// load (so clients never see a half-loaded mesh), builds, publishes.
/// </summary>
public sealed partial class XdsPublisher(
    ConfigStore store,
    SnapshotBuilder builder,
    SnapshotCache cache,
    ControlPlaneMetrics metrics,
    IOptions<DebounceOptions> options,
    TimeProvider time,
    ILogger<XdsPublisher> logger) : BackgroundService
{
    private readonly HashSet<string> _reportedWarnings = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = store.Changed;
        while (await reader.WaitToReadAsync(stoppingToken))
        {
            reader.TryRead(out _);
            await DebounceAsync(stoppingToken);
            if (!store.AllSourcesSynced)
                continue; // MarkSynced signals again once the last source has loaded
            PublishNow();
        }
    }

    private async Task DebounceAsync(CancellationToken ct)
    {
        var o = options.Value;
        var start = time.GetTimestamp();
        while (true)
        {
            var left = o.Max - time.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
                return;
            var wait = left < o.Quiet ? left : o.Quiet;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(wait);
            try
            {
                await store.Changed.WaitToReadAsync(cts.Token);
                store.Changed.TryRead(out _); // more changes: keep waiting for quiet
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return; // quiet for long enough
            }
        }
    }

    /// <summary>Builds and publishes a snapshot of the store as it is now.</summary>
    public void PublishNow()
    {
        var sw = Stopwatch.StartNew();
        var state = store.Snapshot();
        var snapshot = builder.Build(state);
        var built = sw.Elapsed;
        cache.Publish(snapshot);
        metrics.Set("ambient_snapshot_build_seconds", built.TotalSeconds);
        metrics.Set("ambient_snapshot_resources", snapshot.ResourceCount);
        metrics.Set("ambient_config_objects", state.ObjectCount);
        metrics.Increment("ambient_snapshots_published_total");
        var changed = snapshot.ChangesSincePrevious?.Values.Sum(c => c.Count) ?? snapshot.ResourceCount;
        LogPublished(logger, snapshot.Version, state.ObjectCount, snapshot.ResourceCount, changed, built.TotalMilliseconds);
        foreach (var w in builder.Warnings)
        {
            if (_reportedWarnings.Add(w))
                LogPolicyWarning(logger, w);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Published snapshot {Version}: {Objects} objects → {Resources} resources, {Changed} changed, built in {Millis:F1} ms")]
    private static partial void LogPublished(ILogger logger, string version, int objects, int resources, int changed, double millis);

    [LoggerMessage(2, LogLevel.Warning, "{Warning}")]
    private static partial void LogPolicyWarning(ILogger logger, string warning);
}
