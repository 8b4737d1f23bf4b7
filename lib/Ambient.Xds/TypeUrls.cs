namespace Ambient.Xds;

/// <summary>The xDS type URLs Ambient serves and consumes.</summary>
public static class TypeUrls
{
    public const string Prefix = "type.googleapis.com/";
    public const string Address = Prefix + "istio.workload.Address";
    public const string Authorization = Prefix + "istio.security.Authorization";
    public const string Listener = Prefix + "envoy.config.listener.v3.Listener";
    public const string RouteConfiguration = Prefix + "envoy.config.route.v3.RouteConfiguration";
    public const string Cluster = Prefix + "envoy.config.cluster.v3.Cluster";
    public const string ClusterLoadAssignment = Prefix + "envoy.config.endpoint.v3.ClusterLoadAssignment";
    public const string HttpConnectionManager = Prefix + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    public const string Router = Prefix + "envoy.extensions.filters.http.router.v3.Router";

    /// <summary>
    /// Ambient's own type (not Istio's): every pod's enrolment, so node agents can capture pods without reading
    /// the Kubernetes API. Resource name <c>&lt;ns&gt;/&lt;name&gt;</c>. See <c>Protos/ambient/workload/enrollment.proto</c>.
    /// </summary>
    public const string PodEnrollment = Prefix + "ambient.workload.PodEnrollment";

    /// <summary>Every type the control plane serves, in the order a client usually asks for them.</summary>
    public static readonly IReadOnlyList<string> All =
        [Address, Authorization, Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, PodEnrollment];

    /// <summary>
    /// Types for which an empty first SotW request means "everything" (xDS legacy wildcard):
    /// LDS and CDS in Envoy's convention, and the WDS types, which ztunnel subscribes to wholesale.
    /// RDS and EDS name what they want. PodEnrollment behaves like the WDS types.
    /// </summary>
    public static bool IsWildcardByDefault(string typeUrl) =>
        typeUrl is Listener or Cluster or Address or Authorization or PodEnrollment;
}
