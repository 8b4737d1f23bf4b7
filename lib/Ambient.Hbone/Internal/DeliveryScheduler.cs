using System.IO.Pipelines;

namespace Ambient.Hbone.Internal;

/// <summary>
/// Reader scheduler of every <see cref="HboneStream"/> receive pipe. A DATA frame's flush runs the waiting reader's
/// continuation inline, on the connection's reader loop, so relayed bytes reach the socket without a thread-pool hop (one
/// hop per frame, i.e. per request on a keep-alive tunnel, was a context switch per request on each agent). Every other
/// completion (END_STREAM, resets, disposal, which run under locks) goes to the thread pool as before.
/// <code>
///   reader loop ─ProcessData─▶ Deliver: write (under the stream's gate) ─▶ flush (no lock held) ─▶ reader continuation inline
///   anything else ─▶ Complete ─▶ ThreadPool
/// </code>
/// A consumer that blocks in its continuation would stall the whole connection; the relay only awaits.
/// </summary>
internal sealed class DeliveryScheduler : PipeScheduler
{
    public static readonly DeliveryScheduler Instance = new();

    [ThreadStatic]
    private static bool t_inline;

    private DeliveryScheduler()
    {
    }

    /// <summary>Flushes <paramref name="writer"/> with its reader's continuation run on this thread. Call with no lock held.</summary>
    public static ValueTask<FlushResult> FlushInline(PipeWriter writer)
    {
        t_inline = true;
        try
        {
            return writer.FlushAsync();
        }
        finally
        {
            t_inline = false;
        }
    }

    public override void Schedule(Action<object?> action, object? state)
    {
        if (!t_inline)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
            return;
        }
        // Only the one continuation this flush released runs inline; whatever it completes in turn is queued.
        t_inline = false;
        try
        {
            action(state);
        }
        finally
        {
            t_inline = true;
        }
    }
}
