namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>
/// Exponential reconnect delays with jitter: each consecutive failure doubles the ceiling (up to a maximum),
/// and the delay is drawn from its upper half, so many clients never retry in step yet never hot-loop.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    private int _failures;

    public int Failures => _failures;

    public TimeSpan Next()
    {
        var ceiling = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Min(_failures, 40)));
        _failures++;
        return TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
    }

    public void Reset() => _failures = 0;
}
