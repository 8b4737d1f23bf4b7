using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.InPod;

/// <summary>
/// Turns <see cref="IEnrollment.Changed"/> events into live capture/uncapture, one at a time, without a restart.
/// The event handler only enqueues (it may run on the State/ thread); this loop does the netns work.
/// </summary>
public sealed partial class EnrollmentWatcher(IEnrollment enrollment, PodCaptureManager manager, ILogger<EnrollmentWatcher> logger) : BackgroundService
{
    private readonly Channel<EnrollmentChange> _changes = Channel.CreateUnbounded<EnrollmentChange>(new UnboundedChannelOptions { SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        enrollment.Changed += OnChanged;
        try
        {
            await manager.Adopted.WaitAsync(stoppingToken).ConfigureAwait(false);
            await foreach (var change in _changes.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await manager.ApplyEnrollmentAsync(change, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ChangeFailed(logger, change.PodNamespace + "/" + change.PodName, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            enrollment.Changed -= OnChanged;
        }
    }

    private void OnChanged(EnrollmentChange change) => _changes.Writer.TryWrite(change);

    [LoggerMessage(EventId = 320, Level = LogLevel.Error, Message = "Applying an enrollment change to pod {Pod} failed")]
    private static partial void ChangeFailed(ILogger logger, string pod, Exception e);
}
