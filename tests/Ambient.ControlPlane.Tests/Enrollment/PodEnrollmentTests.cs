using System.Net;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Tests.AdsClient;
using Ambient.Xds;
using Ambient.Xds.Protos.Enrollment;

namespace Ambient.ControlPlane.Tests.Enrollment;

/// <summary>The PodEnrollment type: one per unfinished pod, enrolment decided as Istio decides it.</summary>
public sealed class PodEnrollmentTests
{
    private static readonly Dictionary<string, string> OptOut = Manifests.Labels(("istio.io/dataplane-mode", "none"));
    private static readonly Dictionary<string, string> OptIn = Manifests.Labels(("istio.io/dataplane-mode", "ambient"));

    internal static ClusterState Parse(params string[] docs)
    {
        var result = ManifestParser.Parse("test.yaml", Manifests.Docs(docs));
        Assert.True(result.Ok, string.Join("\n", result.Errors.Select(e => e.Message)));
        return new ClusterState(result.Objects);
    }

    private static Dictionary<string, PodEnrollment> Enrollments(XdsSnapshot snapshot) =>
        snapshot.Get(TypeUrls.PodEnrollment).Items.ToDictionary(kv => kv.Key, kv => kv.Value.Any.Unpack<PodEnrollment>(), StringComparer.Ordinal);

    [Fact]
    public void SnapshotBuilder_EveryUnfinishedPod_ServesPodEnrollmentWithIstiosEnrolmentDecision()
    {
        var state = Parse(
            Manifests.Namespace("mesh", "ambient"),
            Manifests.Namespace("plain"),
            Manifests.Pod("mesh", "in", "10.244.1.1", node: "node-a", serviceAccount: "web", uid: "u-in"),
            Manifests.Pod("mesh", "optout", "10.244.1.2", labels: OptOut),
            Manifests.Pod("mesh", "pending", ip: null, node: "", phase: "Pending", ready: false),
            Manifests.Pod("mesh", "done", "10.244.1.4", phase: "Succeeded"),
            Manifests.Pod("mesh", "failed", "10.244.1.5", phase: "Failed"),
            Manifests.Pod("mesh", "host", "192.168.0.10", hostNetwork: true),
            Manifests.Pod("plain", "optin", "10.244.2.1", labels: OptIn),
            Manifests.Pod("plain", "other", "10.244.2.2"),
            Manifests.Pod("ghost", "orphan", "10.244.3.1"));

        var e = Enrollments(new SnapshotBuilder(new MeshOptions()).Build(state));

        Assert.Equal(["ghost/orphan", "mesh/host", "mesh/in", "mesh/optout", "mesh/pending", "plain/optin", "plain/other"],
            e.Keys.Order(StringComparer.Ordinal));
        var pod = e["mesh/in"];
        Assert.Equal(("in", "mesh", "u-in", "node-a", "web", true), (pod.Name, pod.Namespace, pod.Uid, pod.Node, pod.ServiceAccount, pod.Enrolled));
        Assert.Equal([IPAddress.Parse("10.244.1.1")], pod.Addresses.Select(a => new IPAddress(a.Span)));
        Assert.False(e["mesh/optout"].Enrolled);      // pod label none opts out of an ambient namespace
        Assert.True(e["mesh/pending"].Enrolled);      // known before it has an address or a node
        Assert.Empty(e["mesh/pending"].Addresses);
        Assert.Equal("", e["mesh/pending"].Node);
        Assert.False(e["mesh/host"].Enrolled);        // host-network pods are never captured
        Assert.True(e["plain/optin"].Enrolled);       // pod label ambient opts in anywhere
        Assert.False(e["plain/other"].Enrolled);
        Assert.False(e["ghost/orphan"].Enrolled);     // no Namespace object: only the pod label could enrol it
    }

    [Fact]
    public void SnapshotBuilder_PodAndNamespaceUnchanged_ReusesTheEnrollmentResource()
    {
        var ns = Parse(Manifests.Namespace("mesh", "ambient")).Namespaces["mesh"];
        var pod = Parse(Manifests.Pod("mesh", "a")).Pods[0];
        var builder = new SnapshotBuilder(new MeshOptions());

        var first = builder.Build(new ClusterState([ns, pod])).Get(TypeUrls.PodEnrollment).Items["mesh/a"];
        var same = builder.Build(new ClusterState([ns, pod])).Get(TypeUrls.PodEnrollment).Items["mesh/a"];
        var relabelled = Parse(Manifests.Namespace("mesh")).Namespaces["mesh"];
        var rebuilt = builder.Build(new ClusterState([relabelled, pod])).Get(TypeUrls.PodEnrollment).Items["mesh/a"];

        Assert.Same(first, same);
        Assert.NotSame(first, rebuilt);
        Assert.NotEqual(first.Version, rebuilt.Version);
        Assert.False(rebuilt.Any.Unpack<PodEnrollment>().Enrolled);
    }

    [Fact]
    public async Task PodEnrollment_NamespaceRelabelled_EnrolledFlipsForItsPodsOverDelta()
    {
        using var tmp = new TempDir();
        tmp.Write("config/ns.yaml", Manifests.Namespace("shop", "ambient"));
        tmp.Write("config/pods.yaml", Manifests.Docs(
            Manifests.Pod("shop", "a", "10.244.1.1"),
            Manifests.Pod("shop", "b", "10.244.1.2"),
            Manifests.Pod("shop", "pinned", "10.244.1.3", labels: OptIn)));
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("config"));
        var enrollments = new UpdateCollector<PodEnrollment>();
        await using var run = new ClientRun(cp.CreateClient().Subscribe<PodEnrollment>(TypeUrls.PodEnrollment, enrollments.Handle));
        await run.WaitSyncedAsync();
        Assert.All(enrollments.State.Values, e => Assert.True(e.Enrolled));
        enrollments.DrainUpdates();

        await cp.WriteFileAndWaitAsync("ns.yaml", Manifests.Namespace("shop"));
        var update = await enrollments.NextAsync();

        // Only the pods whose enrolment changed are resent; the pod that opts in itself is untouched.
        Assert.Equal(["shop/a", "shop/b"], update.Updated.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.All(update.Updated, r => Assert.False(r.Resource.Enrolled));
        Assert.True(enrollments.State["shop/pinned"].Enrolled);

        await cp.WriteFileAndWaitAsync("ns.yaml", Manifests.Namespace("shop", "ambient"));
        await enrollments.WaitForAsync(s => s["shop/a"].Enrolled && s["shop/b"].Enrolled, "enrolled again");
    }
}
