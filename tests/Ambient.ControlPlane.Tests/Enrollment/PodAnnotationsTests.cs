using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Tests.AdsClient;
using Ambient.Xds;
using Ambient.Xds.Protos.Workload;

namespace Ambient.ControlPlane.Tests.Enrollment;

/// <summary>
/// The node agent's redirection feedback in file mode: PodAnnotations manifests in a status directory are laid over
/// the pods, so a captured pod's workload gets <c>tunnel_protocol: HBONE</c> as istiod would give it.
/// </summary>
public sealed class PodAnnotationsTests
{
    private const string Redirection = "ambient.istio.io/redirection";

    [Fact]
    public void ManifestParser_PodAnnotationsKind_ParsedWithNamespaceNameAndAnnotations()
    {
        var result = ManifestParser.Parse("status.yaml", Manifests.Redirected("shop", "a"));

        Assert.True(result.Ok);
        var patch = Assert.IsType<PodAnnotationsObject>(Assert.Single(result.Objects));
        Assert.Equal(new ObjectKey("PodAnnotations", "shop", "a"), patch.Key);
        Assert.Equal("enabled", patch.Meta.Annotations[Redirection]);
    }

    [Fact]
    public void ManifestParser_PodAnnotationsWithoutName_RejectedNamingTheField()
    {
        var result = ManifestParser.Parse("status.yaml", "apiVersion: ambient.dev/v1alpha1\nkind: PodAnnotations\nmetadata:\n  namespace: shop\n");

        var error = Assert.Single(result.Errors);
        Assert.Contains("metadata.name", error.Message);
    }

    [Fact]
    public void ClusterState_PodAnnotations_MergedOverThePodsOwnAnnotations()
    {
        var state = PodEnrollmentTests.Parse(
            Manifests.Pod("shop", "a", annotations: Manifests.Labels(("keep", "me"), (Redirection, "pending"))),
            Manifests.Pod("shop", "b"),
            Manifests.Redirected("shop", "a"),
            Manifests.Redirected("shop", "nobody"));

        var a = state.Pods.Single(p => p.Meta.Name == "a");
        var b = state.Pods.Single(p => p.Meta.Name == "b");

        Assert.Equal("enabled", a.Meta.Annotations[Redirection]); // the patch wins
        Assert.Equal("me", a.Meta.Annotations["keep"]);
        Assert.False(b.Meta.Annotations.ContainsKey(Redirection));
        Assert.Equal(2, state.Pods.Length); // a patch without a pod creates nothing
        Assert.Equal(2, state.PodAnnotations.Length);
        Assert.Equal(TunnelProtocol.Hbone, WorkloadBuilder.TunnelFor(a));
        Assert.Equal(TunnelProtocol.None, WorkloadBuilder.TunnelFor(b));
    }

    [Fact]
    public void ClusterState_UnchangedPodAndPatch_YieldsTheSameMergedPodInstance()
    {
        var objects = ManifestParser.Parse("t.yaml", Manifests.Docs(Manifests.Pod("shop", "a"), Manifests.Redirected("shop", "a"))).Objects;
        var pod = objects.OfType<PodObject>().Single();
        var newPatch = ManifestParser.Parse("t.yaml", Manifests.Redirected("shop", "a")).Objects.Single();

        var first = new ClusterState(objects).Pods[0];
        var second = new ClusterState(objects).Pods[0];
        var repatched = new ClusterState([pod, newPatch]).Pods[0];

        Assert.NotSame(pod, first);
        Assert.Same(first, second);
        Assert.NotSame(first, repatched); // a new patch object (a re-read file) makes a new merged pod…
        Assert.Equal(first.Meta.Annotations.OrderBy(kv => kv.Key), repatched.Meta.Annotations.OrderBy(kv => kv.Key)); // …alike

        // The builder's by-reference caching therefore holds across builds of merged pods.
        var builder = new SnapshotBuilder(new MeshOptions());
        var r1 = builder.Build(new ClusterState(objects)).Get(TypeUrls.Address).Items["Kubernetes//Pod/shop/a"];
        var r2 = builder.Build(new ClusterState(objects)).Get(TypeUrls.Address).Items["Kubernetes//Pod/shop/a"];
        Assert.Same(r1, r2);
    }

    [Fact]
    public async Task PodAnnotations_RedirectionWrittenToStatusDir_WorkloadTunnelBecomesHboneAndBack()
    {
        using var tmp = new TempDir();
        tmp.Write("config/mesh.yaml", Manifests.Docs(Manifests.Namespace("shop", "ambient"), Manifests.Pod("shop", "a", "10.244.1.1")));
        var status = tmp.Sub("status");
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"), status);
        var addresses = new UpdateCollector<Address>();
        await using var run = new ClientRun(cp.CreateClient().Subscribe<Address>(TypeUrls.Address, addresses.Handle));
        await run.WaitSyncedAsync();
        const string uid = "Kubernetes//Pod/shop/a";
        Assert.Equal(TunnelProtocol.None, addresses.State[uid].Workload.TunnelProtocol);

        await cp.WriteFileAndWaitAsync("shop.a.yaml", Manifests.Redirected("shop", "a"), dir: 1);
        await addresses.WaitForAsync(s => s[uid].Workload.TunnelProtocol == TunnelProtocol.Hbone, "HBONE for shop/a");

        await cp.DeleteFileAndWaitAsync("shop.a.yaml", dir: 1);
        await addresses.WaitForAsync(s => s[uid].Workload.TunnelProtocol == TunnelProtocol.None, "NONE again for shop/a");
    }
}
