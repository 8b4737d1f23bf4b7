using System.Reflection;
using Ambient.Bench.Mesh;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.Xds;
using Ambient.Xds.Protos.Discovery;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ambient.Bench.Micro;

/// <summary>
/// BenchmarkDotNet entry point. The default job is short (1 launch, 3 warm-up, 3 measured iterations) and runs
/// in process (no generated project, no second build into the shared artifacts directory), so `make bench`
/// stays within minutes. Pass BenchmarkDotNet arguments to change that, e.g. <c>--filter *Diff* --job medium</c>.
/// </summary>
public static class MicroBenchmarks
{
    public static int Run(string[] args)
    {
        var job = Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortRun-InProcess");
        var config = DefaultConfig.Instance
            .AddJob(job)
            .WithArtifactsPath(Path.Combine(AppContext.BaseDirectory, "BenchmarkDotNet.Artifacts"));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroBenchmarks).Assembly)
            .Run(args.Length == 0 ? ["--filter", "*"] : args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}

/// <summary>The reference mesh (10,000 pods) and two states of it one pod apart, built once per benchmark class.</summary>
internal sealed class MeshFixture
{
    public static readonly MeshOptions Mesh = new();

    public MeshFixture()
    {
        Objects = MeshGenerator.Generate(new MeshSpec(), Mesh);
        A = new ClusterState(Objects);
        var changed = Objects.ToList();
        var idx = changed.FindIndex(o => o is PodObject p && p.Meta.Name == MeshGenerator.PodName(50, 3, 4));
        OriginalPod = (PodObject)changed[idx];
        ChangedPod = OriginalPod with { Ready = !OriginalPod.Ready };
        changed[idx] = ChangedPod;
        B = new ClusterState(changed);
        var builder = new SnapshotBuilder(Mesh);
        SnapshotA = builder.Build(A);
        SnapshotB = builder.Build(B);
    }

    public List<KubeObject> Objects { get; }

    /// <summary>The pod that differs between A and B, as in A and as in B.</summary>
    public PodObject OriginalPod { get; }

    public PodObject ChangedPod { get; }

    /// <summary>The mesh, and the mesh with one pod's readiness flipped.</summary>
    public ClusterState A { get; }

    public ClusterState B { get; }

    /// <summary>Consecutive snapshots of A then B from one builder.</summary>
    public XdsSnapshot SnapshotA { get; }

    public XdsSnapshot SnapshotB { get; }
}

[MemoryDiagnoser]
public class SnapshotBuilderBenchmarks
{
    private MeshFixture _mesh = null!;
    private SnapshotBuilder _builder = null!;
    private ConfigStore _store = null!;
    private bool _flip;

    [GlobalSetup]
    public void Setup()
    {
        _mesh = new MeshFixture();
        _builder = new SnapshotBuilder(MeshFixture.Mesh);
        _builder.Build(_mesh.A);
        _store = new ConfigStore();
        _store.ReplaceOrigin(MeshGenerator.Origin, _mesh.Objects);
    }

    /// <summary>The hot path of every push: a warm builder, one pod changed since its last build.</summary>
    [Benchmark]
    public XdsSnapshot BuildOnePodChanged()
    {
        _flip = !_flip;
        return _builder.Build(_flip ? _mesh.B : _mesh.A);
    }

    /// <summary>A fresh builder: every resource built and serialized (control-plane start).</summary>
    [Benchmark]
    public XdsSnapshot BuildCold() => new SnapshotBuilder(MeshFixture.Mesh).Build(_mesh.A);

    /// <summary>What a pod change costs the store before the build: the update, then the merged ClusterState.</summary>
    [Benchmark]
    public ClusterState ConfigStoreUpsertAndSnapshot()
    {
        _flip = !_flip;
        _store.Upsert(MeshGenerator.Origin, _flip ? _mesh.ChangedPod : _mesh.OriginalPod);
        return _store.Snapshot();
    }
}

[MemoryDiagnoser]
public class DiffBenchmarks
{
    private MeshFixture _mesh = null!;

    [GlobalSetup]
    public void Setup() => _mesh = new MeshFixture();

