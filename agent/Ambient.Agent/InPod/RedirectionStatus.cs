namespace Ambient.Agent.InPod;

/// <summary>Values of Istio's <c>ambient.istio.io/redirection</c> pod annotation.</summary>
public enum RedirectionStatus
{
    /// <summary><c>enabled</c>: rules programmed and listeners bound. istiod then sets tunnel_protocol=HBONE.</summary>
    Enabled,

    /// <summary><c>pending</c>: enrolled but capture is not complete (e.g. re-adoption failed; retried).</summary>
    Pending,

    /// <summary>Annotation removed: the pod was uncaptured (enrollment removed).</summary>
    Disabled,
}
