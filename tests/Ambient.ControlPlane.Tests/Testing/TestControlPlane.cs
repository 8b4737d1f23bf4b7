using System.Net;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Tests.Testing;

/// <summary>
/// A real control plane in the test process: Kestrel on an ephemeral loopback port serving ADS over h2c,
/// the file source watching a temporary directory of manifests. Clients talk to it over a real socket.
/// </summary>
public sealed class TestControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestControlPlane(WebApplication app, string dir, Uri address)
    {
        _app = app;
        ConfigDir = dir;
        Address = address;
    }

    public string ConfigDir { get; }
    public Uri Address { get; }
    public IServiceProvider Services => _app.Services;
    public SnapshotCache Cache => Services.GetRequiredService<SnapshotCache>();
    public ControlPlaneMetrics Metrics => Services.GetRequiredService<ControlPlaneMetrics>();
    public ConfigStore Store => Services.GetRequiredService<ConfigStore>();

    /// <summary>Starts with the given files (name → YAML) in a fresh temporary config directory.</summary>
    public static async Task<TestControlPlane> StartAsync(IReadOnlyDictionary<string, string>? files = null,
        MeshOptions? mesh = null, TimeSpan? debounce = null)
    {
        var dir = Directory.CreateTempSubdirectory("ambient-cp-test-").FullName;
        foreach (var (name, yaml) in files ?? new Dictionary<string, string>())
            await File.WriteAllTextAsync(Path.Combine(dir, name), yaml);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddAmbientDiscovery(mesh ?? new MeshOptions());
        builder.Services.Configure<DebounceOptions>(o =>
        {
            o.Quiet = debounce ?? TimeSpan.FromMilliseconds(20);
            o.Max = (debounce ?? TimeSpan.FromMilliseconds(20)) * 5;
        });
        builder.Services.AddFileSource(dir);
        builder.Services.Configure<FileSourceOptions>(o => o.RescanInterval = TimeSpan.FromMilliseconds(100));
        var app = builder.Build();
        app.MapGrpcService<AggregatedDiscoveryService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var cp = new TestControlPlane(app, dir, new Uri(address));
        await cp.Cache.FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(10));
        return cp;
    }

    public GrpcChannel CreateChannel() => GrpcChannel.ForAddress(Address, new GrpcChannelOptions { MaxReceiveMessageSize = null });

    /// <summary>Writes (or replaces) a manifest file and waits until a snapshot built after the write is published.</summary>
    public async Task WriteFileAndWaitAsync(string name, string yaml, TimeSpan? timeout = null)
    {
        var before = Cache.Current.Sequence;
        await File.WriteAllTextAsync(Path.Combine(ConfigDir, name), yaml);
        await WaitForSnapshotAfterAsync(before, timeout);
    }

    public async Task DeleteFileAndWaitAsync(string name, TimeSpan? timeout = null)
    {
        var before = Cache.Current.Sequence;
        File.Delete(Path.Combine(ConfigDir, name));
        await WaitForSnapshotAfterAsync(before, timeout);
    }

    public async Task WaitForSnapshotAfterAsync(long sequence, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (Cache.Current.Sequence <= sequence)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no snapshot after #{sequence} was published in time");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(ConfigDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
