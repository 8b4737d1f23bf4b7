using System.Diagnostics;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Xunit.Abstractions;
using WorkloadAddress = Ambient.Xds.Protos.Workload.Address;

namespace Ambient.ControlPlane.Tests.Discovery;

/// <summary>
/// A client that stops reading must cost the server one pending write and a "dirty" flag, not a queue of
/// pushes: when it resumes it gets a few responses that jump straight to the latest state, and other clients
/// are served normally meanwhile.
/// </summary>
public sealed class AdsSlowClientTests(ITestOutputHelper output)
{
    private const int Pods = 400;
    private const int Changes = 50;

    /// <summary>The store origin the fleet is published under, beside the file source's "file:…" origins.</summary>
    private const string FleetOrigin = "test:fleet";

    /// <summary>
    /// Publishes generation <paramref name="generation"/> of the fleet straight into the store (parsing 400 pods of
    /// YAML 50 times would dominate the test) and waits until the publisher has served it. Every generation rewrites
    /// every pod's canonical revision, so each push is ~100 KB, well past HTTP/2's initial 64 KB window. The
    /// background publisher builds the snapshot: calling PublishNow from here would race it on the single-owner builder.
    /// </summary>
    private static async Task PublishFleetAsync(TestControlPlane cp, IReadOnlyList<PodObject> fleet, int generation)
    {
        var revision = BookinfoLite.FleetRevision(generation);
        cp.Store.ReplaceOrigin(FleetOrigin, fleet.Select(p => p with { Meta = p.Meta with { Labels = p.Meta.Labels.SetItem("version", revision) } }));
        var probe = BookinfoLite.WorkloadUid(BookinfoLite.Shop, "fleet-0000");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!(cp.Cache.Current.Get(TypeUrls.Address).Items.TryGetValue(probe, out var r)
            && r.Any.Unpack<WorkloadAddress>().Workload.CanonicalRevision == revision))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"fleet generation {generation} was not published in time");
            await Task.Delay(5);
        }
    }

    private static Dictionary<string, string> ServerVersions(TestControlPlane cp) =>
        cp.Cache.Current.Get(TypeUrls.Address).Items.ToDictionary(kv => kv.Key, kv => kv.Value.Version, StringComparer.Ordinal);

    /// <summary>Reads until the client holds exactly what the server has now; returns how many responses that took.</summary>
    private static async Task<int> CatchUpAsync(DeltaAdsClient client, DeltaState state, TestControlPlane cp, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var responses = 0;
        while (!state.Versions().OrderBy(kv => kv.Key).SequenceEqual(ServerVersions(cp).OrderBy(kv => kv.Key)))
        {
            var left = timeout - sw.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"client did not reach the server's state within {timeout.TotalSeconds} s after {responses} responses");
            var r = await client.ReceiveAsync(left);
            Assert.Equal(TypeUrls.Address, r.TypeUrl);
            state.Apply(r);
            responses++;
            await client.RequestAsync(TypeUrls.Address, nonce: r.Nonce);
        }
        return responses;
    }

    [Fact]
    public async Task DeltaSlowClient_ManyChangesWhileNotReading_ReceivesFewCoalescedResponsesEndingInFinalState()
    {
        await using var cp = await TestControlPlane.StartAsync(BookinfoLite.Files());
        var parsed = ManifestParser.Parse("fleet.yaml", BookinfoLite.Fleet(Pods, generation: 0));
        Assert.Empty(parsed.Errors);
        var fleet = parsed.Objects.OfType<PodObject>().ToList();
        Assert.Equal(Pods, fleet.Count);
        await PublishFleetAsync(cp, fleet, 0);

        // Each client on its own channel, hence its own HTTP/2 connection: the slow one's windows are its own.
        await using var slow = DeltaAdsClient.Connect(cp);
        await using var fast = DeltaAdsClient.Connect(cp);
        var slowState = new DeltaState();
        var fastState = new DeltaState();
        await slow.RequestAsync(TypeUrls.Address);
        await fast.RequestAsync(TypeUrls.Address);
        await CatchUpAsync(slow, slowState, cp, TimeSpan.FromSeconds(10));
        await CatchUpAsync(fast, fastState, cp, TimeSpan.FromSeconds(10));
        Assert.Equal(Pods + 6, slowState.Resources.Count);

        slow.PauseReading();
        var receivedBefore = slow.ReceivedCount;
        var fastResponses = 0;
        var sw = Stopwatch.StartNew();
        for (var generation = 1; generation <= Changes; generation++)
        {
            await PublishFleetAsync(cp, fleet, generation);
            // The fast client keeps up while the slow one is stalled: the server is not blocked by it.
            fastResponses += await CatchUpAsync(fast, fastState, cp, TimeSpan.FromSeconds(10));
        }
        output.WriteLine($"{Changes} changes published in {sw.ElapsedMilliseconds} ms; fast client took {fastResponses} responses");

        // A client connecting now, with the slow one still stalled, is served at once.
        await using (var late = DeltaAdsClient.Connect(cp))
        {
            await late.RequestAsync(TypeUrls.Address);
            var lateState = new DeltaState();
            lateState.Apply(await late.ReceiveAsync(TimeSpan.FromSeconds(5)));
            Assert.Equal(Pods + 6, lateState.Resources.Count);
        }

        slow.ResumeReading();
        var slowResponses = await CatchUpAsync(slow, slowState, cp, TimeSpan.FromSeconds(15));
        await slow.ExpectNoResponseAsync(because: "the slow client is up to date");
        var takenWhileStalled = slow.ReceivedCount - receivedBefore;
        output.WriteLine($"slow client: {takenWhileStalled} responses for {Changes} changes");

        Assert.Equal(slowResponses, takenWhileStalled);
        // A server that queued every push would deliver all 50; one that coalesces delivers what sat in the
        // transport's buffers when the client stopped (a few ~100 KB pushes) plus one jump to the latest state.
        Assert.InRange(takenWhileStalled, 1, 10);
        var final = BookinfoLite.FleetRevision(Changes);
        Assert.All(slowState.Resources.Values.Where(r => r.Name.Contains("/fleet-", StringComparison.Ordinal)),
            r => Assert.Equal(final, r.Resource_.Unpack<WorkloadAddress>().Workload.CanonicalRevision));
        Assert.Equal(Pods + 6, slowState.Resources.Count);
    }
}
