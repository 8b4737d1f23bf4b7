using System.Collections.Immutable;

namespace Ambient.ControlPlane.Model;

/// <summary>Label selection and ambient enrolment, with Istio's semantics.</summary>
public static class Selectors
{
    public const string DataplaneModeLabel = "istio.io/dataplane-mode";
    public const string RedirectionAnnotation = "ambient.istio.io/redirection";

    /// <summary>True when every selector label is present with the same value. An empty selector matches everything.</summary>
    public static bool Matches(ImmutableDictionary<string, string> selector, ImmutableDictionary<string, string> labels)
    {
        foreach (var (k, v) in selector)
        {
            if (!labels.TryGetValue(k, out var actual) || actual != v)
                return false;
        }
        return true;
    }

    /// <summary>
    /// Istio's default enablement: pod label <c>istio.io/dataplane-mode=ambient</c>, or the namespace label
    /// with the pod not opting out (<c>=none</c>). Host-network pods are never enrolled.
    /// </summary>
    public static bool IsAmbientEnrolled(PodObject pod, NamespaceObject? ns)
    {
        if (pod.HostNetwork)
            return false;
        var podMode = pod.Meta.Label(DataplaneModeLabel);
        if (podMode == "ambient")
            return true;
        if (podMode == "none")
            return false;
        return ns is not null && ns.Meta.Label(DataplaneModeLabel) == "ambient";
    }
}
