using System.Net;
using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Discovery;
using Ambient.Xds.Protos.Workload;
using Grpc.Core;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;
using Paths = Ambient.ControlPlane.Tests.Kubernetes.FakeKubeApiServer.Paths;

namespace Ambient.ControlPlane.Tests.Kubernetes;

public sealed class KubernetesEndToEndTests
{
    [Fact]
    public async Task DeltaAds_PodAddedThenDeletedInKubernetes_WorkloadServedThenRemoved()
    {
        await using var server = await FakeKubeApiServer.StartAsync();
        server.Apply(Paths.Namespaces, KubeObjects.Namespace("shop", [("istio.io/dataplane-mode", "ambient")]));
        var dir = Directory.CreateTempSubdirectory("ambient-k8s-e2e-").FullName;
        try
        {
            await using var cp = await TestKubernetesControlPlane.StartAsync(server.WriteKubeconfig(dir));
            using var channel = cp.CreateChannel();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            using var call = new Ads.AggregatedDiscoveryServiceClient(channel).DeltaAggregatedResources(cancellationToken: timeout.Token);
            await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Address });
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            const string uid = "Kubernetes//Pod/shop/web-1";
            Assert.DoesNotContain(call.ResponseStream.Current.Resources, r => r.Name == uid);

            server.Apply(Paths.Pods, KubeObjects.Pod("shop", "web-1", "10.0.0.5", serviceAccount: "web", labels: [("app", "web")]));
            Workload? workload = null;
            while (workload is null && await call.ResponseStream.MoveNext(timeout.Token))
            {
                var resource = call.ResponseStream.Current.Resources.FirstOrDefault(r => r.Name == uid);
                workload = resource?.Resource_.Unpack<Address>().Workload;
            }

            Assert.NotNull(workload);
            Assert.Equal(("web-1", "shop", "web"), (workload.Name, workload.Namespace, workload.ServiceAccount));
            Assert.Equal(IPAddress.Parse("10.0.0.5").GetAddressBytes(), Assert.Single(workload.Addresses).ToByteArray());
            Assert.Equal(WorkloadStatus.Healthy, workload.Status);

            server.Delete(Paths.Pods, "shop", "web-1");
            var removed = false;
            while (!removed && await call.ResponseStream.MoveNext(timeout.Token))
                removed = call.ResponseStream.Current.RemovedResources.Contains(uid);
            Assert.True(removed);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
            Assert.Fail("the control plane did not push the expected change in time");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
