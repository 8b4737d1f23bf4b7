using System.Net;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Sources.Kubernetes;
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
/// Like <see cref="TestControlPlane"/>, but fed by the Kubernetes source: a real control plane in the test
/// process serving ADS over h2c on an ephemeral loopback port, reading the API server a kubeconfig names.
/// </summary>
public sealed class TestKubernetesControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestKubernetesControlPlane(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }
    public IServiceProvider Services => _app.Services;
    public SnapshotCache Cache => Services.GetRequiredService<SnapshotCache>();
    public ConfigStore Store => Services.GetRequiredService<ConfigStore>();
    public KubernetesSource Source => Services.GetRequiredService<KubernetesSource>();

    /// <summary>Starts and waits for the first snapshot, which is published once every kind has been listed.</summary>
    public static async Task<TestKubernetesControlPlane> StartAsync(string kubeconfig, MeshOptions? mesh = null,
        Action<KubernetesSourceOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddAmbientDiscovery(mesh ?? new MeshOptions());
        builder.Services.Configure<DebounceOptions>(o =>
        {
            o.Quiet = TimeSpan.FromMilliseconds(20);
            o.Max = TimeSpan.FromMilliseconds(100);
        });
        builder.Services.AddKubernetesSource(o =>
        {
            o.Kubeconfig = kubeconfig;
            configure?.Invoke(o);
        });
        var app = builder.Build();
        app.MapGrpcService<AggregatedDiscoveryService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var cp = new TestKubernetesControlPlane(app, new Uri(address));
        await cp.Cache.FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(10));
        return cp;
    }

    public GrpcChannel CreateChannel() => GrpcChannel.ForAddress(Address, new GrpcChannelOptions { MaxReceiveMessageSize = null });

    public async ValueTask DisposeAsync()
    {
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(stopping.Token);
        await _app.DisposeAsync();
    }
}
