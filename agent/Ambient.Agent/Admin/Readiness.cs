namespace Ambient.Agent.Admin;

/// <summary>
/// Readiness of <c>/healthz/ready</c>: 200 once every registered task is done (ztunnel's model). The agent
/// registers "pod re-adoption"; State/ adds "initial xDS sync" when it is wired.
/// </summary>
public sealed class Readiness
{
    private readonly object _gate = new();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);

    /// <summary>Registers a task that must finish before the agent is ready; dispose the result when it has.</summary>
    public IDisposable Register(string task)
    {
        lock (_gate)
        {
            _pending.Add(task);
        }
        return new Done(this, task);
    }

    public IReadOnlyList<string> Pending
    {
        get
        {
            lock (_gate)
            {
                return _pending.Order(StringComparer.Ordinal).ToArray();
            }
        }
    }

    public bool IsReady => Pending.Count == 0;

    private sealed class Done(Readiness owner, string task) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._pending.Remove(task);
            }
        }
    }
}
