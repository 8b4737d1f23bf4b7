using Ambient.ControlPlane.Hosting;

namespace Ambient.ControlPlane.Tests.Testing;

public static class ControlPlaneMetricsExtensions
{
    /// <summary>Waits until a counter reaches at least <paramref name="atLeast"/>; returns its value.</summary>
    public static async Task<long> WaitForCounterAsync(this ControlPlaneMetrics metrics, string name, string labels, long atLeast, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            var value = metrics.Get(name, labels);
            if (value >= atLeast)
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{name}{{{labels}}} stayed at {value}, expected at least {atLeast}");
            await Task.Delay(10);
        }
    }
}
