using System.Diagnostics;

namespace Ambient.ControlPlane.Tests.Kubernetes;

/// <summary>Bounded polling: conditions that become true asynchronously, with a clear failure when they do not.</summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var start = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(start) > limit)
                Assert.Fail($"timed out after {limit.TotalSeconds:F1} s waiting for: {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>Asserts the condition stays false for a while (for "this must not happen" checks).</summary>
    public static async Task NeverAsync(Func<bool> condition, string what, TimeSpan period)
    {
        var start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(start) < period)
        {
            Assert.False(condition(), $"unexpectedly: {what}");
            await Task.Delay(10);
        }
    }
}
