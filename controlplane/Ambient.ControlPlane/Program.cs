using System.CommandLine;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// ambient-controlplane: sources (a manifest directory, or Kubernetes) → ConfigStore → XdsPublisher
// (debounce, SnapshotBuilder) → SnapshotCache → ADS streams (SotW and Delta) on --xds-address.
var command = ControlPlaneCommand.Create(RunAsync);
return await command.Parse(args).InvokeAsync();

static async Task<int> RunAsync(ControlPlaneCommand.Settings settings, CancellationToken ct)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
    builder.Logging.SetMinimumLevel(settings.LogLevel);
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);

    var options = settings.Options;
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.Listen(options.XdsAddress, l => l.Protocols = HttpProtocols.Http2); // plaintext gRPC (h2c)
        if (options.XdsSocket is { } socket)
            k.ListenXdsSocket(socket); // the same ADS for agents in other network namespaces
        k.Listen(options.StatusAddress, l => l.Protocols = HttpProtocols.Http1);
        k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
        k.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
    });
    builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024);
    builder.Services.AddAmbientDiscovery(settings.Mesh);
    builder.Services.Configure<DebounceOptions>(o => { o.Quiet = settings.DebounceQuiet; o.Max = settings.DebounceMax; });
    builder.Services.AddConfigSources(options);

    var app = builder.Build();
    app.MapGrpcService<AggregatedDiscoveryService>().RequireHost(XdsListeners.XdsHosts(options));
    app.MapStatusEndpoints($"*:{options.StatusAddress.Port}");
    try
    {
        await app.StartAsync(ct);
    }
    catch (Exception e) when (e is DirectoryNotFoundException or IOException or ArgumentException or InvalidOperationException)
    {
        Console.Error.WriteLine($"ambient-controlplane: {e.Message}");
        return 1;
    }
    app.Logger.LogInformation("Serving ADS (SotW + Delta) on {Xds}{Socket}, status on http://{Status}/ready", options.XdsAddress,
        options.XdsSocket is null ? "" : " and unix:" + options.XdsSocket, options.StatusAddress);
    await app.WaitForShutdownAsync(ct);
    return 0;
}
