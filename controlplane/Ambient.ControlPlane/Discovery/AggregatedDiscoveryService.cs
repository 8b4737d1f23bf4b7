using Ambient.ControlPlane.Hosting;
using Ambient.Xds.Protos.Discovery;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;

namespace Ambient.ControlPlane.Discovery;

/// <summary><c>envoy.service.discovery.v3.AggregatedDiscoveryService</c>: both SotW and Delta flavours over one snapshot cache.</summary>
/// <remarks>Streams end when the host starts stopping (<see cref="IHostApplicationLifetime.ApplicationStopping"/>).</remarks>
public sealed class AggregatedDiscoveryService(SnapshotCache cache, ControlPlaneMetrics metrics, ILoggerFactory loggers, IHostApplicationLifetime lifetime)
    : Ads.AggregatedDiscoveryServiceBase
{
    private readonly ILogger _logger = loggers.CreateLogger("Ambient.ControlPlane.Xds");

    public override Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(cache, metrics, _logger, responseStream).RunAsync(requestStream, context, lifetime.ApplicationStopping);

    public override Task DeltaAggregatedResources(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(cache, metrics, _logger, responseStream).RunAsync(requestStream, context, lifetime.ApplicationStopping);
}
