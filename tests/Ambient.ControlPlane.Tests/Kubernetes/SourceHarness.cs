using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Sources.Kubernetes;
using Microsoft.Extensions.Options;

namespace Ambient.ControlPlane.Tests.Kubernetes;

/// <summary>A <see cref="KubernetesSource"/> on its own (store, metrics, captured log) reading a <see cref="FakeKubeApiServer"/>.</summary>
internal sealed class SourceHarness : IAsyncDisposable
{
    private readonly string _dir;

    private SourceHarness(FakeKubeApiServer server, string dir, KubernetesSourceOptions options)
    {
        Server = server;
        _dir = dir;
        Source = new KubernetesSource(Store, Metrics, Options.Create(options), Log);
    }

    public FakeKubeApiServer Server { get; }
    public ConfigStore Store { get; } = new();
    public ControlPlaneMetrics Metrics { get; } = new();
    public ListLogger<KubernetesSource> Log { get; } = new();
    public KubernetesSource Source { get; }
    public ClusterState State => Store.Snapshot();

    /// <summary>Starts a fake API server (seeded by <paramref name="seed"/>) and the source reading it.</summary>
    public static async Task<SourceHarness> StartAsync(Action<FakeKubeApiServer>? seed = null,
        Action<KubernetesSourceOptions>? configure = null, bool waitForSync = true)
    {
        var server = await FakeKubeApiServer.StartAsync();
        seed?.Invoke(server);
        var dir = Directory.CreateTempSubdirectory("ambient-k8s-test-").FullName;
        var options = new KubernetesSourceOptions { Kubeconfig = server.WriteKubeconfig(dir) };
        configure?.Invoke(options);
        var harness = new SourceHarness(server, dir, options);
        await harness.Source.StartAsync(CancellationToken.None);
        if (waitForSync)
            await harness.Source.Synced.WaitAsync(Eventually.DefaultTimeout);
        return harness;
    }

    public Task WaitForStateAsync(Func<ClusterState, bool> condition, string what, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => condition(Store.Snapshot()), what, timeout);

    public Task WaitForOpenWatchAsync(string path) =>
        Eventually.TrueAsync(() => Server.OpenWatches(path) == 1, $"one open watch on {path}");

    public async ValueTask DisposeAsync()
    {
        // Bounded: a source that ignores cancellation must fail its test, not hang the run.
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await Source.StopAsync(stopping.Token);
        Source.Dispose();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