    /// <summary>The change list of a snapshot one pod away from its predecessor.</summary>
    [Benchmark]
    public IReadOnlyDictionary<string, IReadOnlySet<string>> DiffOnePodChanged() => XdsSnapshot.Diff(_mesh.SnapshotA, _mesh.SnapshotB.Types);
}

/// <summary>
/// The per-stream work of a push: a Delta stream with wildcard Address + Authorization subscriptions, fully up to
/// date, handed the next snapshot. The response goes to a writer that drops it (gRPC framing is not measured).
/// DeltaStream's handlers are protected, so they are bound once through reflection.
/// </summary>
[MemoryDiagnoser]
public class DeltaStreamBenchmarks
{
    private MeshFixture _mesh = null!;
    private Func<XdsSnapshot, CancellationToken, Task> _handleSnapshot = null!;
    private IReadOnlyDictionary<string, IReadOnlySet<string>> _aToB = null!;
    private IReadOnlyDictionary<string, IReadOnlySet<string>> _bToA = null!;
    private long _sequence;
    private bool _toB;
    private readonly DroppingWriter _writer = new();

    [GlobalSetup]
    public void Setup()
    {
        _mesh = new MeshFixture();
        _aToB = XdsSnapshot.Diff(_mesh.SnapshotA, _mesh.SnapshotB.Types);
        _bToA = XdsSnapshot.Diff(_mesh.SnapshotB, _mesh.SnapshotA.Types);
        var stream = new DeltaStream(new SnapshotCache(), new ControlPlaneMetrics(), NullLogger.Instance, _writer);
        _handleSnapshot = Bind<Func<XdsSnapshot, CancellationToken, Task>>(stream, "HandleSnapshotAsync");
        var handleRequest = Bind<Func<DeltaDiscoveryRequest, CancellationToken, Task>>(stream, "HandleRequestAsync");
        handleRequest(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Address, ResourceNamesSubscribe = { "*" } }, default).GetAwaiter().GetResult();
        handleRequest(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Authorization, ResourceNamesSubscribe = { "*" } }, default).GetAwaiter().GetResult();
        // First snapshot: the stream sends everything (the initial state of a client).
        _sequence = 1;
        _handleSnapshot(new XdsSnapshot(_sequence, "1", _mesh.SnapshotA.Types, null), default).GetAwaiter().GetResult();
        if (_writer.Resources != _mesh.SnapshotA.Get(TypeUrls.Address).Items.Count + _mesh.SnapshotA.Get(TypeUrls.Authorization).Items.Count)
            throw new InvalidOperationException("the stream did not send the initial snapshot");
    }

    private static T Bind<T>(object target, string name) where T : Delegate =>
        (T)target.GetType().GetMethod(name, BindingFlags.Instance | BindingFlags.NonPublic)!.CreateDelegate(typeof(T), target);

    private XdsSnapshot Next(bool lagged)
    {
        // Alternate A → B → A …: every push really changes the one pod, so a response is built each time.
        _sequence += lagged ? 2 : 1;
        _toB = !_toB;
        return new XdsSnapshot(_sequence, "v", _toB ? _mesh.SnapshotB.Types : _mesh.SnapshotA.Types, _toB ? _aToB : _bToA);
    }

    /// <summary>An up-to-date client: only the snapshot's change list is looked at (the common case).</summary>
    [Benchmark]
    public Task OnePodChanged() => _handleSnapshot(Next(lagged: false), default);

    /// <summary>A client that missed a snapshot: every wildcard resource is compared with what it holds.</summary>
    [Benchmark]
    public Task OnePodChangedLagged() => _handleSnapshot(Next(lagged: true), default);

    private sealed class DroppingWriter : IServerStreamWriter<DeltaDiscoveryResponse>
    {
        public long Resources;

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(DeltaDiscoveryResponse message)
        {
            Resources += message.Resources.Count;
            return Task.CompletedTask;
        }

        public Task WriteAsync(DeltaDiscoveryResponse message, CancellationToken cancellationToken) => WriteAsync(message);
    }
}
