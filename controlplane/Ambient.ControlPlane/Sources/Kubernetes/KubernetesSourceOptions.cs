namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>How the Kubernetes source reaches the API server and how it keeps its view fresh.</summary>
public sealed class KubernetesSourceOptions
{
    /// <summary>Path of a kubeconfig file; its current context is used. Takes precedence over <see cref="InCluster"/>.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Use the pod's service account and the KUBERNETES_SERVICE_HOST/PORT environment.</summary>
    public bool InCluster { get; set; }

    /// <summary>Full relist of every kind this often, to heal anything a watch missed.</summary>
    public TimeSpan Resync { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Asks the server to end each watch after this long (randomised up to twice this, so kinds do not
    /// reconnect in lock step); a silent connection is abandoned shortly after.
    /// </summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>First reconnect delay after a failure; doubles per consecutive failure, with jitter.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Ceiling of the reconnect delay.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Objects per LIST page; large clusters are read in several requests.</summary>
    public int PageSize { get; set; } = 500;

    internal void Validate()
    {
        if (Kubeconfig is null && !InCluster)
            throw new ArgumentException("the Kubernetes source needs --kubeconfig or --in-cluster");
        if (Resync <= TimeSpan.Zero)
            throw new ArgumentException($"the Kubernetes resync period ({Resync}) must be positive");
        if (WatchTimeout < TimeSpan.FromSeconds(1))
            throw new ArgumentException($"the Kubernetes watch timeout ({WatchTimeout}) must be at least a second");
        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
            throw new ArgumentException($"the Kubernetes backoff ({InitialBackoff} → {MaxBackoff}) must be positive and increasing");
        if (PageSize < 1)
            throw new ArgumentException($"the Kubernetes list page size ({PageSize}) must be positive");
    }
}
