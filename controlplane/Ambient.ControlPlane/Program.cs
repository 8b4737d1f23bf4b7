using System.CommandLine;
using Ambient.ControlPlane.Ca;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// ambient-controlplane: sources (a manifest directory, or Kubernetes) → ConfigStore → XdsPublisher
// (debounce, SnapshotBuilder) → SnapshotCache → ADS streams (SotW and Delta) on --xds-address; the CA
// (istio.v1.auth.IstioCertificateService) and ADS again over TLS on --secure-address.
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
    var caOptions = settings.Ca;
    CertificateAuthority? ca = null;
    ServingCertificate? serving = null;
    if (caOptions.ServesTls)
    {
        try
        {
            ca = new CertificateAuthority(CaRootStore.LoadOrCreate(caOptions, settings.Mesh.TrustDomain, TimeProvider.System), caOptions, TimeProvider.System);
            serving = new ServingCertificate(ca, TimeProvider.System);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ambient-controlplane: {e.Message}");
            return 1;
        }
    }
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.Listen(options.XdsAddress, l => l.Protocols = HttpProtocols.Http2); // plaintext gRPC (h2c)
        if (options.XdsSocket is { } socket)
            k.ListenXdsSocket(socket); // the same ADS for agents in other network namespaces
        if (caOptions.SecureAddress is { } secure)
            k.ListenSecure(secure, serving!); // TLS gRPC: the CA and ADS, as istiod's 15012
        if (caOptions.SecureSocket is { } secureSocket)
            k.ListenSecureSocket(secureSocket, serving!); // the same, for agents in other network namespaces
        k.Listen(options.StatusAddress, l => l.Protocols = HttpProtocols.Http1);
        k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
        k.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
    });
    builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024);
    builder.Services.AddAmbientDiscovery(settings.Mesh);
    builder.Services.Configure<DebounceOptions>(o => { o.Quiet = settings.DebounceQuiet; o.Max = settings.DebounceMax; });
    builder.Services.AddConfigSources(options);
    if (ca is not null)
    {
        KubernetesTokenReviewer? reviewer = null;
        try
        {
            if (options.Kubeconfig is not null || options.InCluster)
                reviewer = KubernetesTokenReviewer.Create(options.Kubeconfig); // TokenReview for the CA's callers
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"ambient-controlplane: the CA cannot reach Kubernetes for TokenReview: {e.Message}");
            return 1;
        }
        builder.Services.AddAmbientCa(ca, caOptions, reviewer);
    }

    var app = builder.Build();
    app.MapGrpcService<AggregatedDiscoveryService>().RequireHost(XdsListeners.XdsHosts(options, caOptions.SecureAddress?.Port, caOptions.SecureSocket is not null));
    if (ca is not null)
        app.MapAmbientCa();
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
    if (ca is not null)
    {
        app.Logger.LogInformation("Serving the CA and ADS over TLS on {Secure} as {Names}; root {Subject} (SHA-256 {Fingerprint}) published at {RootCert}",
            string.Join(" and ", new[] { caOptions.SecureAddress?.ToString(), caOptions.SecureSocket is { } ss ? "unix:" + ss : null }.OfType<string>()), string.Join(", ", caOptions.ServingDnsNames), ca.Root.Root.Subject,
            ca.Root.Root.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), caOptions.RootCertPath);
    }
    await app.WaitForShutdownAsync(ct);
    return 0;
}
