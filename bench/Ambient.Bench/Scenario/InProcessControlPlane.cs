using System.Net;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ambient.Bench.Scenario;

/// <summary>
/// The real control plane in this process: Kestrel on 127.0.0.1:0 serving ADS over h2c (as Program.cs
/// configures it), fed directly from a <see cref="ConfigStore"/> rather than from files.
/// The publisher's background loop (debounce → PublishNow) is not started with the host: the scenario starts
/// it for the end-to-end measurement and otherwise calls <see cref="XdsPublisher.PublishNow"/> itself, so the
/// two never race on the (single-owner) snapshot builder.
/// </summary>
public sealed class InProcessControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _loopRunning;

    private InProcessControlPlane(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }
    public ConfigStore Store => _app.Services.GetRequiredService<ConfigStore>();
    public SnapshotCache Cache => _app.Services.GetRequiredService<SnapshotCache>();
    public XdsPublisher Publisher => _app.Services.GetRequiredService<XdsPublisher>();

    /// <summary>The publisher's last merge + build time (its ambient_snapshot_build_seconds gauge), in ms.</summary>
    public double LastBuildMs()
    {
        const string gauge = "ambient_snapshot_build_seconds ";
        foreach (var line in _app.Services.GetRequiredService<ControlPlaneMetrics>().Render().Split('\n'))
        {
            if (line.StartsWith(gauge, StringComparison.Ordinal))
                return double.Parse(line[gauge.Length..], System.Globalization.CultureInfo.InvariantCulture) * 1000;
        }
        return double.NaN;
    }

    public static async Task<InProcessControlPlane> StartAsync(MeshOptions mesh, TimeSpan debounceQuiet, TimeSpan debounceMax)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Only problems: a failing stream must not go unnoticed in a benchmark.
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Ambient.ControlPlane.Discovery.XdsPublisher", LogLevel.Error); // the mesh's one policy warning is intended
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
            k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            k.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        });
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024);

        var before = builder.Services.Count;
        builder.Services.AddAmbientDiscovery(mesh);
        // Take back the publisher's hosted-service registration (only the one AddAmbientDiscovery added).
        for (var i = builder.Services.Count - 1; i >= before; i--)
        {
            if (builder.Services[i].ServiceType == typeof(IHostedService))
                builder.Services.RemoveAt(i);
        }
        builder.Services.Configure<DebounceOptions>(o =>
        {
            o.Quiet = debounceQuiet;
            o.Max = debounceMax;
        });

        var app = builder.Build();
        app.MapGrpcService<AggregatedDiscoveryService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessControlPlane(app, new Uri(address));
    }

    /// <summary>Starts the debounce → publish loop, as the hosted service does in ambient-controlplane.</summary>
    public async Task StartPublisherLoopAsync()
    {
        while (Store.Changed.TryRead(out _))
        {
            // drop signals of changes already published by hand
        }
        await Publisher.StartAsync(CancellationToken.None);
        _loopRunning = true;
    }

    public async Task StopPublisherLoopAsync()
    {
        if (!_loopRunning)
            return;
        _loopRunning = false;
        await Publisher.StopAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopPublisherLoopAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
