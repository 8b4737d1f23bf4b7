using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Ambient.Bench.Mesh;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.Xds;

namespace Ambient.Bench.Scenario;

public sealed record ScenarioOptions
{
    public MeshSpec Mesh { get; init; } = new();
    public int Clients { get; init; } = 100;
    public int Iterations { get; init; } = 20;
    public int Warmup { get; init; } = 5;
    public int ColdBuilds { get; init; } = 5;
    public int WarmRebuilds { get; init; } = 20;
    public int DebounceQuietMs { get; init; } = 5;
    public int DebounceMaxMs { get; init; } = 50;
    public bool Child { get; init; } = true;
    public string? ServerPath { get; init; }

    public static ScenarioOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ScenarioOptions();
        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--namespaces" => o with { Mesh = o.Mesh with { Namespaces = Int() } },
                "--pods-per-namespace" => o with { Mesh = o.Mesh with { PodsPerNamespace = Int() } },
                "--services-per-namespace" => o with { Mesh = o.Mesh with { ServicesPerNamespace = Int() } },
                "--clients" => o with { Clients = Int() },
                "--iterations" => o with { Iterations = Int() },
                "--warmup" => o with { Warmup = Int() },
                "--cold-builds" => o with { ColdBuilds = Int() },
                "--warm-rebuilds" => o with { WarmRebuilds = Int() },
                "--debounce-ms" => o with { DebounceQuietMs = Int() },
                "--debounce-max-ms" => o with { DebounceMaxMs = Int() },
                "--no-child" => o with { Child = false },
                "--server" => o with { ServerPath = Next() },
                var other => throw new ArgumentException($"unknown option {other}"),
            };
        }
        if (o.DebounceMaxMs < o.DebounceQuietMs)
            o = o with { DebounceMaxMs = o.DebounceQuietMs };
        return o;
    }

    public const string Usage = """
        controlplane [--namespaces 100] [--pods-per-namespace 100] [--services-per-namespace 10] [--clients 100]
                     [--iterations 20] [--warmup 5] [--cold-builds 5] [--warm-rebuilds 20]
                     [--debounce-ms 5] [--debounce-max-ms 50] [--no-child] [--server PATH]
        """;
}

/// <summary>
/// The control-plane scenario: (a) snapshot build times, (b) latency of one pod change to N delta ADS clients,
/// (c) resident memory with the snapshot loaded and the clients connected. Prints a table with targets.
/// </summary>
public static class ControlPlaneScenario
{
    private const double BuildTargetMs = 1000;
    private const double PushTargetMs = 50;
    private const double RssTargetMiB = 500;

