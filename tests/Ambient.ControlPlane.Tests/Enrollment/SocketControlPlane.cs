using System.Net;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.Xds.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Tests.Enrollment;

/// <summary>
/// A real control plane in the test process serving ADS on a Unix socket only, routed exactly as the program routes
/// it (<see cref="XdsListeners"/>), over one or more watched config directories. It can be stopped and started again
/// on the same socket and directories, which is how the reconnect tests restart "the server".
/// </summary>
public sealed class SocketControlPlane : IAsyncDisposable
{
    private WebApplication _app;
    private bool _stopped;

    private SocketControlPlane(WebApplication app, string socketPath, IReadOnlyList<string> dirs)
    {
        _app = app;
        SocketPath = socketPath;
        ConfigDirs = dirs;
    }

    public string SocketPath { get; }
    public IReadOnlyList<string> ConfigDirs { get; }
    public string ConfigDir => ConfigDirs[0];
    public SnapshotCache Cache => _app.Services.GetRequiredService<SnapshotCache>();
    public ControlPlaneMetrics Metrics => _app.Services.GetRequiredService<ControlPlaneMetrics>();

    public static async Task<SocketControlPlane> StartAsync(string socketPath, params string[] dirs)
    {
        var app = await BuildAndStartAsync(socketPath, dirs);
        return new SocketControlPlane(app, socketPath, dirs);
    }

    private static async Task<WebApplication> BuildAndStartAsync(string socketPath, IReadOnlyList<string> dirs)
    {
        var options = new ControlPlaneOptions { ConfigDirs = dirs, XdsSocket = socketPath, XdsAddress = new IPEndPoint(IPAddress.Loopback, 15010) };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenXdsSocket(socketPath));
        builder.Services.AddGrpc();
        builder.Services.AddAmbientDiscovery(new MeshOptions());
        builder.Services.Configure<DebounceOptions>(o =>
        {
            o.Quiet = TimeSpan.FromMilliseconds(20);
            o.Max = TimeSpan.FromMilliseconds(100);
        });
        builder.Services.AddConfigSources(options);
        builder.Services.Configure<FileSourceOptions>(o => o.RescanInterval = TimeSpan.FromMilliseconds(100));
        var app = builder.Build();
        app.MapGrpcService<AggregatedDiscoveryService>().RequireHost(XdsListeners.XdsHosts(options));
        await app.StartAsync();
        await app.Services.GetRequiredService<SnapshotCache>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(10));
        return app;
    }

    /// <summary>A client of this control plane over its socket, with test-friendly backoff.</summary>
    public DeltaAdsClient CreateClient(string nodeId = "test~127.0.0.1~agent.ambient~ambient.svc.cluster.local", TimeSpan? maxBackoff = null) =>
        new(new DeltaAdsClientOptions
        {
            Address = "unix://" + SocketPath,
            NodeId = nodeId,
            NodeMetadata = new Dictionary<string, string> { ["NODE_NAME"] = "node-a" },
            MaxBackoff = maxBackoff ?? TimeSpan.FromMilliseconds(200),
        });

    public async Task StopAsync()
    {
        _stopped = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Starts a new server on the same socket and directories (after <see cref="StopAsync"/>).</summary>
    public async Task RestartAsync()
    {
        _app = await BuildAndStartAsync(SocketPath, ConfigDirs);
        _stopped = false;
    }

    public async Task WriteFileAndWaitAsync(string name, string yaml, int dir = 0)
    {
        var before = Cache.Current.Sequence;
        var temp = Path.Combine(ConfigDirs[dir], "." + name + ".tmp");
        await File.WriteAllTextAsync(temp, yaml);
        File.Move(temp, Path.Combine(ConfigDirs[dir], name), overwrite: true);
        await WaitForSnapshotAfterAsync(before);
    }

    public async Task DeleteFileAndWaitAsync(string name, int dir = 0)
    {
        var before = Cache.Current.Sequence;
        File.Delete(Path.Combine(ConfigDirs[dir], name));
        await WaitForSnapshotAfterAsync(before);
    }

    public async Task WaitForSnapshotAfterAsync(long sequence)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Cache.Current.Sequence <= sequence)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no snapshot after #{sequence} was published in time");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
            await StopAsync();
    }
}

/// <summary>A temporary directory removed with the test (also when it fails).</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "ambient-state-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    public string Sub(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Write(string relative, string text)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, text);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
