namespace Ambient.Hbone.Tests;

[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationCollection;

/// <summary>The DATA path allocates (almost) nothing per frame: measured process-wide, since both loops run on pool threads.</summary>
[Collection(nameof(AllocationTests))] // alone: the count is process-wide
public class AllocationTests
{
    [Fact]
    public async Task TenMegabytes_AllocatesLessThan256KiBPerMegabyte()
    {
        var done = new TaskCompletionSource<long>();
        await using var server = new LoopbackServer(new DelegateHandler(async (req, ct) =>
        {
            await using var s = await req.AcceptAsync(ct: ct);
            var buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await s.ReadAsync(buffer, ct)) > 0)
                total += n;
            await s.CompleteWritesAsync(ct);
            done.SetResult(total);
        }));
        await using var client = new LoopbackClient(server);
        await using var stream = await client.ConnectAsync();
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < 16; i++)
            await stream.WriteAsync(chunk); // warm up pools and windows

        const int Megabytes = 10;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < Megabytes * 16; i++)
            await stream.WriteAsync(chunk);
        await stream.CompleteWritesAsync();
        Assert.Equal((Megabytes + 1) * 1024 * 1024, await done.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        long perMegabyte = (GC.GetTotalAllocatedBytes(precise: true) - before) / Megabytes;
        // Measured ~24 KiB/MB inside the full suite and ~95 KiB/MB when this test runs alone (a cold process: tier-0 code, empty
        // pools); both ends, process-wide, TLS included. It was ~570 KiB/MB while every delivered frame queued a thread-pool work
        // item and TLS records were read in 4 KiB pieces; this bound (256 KiB/MB) catches either coming back. Target: < 16 KiB/MB.
        Assert.True(perMegabyte < 256 * 1024, $"{perMegabyte} bytes allocated per MB");
    }
}
