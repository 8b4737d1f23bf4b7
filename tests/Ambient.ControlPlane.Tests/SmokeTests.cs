using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Discovery;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;

namespace Ambient.ControlPlane.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task DeltaWildcardAddress_EmptyConfig_AnswersWithNoResources()
    {
        await using var cp = await TestControlPlane.StartAsync();
        using var channel = cp.CreateChannel();
        using var call = new Ads.AggregatedDiscoveryServiceClient(channel).DeltaAggregatedResources();
        await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Address });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var response = call.ResponseStream.Current;
        Assert.Equal(TypeUrls.Address, response.TypeUrl);
        Assert.Empty(response.Resources);
        Assert.NotEmpty(response.Nonce);
    }
}