    public static async Task<int> RunAsync(ScenarioOptions o)
    {
        var mesh = new MeshOptions();
        var spec = o.Mesh;
        Console.WriteLine($"Ambient control-plane benchmark: {spec}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC"
            + $" ({GCSettings.LatencyMode}), {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; load average {LoadAverage()}");
        Console.WriteLine();

        var sw = Stopwatch.StartNew();
        var objects = MeshGenerator.Generate(spec, mesh);
        Console.WriteLine($"generated {objects.Count:N0} objects in {sw.Elapsed.TotalMilliseconds:F0} ms");
        ProcMemory.FullGc();
        var rssObjects = ProcMemory.Read().RssMiB;

        // (a) ------------------------------------------------------------------------------------------
        Console.WriteLine("(a) snapshot builds …");
        var builds = MeasureBuilds(objects, mesh, o);
        ProcMemory.FullGc();

        // (b) ------------------------------------------------------------------------------------------
        Console.WriteLine($"(b, c1) in-process server: memory with {o.Clients} delta clients in another process, then latency with {o.Clients} in this one …");
        var push = await MeasurePushAsync(objects, mesh, o);

        // (c) ------------------------------------------------------------------------------------------
        ChildResult? child = null;
        string? childError = null;
        if (o.Child)
        {
            Console.WriteLine($"(c2) ambient-controlplane as a child process, --config-dir of generated YAML, {o.Clients} delta clients …");
            try
            {
                child = await MeasureChildAsync(push.FinalObjects, push.ExpectedVersions, o);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or FileNotFoundException or System.ComponentModel.Win32Exception)
            {
                childError = e.Message;
                Console.WriteLine($"    child measurement failed: {e.Message}");
            }
        }

        // Report --------------------------------------------------------------------------------------
        Console.WriteLine();
        var t = new TextTable("#", "measurement", "n", "median", "p90", "max", "target", "result");
        string Ms(double v) => double.IsNaN(v) ? "—" : v >= 100 ? $"{v:F0} ms" : $"{v:F1} ms";
        string Verdict(bool ok) => ok ? "PASS" : "MISS";
        var all = true;
        void Row(string id, Samples s, string what, double? targetMs = null, Func<Samples, double>? judged = null, string judgedName = "")
        {
            string target = "", result = "";
            if (targetMs is { } tm)
            {
                var v = (judged ?? (x => x.Median))(s);
                var ok = v <= tm;
                all &= ok;
                target = $"≤ {tm:F0} ms ({judgedName})";
                result = Verdict(ok);
            }
            t.Row(id, what, s.Count.ToString(CultureInfo.InvariantCulture), Ms(s.Median), Ms(s.P90), Ms(s.Max), target, result);
        }

        Row("a1", builds.Cold, "full snapshot build: fresh SnapshotBuilder, every resource built (JIT warm)", BuildTargetMs, s => s.Median, "median");
        Row("a2", builds.First, "  … the first build in a fresh process (includes JIT compilation)");
        Row("a3", builds.Warm, $"snapshot rebuild, one pod changed ({builds.ChangedPerRebuild} resources changed; after {WarmupRebuilds} warm-up rebuilds)");
        Row("a4", builds.StoreSnapshot, $"ConfigStore: Upsert one pod, then Snapshot() of {objects.Count:N0} objects");
        Row("b1", push.EndToEnd, $"pod change → all {o.Clients} clients, end to end (store.Upsert; debounce quiet {o.DebounceQuietMs} ms)", PushTargetMs, s => s.P90, "p90");
        Row("b2", push.FromPublish, $"pod change → all {o.Clients} clients, from PublishNow (no debounce)", PushTargetMs, s => s.P90, "p90");
        Row("b3", push.FromPublishFirst, "  … from PublishNow to the first client");
        Row("b4", push.PublishCall, "  … PublishNow itself (merge + build + diff + notify streams)");
        Row("b4'", push.PublishBuild, "  … of which merge + build (the server's ambient_snapshot_build_seconds)");
        Row("b5", push.InitialFanout, $"initial snapshot ({push.Resources:N0} resources) to {o.Clients} new clients");

        var mem = new TextTable("#", "resident memory (VmRSS)", "RSS", "peak (VmHWM)", "managed heap", "target", "result");
        var memTarget = $"≤ {RssTargetMiB:F0} MiB";
        var w = push.WithClients;
        var memOk = w.RssMiB <= RssTargetMiB;
        all &= memOk;
        mem.Row("c1", $"server in this process, snapshot loaded, {o.Clients} clients connected from another process; after full GC",
            Mib(w.RssMiB), Mib(w.PeakMiB), Mib(w.ManagedMiB), memTarget, Verdict(memOk));
        if (child is { } c)
        {
            mem.Row("c2", $"ambient-controlplane child (--config-dir), {o.Clients} clients connected; no forced GC",
                Mib(c.RssMiB), Mib(c.PeakMiB), "", memTarget, c.RssMiB <= RssTargetMiB ? "(PASS)" : "(MISS)");
        }
        mem.Row("c3", "server in this process, snapshot loaded, no clients; after full GC", Mib(push.RssServerOnlyMiB), "", "", "", "(info)");
        mem.Row("c4", "generated objects only (this process's baseline); after full GC", Mib(rssObjects), "", "", "", "(info)");

        Console.WriteLine(t.ToString());
        Console.WriteLine(mem.ToString());
        Console.WriteLine($"c1 managed heap by generation (MiB): {string.Join(", ", w.GenerationMiB.Select((g, i) => $"{(i < 3 ? $"gen{i}" : i == 3 ? "LOH" : "POH")} {g:F0}"))};"
            + $" peak is VmHWM from the clients' connect to their initial sync ({push.SwarmFanoutMs:F0} ms).");
        if (child is { } cc)
        {
            Console.WriteLine($"child: {cc.Command}");
            Console.WriteLine($"child: ready {cc.ReadyMs:F0} ms after start (YAML parse + cold build); initial snapshot to {o.Clients} clients in {cc.InitialFanoutMs:F0} ms;"
                + $" serves {cc.ComparedResources:N0} resources, {(cc.Mismatches == 0 ? "identical to the in-process snapshot" : $"{cc.Mismatches} DIFFER from the in-process snapshot")}");
        }
        else if (childError is not null)
        {
            Console.WriteLine($"child measurement (c2) failed: {childError}");
        }
        Console.WriteLine($"""

            Notes (bench/README.md has more):
            - a: one thread, no server. a1 (judged) builds every resource with a fresh SnapshotBuilder once the code is JIT-compiled;
              a2 is the same build as the first thing a process does (a control plane's start). a3 runs after {WarmupRebuilds} warm-up rebuilds.
            - b: the real server (Kestrel, h2c on 127.0.0.1) and {o.Clients} Grpc.Net.Client Delta ADS clients (wildcard Address + Authorization,
              ACKing every response) in this process, all sharing {Environment.ProcessorCount} cores. Each change flips one pod's readiness (a
              different pod each time); {o.Warmup} warm-up changes, then {o.Iterations}; "p90" is nearest-rank. b1 starts before ConfigStore.Upsert
              and includes the publisher's debounce (quiet {o.DebounceQuietMs} ms, max {o.DebounceMaxMs} ms; production default 100 ms / 1 s);
              b2 starts just before XdsPublisher.PublishNow. Both end when the last client has read the response carrying the changed workload.
            - c1 (judged): this process after a full GC, the {o.Clients} clients connected from a separate process (`Ambient.Bench clients`), so
              that only the server is measured (plus the generated objects, which are the store's objects too). c2: the real binary serving
              the same mesh from YAML, as the OS sees it (no forced GC is possible from outside); shown for reference.
            """);
        Console.WriteLine($"load average at the end: {LoadAverage()} (on {Environment.ProcessorCount} cores: above that, figures are inflated by other work)");
        Console.WriteLine(all ? "ALL TARGETS MET" : "SOME TARGETS MISSED");
        return 0;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string Mib(double v) => double.IsNaN(v) ? "—" : $"{v:F0} MiB";

    private const int WarmupRebuilds = 60;

    private sealed record BuildResult(Samples First, Samples Cold, Samples Warm, Samples StoreSnapshot, int ChangedPerRebuild);

    private static BuildResult MeasureBuilds(List<KubeObject> objects, MeshOptions mesh, ScenarioOptions o)
    {
        var state = new ClusterState(objects);
        XdsSnapshot snapshot;

        // The first build in a process: every resource built, and every code path JIT-compiled on the way.
        var first = new Samples("first");
        var t0 = Stopwatch.GetTimestamp();
        var builder = new SnapshotBuilder(mesh);
        snapshot = builder.Build(state);
        first.AddTicks(Stopwatch.GetTimestamp() - t0);
        Console.WriteLine($"    first cold build in this process: {first.Values[0]:F0} ms, {snapshot.ResourceCount:N0} resources");

        // Warm: the same builder, each state one pod (a different one each time) away from the last. The first
        // rebuilds only warm up (tiered JIT), as a control plane's first minutes of pushes do.
        var list = objects.ToList();
        var podIndexes = Enumerable.Range(0, list.Count).Where(i => list[i] is PodObject).ToArray();
        var warm = new Samples("warm");
        var changed = 0;
        for (var i = 0; i < WarmupRebuilds + o.WarmRebuilds; i++)
        {
            var idx = podIndexes[(int)((long)i * 7919 % podIndexes.Length)];
            var pod = (PodObject)list[idx];
            list[idx] = pod with { Ready = !pod.Ready };
            var next = new ClusterState(list);
            t0 = Stopwatch.GetTimestamp();
            snapshot = builder.Build(next);
            var elapsed = Stopwatch.GetTimestamp() - t0;
            if (i >= WarmupRebuilds)
                warm.AddTicks(elapsed);
            else if (i == WarmupRebuilds - 1)
                Thread.Sleep(500); // let the tiered JIT's background compilations land
            changed = snapshot.ChangesSincePrevious?.Values.Sum(c => c.Count) ?? -1;
        }

        // Cold again, now that the code is compiled: what a full rebuild costs a running control plane.
        var cold = new Samples("cold");
        state = new ClusterState(list);
        for (var i = 0; i < Math.Max(1, o.ColdBuilds); i++)
        {
            ProcMemory.FullGc(); // the previous builder's caches are garbage now; do not bill this build for them
            t0 = Stopwatch.GetTimestamp();
            new SnapshotBuilder(mesh).Build(state);
            cold.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        Console.WriteLine($"    cold builds after warm-up: {string.Join(", ", cold.Values.Select(v => $"{v:F0}"))} ms; warm one-pod rebuild median {warm.Median:F1} ms");

        // What PublishNow starts with: one pod updated in the store, then the merged view of every origin.
        var store = new ConfigStore();
        store.ReplaceOrigin(MeshGenerator.Origin, list);
        var merge = new Samples("store");
        for (var i = 0; i < o.WarmRebuilds + 2; i++)
        {
            var idx = podIndexes[(int)((long)i * 7919 % podIndexes.Length)];
            var pod = (PodObject)list[idx];
            list[idx] = pod with { Ready = !pod.Ready };
            t0 = Stopwatch.GetTimestamp();
            store.Upsert(MeshGenerator.Origin, list[idx]);
            _ = store.Snapshot();
            if (i >= 2)
                merge.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        return new BuildResult(first, cold, warm, merge, changed);
    }

    private sealed record PushResult(
        Samples EndToEnd, Samples FromPublish, Samples FromPublishFirst, Samples PublishCall, Samples PublishBuild, Samples InitialFanout, int Resources,
        double RssServerOnlyMiB, MemoryFigures WithClients, double SwarmFanoutMs,
        Dictionary<string, Dictionary<string, string>> ExpectedVersions, List<KubeObject> FinalObjects);

    private static async Task<PushResult> MeasurePushAsync(List<KubeObject> objects, MeshOptions mesh, ScenarioOptions o)
    {
        await using var cp = await InProcessControlPlane.StartAsync(mesh, TimeSpan.FromMilliseconds(o.DebounceQuietMs), TimeSpan.FromMilliseconds(o.DebounceMaxMs));
        var list = objects.ToList();
        cp.Store.ReplaceOrigin(MeshGenerator.Origin, list);
        var t0 = Stopwatch.GetTimestamp();
        cp.Publisher.PublishNow();
        Console.WriteLine($"    initial PublishNow (cold build inside the server): {Samples.Ms(Stopwatch.GetTimestamp() - t0):F0} ms");
        ProcMemory.FullGc();
        var rssServer = ProcMemory.Read().RssMiB;

        // (c) The server's memory with N clients connected, the clients in a process of their own.
        MemoryFigures.ResetPeak();
        t0 = Stopwatch.GetTimestamp();
        var swarm = await ClientSwarm.StartAsync(cp.Address, o.Clients, TimeSpan.FromMinutes(5));
        var swarmFanoutMs = Samples.Ms(Stopwatch.GetTimestamp() - t0);
        MemoryFigures withClients;
        try
        {
            await Task.Delay(2000); // ACKs in, write buffers back in their pools
            withClients = MemoryFigures.AfterFullGc();
            Console.WriteLine($"    {o.Clients} out-of-process clients synced in {swarmFanoutMs:F0} ms; server process after full GC: {withClients}");
        }
        finally
        {
            await ClientSwarm.StopAsync(swarm);
        }
        while (cp.Cache.SubscriberCount > 0)
            await Task.Delay(50);
        if (Environment.GetEnvironmentVariable("BENCH_DIAG") == "1")
        {
            for (var k = 0; k < 3; k++)
            {
                Console.WriteLine($"    DIAG after the clients left +{k * 6}s: {MemoryFigures.AfterFullGc()}");
                await Task.Delay(6000);
            }
        }

        var board = new ProbeBoard();
        var fanout = new Samples("initial");
        var clients = new List<DeltaClient>();
        try
        {
            t0 = Stopwatch.GetTimestamp();
            clients.AddRange(await Task.WhenAll(Enumerable.Range(0, o.Clients).Select(i => DeltaClient.ConnectAsync(i, cp.Address, board))));
            await Task.WhenAll(clients.Select(c => c.Initial)).WaitAsync(TimeSpan.FromMinutes(5));
            fanout.AddTicks(Stopwatch.GetTimestamp() - t0);
            var addresses = cp.Cache.Current.Get(TypeUrls.Address).Items.Count;
            var authz = cp.Cache.Current.Get(TypeUrls.Authorization).Items.Count;
            if (clients.Any(c => c.InitialAddresses != addresses || c.InitialAuthorizations != authz))
                throw new InvalidOperationException($"a client's initial snapshot is incomplete (expected {addresses} addresses, {authz} authorizations)");
            Console.WriteLine($"    {o.Clients} clients hold the initial snapshot ({addresses:N0} addresses, {authz} authorizations) after {fanout.Values[0]:F0} ms");

            var podIndexes = Enumerable.Range(0, list.Count).Where(i => list[i] is PodObject).ToArray();
            var change = 0;
            // The clients' copies of the initial snapshot (~1 GB parsed here, in this process, unlike a real
            // deployment's) are garbage now: collect it before measuring, not during.
            ProcMemory.FullGc();
            await Task.Delay(500);

            // One pod change, watched by every client. Returns (first, last) arrival relative to t0, and t0.
            async Task<(long T0, long First, long Last, long PublishReturned)> ChangeOnceAsync(bool direct)
            {
                var idx = podIndexes[(int)((long)change++ * 7919 % podIndexes.Length)];
                var pod = (PodObject)list[idx];
                var uid = WorkloadBuilder.Uid(mesh, pod);
                var oldVersion = cp.Cache.Current.Get(TypeUrls.Address).Items[uid].Version;
                var modified = pod with { Ready = !pod.Ready };
                list[idx] = modified;
                var probe = new ChangeProbe(uid, oldVersion, clients.Count);
                board.Current = probe;
                long start, published = 0;
                if (direct)
                {
                    cp.Store.Upsert(MeshGenerator.Origin, modified);
                    start = Stopwatch.GetTimestamp();
                    cp.Publisher.PublishNow();
                    published = Stopwatch.GetTimestamp();
                }
                else
                {
                    start = Stopwatch.GetTimestamp();
                    cp.Store.Upsert(MeshGenerator.Origin, modified);
                }
                try
                {
                    await probe.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (TimeoutException)
                {
                    throw new TimeoutException($"only {probe.Arrivals.Count(a => a != 0)} of {clients.Count} clients saw the change to {uid} within 30 s");
                }
                board.Current = null;
                await Task.Delay(30); // let the ACKs drain so changes do not overlap
                return (start, probe.Arrivals.Min(), probe.Arrivals.Max(), published);
            }

            var fromPublish = new Samples("publish");
            var fromPublishFirst = new Samples("publish-first");
            var publishCall = new Samples("publish-call");
            var publishBuild = new Samples("publish-build");
            var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            for (var i = 0; i < o.Warmup + o.Iterations; i++)
            {
                var (s, first, last, pub) = await ChangeOnceAsync(direct: true);
                if (i < o.Warmup)
                    continue;
                fromPublish.AddTicks(last - s);
                fromPublishFirst.AddTicks(first - s);
                publishCall.AddTicks(pub - s);
                publishBuild.Add(cp.LastBuildMs());
            }
            Console.WriteLine($"    from PublishNow: median {fromPublish.Median:F1} ms, p90 {fromPublish.P90:F1} ms, max {fromPublish.Max:F1} ms"
                + $" (GCs meanwhile: gen0 {GC.CollectionCount(0) - gcBefore.Item1}, gen1 {GC.CollectionCount(1) - gcBefore.Item2}, gen2 {GC.CollectionCount(2) - gcBefore.Item3})");

            var endToEnd = new Samples("e2e");
            await cp.StartPublisherLoopAsync();
            for (var i = 0; i < o.Warmup + o.Iterations; i++)
            {
                var (s, _, last, _) = await ChangeOnceAsync(direct: false);
                if (i >= o.Warmup)
                    endToEnd.AddTicks(last - s);
            }
            await cp.StopPublisherLoopAsync();
            Console.WriteLine($"    end to end:      median {endToEnd.Median:F1} ms, p90 {endToEnd.P90:F1} ms, max {endToEnd.Max:F1} ms");

            var expected = cp.Cache.Current.Types.ToDictionary(
                t => t.Key, t => t.Value.Items.ToDictionary(kv => kv.Key, kv => kv.Value.Version, StringComparer.Ordinal), StringComparer.Ordinal);
            return new PushResult(endToEnd, fromPublish, fromPublishFirst, publishCall, publishBuild, fanout, cp.Cache.Current.ResourceCount,
                rssServer, withClients, swarmFanoutMs, expected, list);
        }
        finally
        {
            board.Current = null;
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    private sealed record ChildResult(string Command, double ReadyMs, double InitialFanoutMs, double RssMiB, double PeakMiB, int ComparedResources, int Mismatches);

    private static async Task<ChildResult> MeasureChildAsync(List<KubeObject> objects, Dictionary<string, Dictionary<string, string>> expected, ScenarioOptions o)
    {
        var dir = Directory.CreateTempSubdirectory("ambient-bench-manifests-").FullName;
        try
        {
            MeshGenerator.WriteManifests(objects, dir);
            var t0 = Stopwatch.GetTimestamp();
            await using var child = await ChildControlPlane.StartAsync(o.ServerPath, dir, o.DebounceQuietMs, TimeSpan.FromMinutes(3));
            var readyMs = Samples.Ms(Stopwatch.GetTimestamp() - t0);

            // The child must serve exactly the mesh measured in-process (versions are content hashes).
            var served = await child.SnapshotVersionsAsync();
            var compared = 0;
            var mismatches = 0;
            foreach (var type in expected.Keys.Union(served.Keys))
            {
                var e = expected.GetValueOrDefault(type) ?? [];
                var s = served.GetValueOrDefault(type) ?? [];
                foreach (var name in e.Keys.Union(s.Keys))
                {
                    compared++;
                    if (!e.TryGetValue(name, out var ev) || !s.TryGetValue(name, out var sv) || ev != sv)
                        mismatches++;
                }
            }

            var board = new ProbeBoard();
            var clients = new List<DeltaClient>();
            try
            {
                t0 = Stopwatch.GetTimestamp();
                clients.AddRange(await Task.WhenAll(Enumerable.Range(0, o.Clients).Select(i => DeltaClient.ConnectAsync(i, child.XdsAddress, board))));
                await Task.WhenAll(clients.Select(c => c.Initial)).WaitAsync(TimeSpan.FromMinutes(5));
                var fanoutMs = Samples.Ms(Stopwatch.GetTimestamp() - t0);
                // Let the server settle (ACKs, write buffers returned to the pool) before reading its memory.
                await Task.Delay(3000);
                var (rss, peak) = ProcMemory.Read(child.Pid.ToString(CultureInfo.InvariantCulture));
                return new ChildResult(child.Command, readyMs, fanoutMs, rss, peak, compared, mismatches);
            }
            finally
            {
                await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
