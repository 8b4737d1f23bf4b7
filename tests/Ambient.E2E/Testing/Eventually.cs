using System.Diagnostics;

namespace Ambient.E2E.Testing;

/// <summary>Bounded polling with a failure message that says what was awaited, what was last seen and the mesh's state.</summary>
public static class Eventually
{
    /// <summary>Generous: the box may be busy, and each probe spawns processes. Success usually comes in well under a second.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="probe"/> until it reports success; <c>Detail</c> is kept for the failure message.</summary>
    public static async Task UntilAsync(string what, Func<Task<(bool Ok, string Detail)>> probe, LocalMesh? mesh = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var start = Stopwatch.GetTimestamp();
        var last = "";
        while (true)
        {
            (bool ok, last) = await probe();
            if (ok)
            {
                return;
            }
            if (Stopwatch.GetElapsedTime(start) > limit)
            {
                var diag = mesh is null ? "" : "\n" + await mesh.DiagnosticsAsync();
                Assert.Fail($"timed out after {limit.TotalSeconds:0.#} s waiting for: {what}\nlast seen: {last}{diag}");
            }
            await Task.Delay(100);
        }
    }
}
