using Ambient.ControlPlane.Model;
using Ambient.Xds.Protos.Enrollment;
using Google.Protobuf;

namespace Ambient.ControlPlane.Discovery;

/// <summary>
/// Pod → <c>ambient.workload.PodEnrollment</c>: Ambient's own type telling node agents which pods to capture, so an
/// agent needs no Kubernetes API access of its own. Istio's istio-cni agent reads pods and namespaces directly instead.
/// </summary>
internal static class EnrollmentBuilder
{
    /// <summary><c>&lt;ns&gt;/&lt;name&gt;</c>: what the agent gets from CNI (pod name and namespace).</summary>
    public static string ResourceName(PodObject pod) => $"{pod.Meta.Namespace}/{pod.Meta.Name}";

    public static PodEnrollment Build(PodObject pod, NamespaceObject? ns)
    {
        var e = new PodEnrollment
        {
            Name = pod.Meta.Name,
            Namespace = pod.Meta.Namespace,
            Uid = pod.Meta.Uid,
            Node = pod.NodeName,
            Enrolled = Selectors.IsAmbientEnrolled(pod, ns),
            ServiceAccount = pod.ServiceAccount,
        };
        foreach (var ip in pod.PodIPs)
            e.Addresses.Add(ByteString.CopyFrom(ip.GetAddressBytes()));
        return e;
    }
}
