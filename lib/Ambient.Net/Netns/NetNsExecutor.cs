using System.Collections.Concurrent;
using System.Net.Sockets;
using Tmds.Linux;

namespace Ambient.Net.Netns;

/// <summary>
/// Runs short synchronous work inside a pod's network namespace on one dedicated thread.
/// <para>
/// <c>setns(CLONE_NEWNET)</c> changes the namespace of the calling thread only, and a socket belongs to
/// the namespace it was created in for its whole life. So the agent creates pod sockets here and then uses
/// them from any thread (bind, listen, connect and I/O all work from the thread pool). Thread-pool threads
/// never change namespace: a continuation that ran in the wrong one would silently open sockets in a pod.
/// </para>
/// <code>
///   caller ──work──▶ [queue] ──▶ executor thread: setns(pod) → work() → setns(home) ──▶ result (async continuation)
/// </code>
/// If returning to the home namespace ever fails, the thread is unusable: the executor faults every queued
/// and later item instead of running work in an unknown namespace.
/// </summary>
public sealed class NetNsExecutor : IDisposable
{
    private readonly BlockingCollection<WorkItem> _queue = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NetNs? _home;
    private volatile string? _fault;

    public NetNsExecutor(string name = "netns-executor")
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
        _started.Task.GetAwaiter().GetResult();
    }

    /// <summary>Inode of the namespace the executor returns to between work items (the agent's own).</summary>
    public ulong HomeInode => _home?.Inode ?? 0;

    /// <summary>Runs <paramref name="work"/> inside <paramref name="netns"/>; null runs it in the home namespace.</summary>
    public Task<T> RunAsync<T>(NetNs? netns, Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new WorkItem<T>(netns, work);
        if (_fault is { } fault)
        {
            return Task.FromException<T>(new InvalidOperationException(fault));
        }
        try
        {
            _queue.Add(item);
        }
        catch (InvalidOperationException)
        {
            return Task.FromException<T>(new ObjectDisposedException(nameof(NetNsExecutor)));
        }
        return item.Completion.Task;
    }

    /// <summary>Creates a socket that belongs to <paramref name="netns"/>.</summary>
    public Task<Socket> CreateSocketAsync(NetNs netns, AddressFamily family, SocketType type = SocketType.Stream, ProtocolType protocol = ProtocolType.Tcp)
        => RunAsync(netns, () => new Socket(family, type, protocol));

    public void Dispose()
    {
        _queue.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }
        _home?.Dispose();
    }

    private void Run()
    {
        try
        {
            _home = NetNs.OpenCurrentThread();
            _started.SetResult();
        }
        catch (Exception e)
        {
            _started.SetException(e);
            return;
        }

        foreach (var item in _queue.GetConsumingEnumerable())
        {
            if (_fault is { } fault)
            {
                item.Fail(new InvalidOperationException(fault));
                continue;
            }
            if (item.Netns is not { } target)
            {
                item.Execute();
                continue;
            }
            if (LibC.setns((int)target.Handle.DangerousGetHandle(), LibC.CLONE_NEWNET) != 0)
            {
                item.Fail(new IOException($"setns into network namespace {target} failed: {Errno.Describe(LibC.errno)}"));
                continue;
            }
            try
            {
                item.Execute();
            }
            finally
            {
                if (LibC.setns((int)_home.Handle.DangerousGetHandle(), LibC.CLONE_NEWNET) != 0)
                {
                    _fault = $"netns executor could not return to its home namespace ({Errno.Describe(LibC.errno)}); it refuses further work";
                }
            }
        }
    }

    private abstract class WorkItem(NetNs? netns)
    {
        public NetNs? Netns { get; } = netns;

        public abstract void Execute();

        public abstract void Fail(Exception e);
    }

    private sealed class WorkItem<T>(NetNs? netns, Func<T> work) : WorkItem(netns)
    {
        // Continuations must never run on the executor thread: it may be inside a pod's namespace.
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Execute()
        {
            try
            {
                Completion.SetResult(work());
            }
            catch (Exception e)
            {
                Completion.SetException(e);
            }
        }

        public override void Fail(Exception e) => Completion.SetException(e);
    }
}
