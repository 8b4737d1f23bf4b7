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

    /// <summary>Every type the control plane serves, in the order a client usually asks for them.</summary>
    public static readonly IReadOnlyList<string> All =
        [Address, Authorization, Listener, RouteConfiguration, Cluster, ClusterLoadAssignment];

    /// <summary>
    /// Types for which an empty first SotW request means "everything" (xDS legacy wildcard):
    /// LDS and CDS in Envoy's convention, and the WDS types, which ztunnel subscribes to wholesale.
    /// RDS and EDS name what they want.
    /// </summary>
    public static bool IsWildcardByDefault(string typeUrl) =>
        typeUrl is Listener or Cluster or Address or Authorization;
}
