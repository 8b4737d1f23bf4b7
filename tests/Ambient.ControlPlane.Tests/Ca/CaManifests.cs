using Ambient.ControlPlane.Tests.Enrollment;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>
/// The cluster the CA tests authorize against: shop/web runs on node-a, shop/db only on node-b, shop/batch has only a
/// finished pod on node-a, and ztunnel (istio-system/ztunnel) runs on node-a.
/// </summary>
internal static class CaManifests
{
    public static string Cluster() => Manifests.Docs(
        Manifests.Namespace("shop", "ambient"),
        Manifests.Namespace("istio-system"),
        Manifests.Pod("shop", "web-1", "10.244.1.10", node: CaTestServer.NodeA, serviceAccount: "web"),
        Manifests.Pod("shop", "db-1", "10.244.2.10", node: CaTestServer.NodeB, serviceAccount: "db"),
        Manifests.Pod("shop", "batch-1", "10.244.1.11", node: CaTestServer.NodeA, serviceAccount: "batch", phase: "Succeeded"),
        Manifests.Pod("istio-system", "ztunnel-a", "10.244.1.2", node: CaTestServer.NodeA, serviceAccount: "ztunnel", uid: "uid-ztunnel-a"));
}
