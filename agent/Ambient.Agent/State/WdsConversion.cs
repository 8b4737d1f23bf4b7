using System.Collections.Immutable;
using System.Net;
using Ambient.Xds.Client;
using Google.Protobuf;
using Proto = Ambient.Xds.Protos.Workload;
using ProtoEnrollment = Ambient.Xds.Protos.Enrollment.PodEnrollment;
using ProtoSecurity = Ambient.Xds.Protos.Security;

namespace Ambient.Agent.State;

/// <summary>
/// WDS protos → immutable records. Anything the agent could not act on safely (no uid, an address that is not 4 or
/// 16 bytes, a port out of range, an unknown enum) throws <see cref="XdsRejectedException"/>, which rejects the whole
/// response (NACK) before any state changes — as ztunnel does.
/// </summary>
public static class WdsConversion
{
    public static Workload ToWorkload(string resource, Proto.Workload w)
    {
        if (w.Uid.Length == 0)
            throw new XdsRejectedException($"workload {resource} has no uid");
        var services = ImmutableDictionary.CreateBuilder<string, ImmutableArray<PortMapping>>(StringComparer.Ordinal);
        foreach (var (key, list) in w.Services)
        {
            if (key.IndexOf('/') <= 0)
                throw new XdsRejectedException($"workload {resource}: service key '{key}' is not namespace/hostname");
            services[key] = [.. list.Ports.Select(p => Port(resource, p.ServicePort, p.TargetPort))];
        }
        return new Workload
        {
            Uid = w.Uid,
            Name = w.Name,
            Namespace = w.Namespace,
            Addresses = [.. w.Addresses.Select(a => Ip(resource, a))],
            Network = w.Network,
            Node = w.Node,
            ServiceAccount = w.ServiceAccount.Length > 0 ? w.ServiceAccount : "default",
            TrustDomain = w.TrustDomain.Length > 0 ? w.TrustDomain : "cluster.local",
            Tunnel = w.TunnelProtocol switch
            {
                Proto.TunnelProtocol.None => TunnelProtocol.None,
                Proto.TunnelProtocol.Hbone => TunnelProtocol.Hbone,
                Proto.TunnelProtocol.LegacyIstioMtls => TunnelProtocol.LegacyIstioMtls,
                var t => throw new XdsRejectedException($"workload {resource}: unknown tunnel_protocol {(int)t}"),
            },
            Status = w.Status == Proto.WorkloadStatus.Unhealthy ? WorkloadHealth.Unhealthy : WorkloadHealth.Healthy,
            HostNetwork = w.NetworkMode == Proto.NetworkMode.HostNetwork,
            Services = services.ToImmutable(),
            AuthorizationPolicies = [.. w.AuthorizationPolicies],
            ClusterId = w.ClusterId,
            Locality = w.Locality is { } l ? new Locality(l.Region, l.Zone, l.Subzone) : Locality.Empty,
            CanonicalName = w.CanonicalName,
            CanonicalRevision = w.CanonicalRevision,
            WorkloadName = w.WorkloadName,
            WorkloadType = w.WorkloadType switch
            {
                Proto.WorkloadType.Deployment => "deployment",
                Proto.WorkloadType.Cronjob => "cronjob",
                Proto.WorkloadType.Job => "job",
                _ => "pod",
            },
        };
    }

    public static Service ToService(string resource, Proto.Service s)
    {
        if (s.Hostname.Length == 0 || s.Namespace.Length == 0)
            throw new XdsRejectedException($"service {resource} has no namespace or hostname");
        return new Service
        {
            Name = s.Name,
            Namespace = s.Namespace,
            Hostname = s.Hostname,
            Addresses = [.. s.Addresses.Select(a => new ServiceAddress(a.Network, Ip(resource, a.Address), a.HasLength ? PrefixLength(resource, a) : null))],
            Ports = [.. s.Ports.Select(p => Port(resource, p.ServicePort, p.TargetPort))],
            SubjectAltNames = [.. s.SubjectAltNames],
            LoadBalancing = s.LoadBalancing is { } lb ? ToPolicy(resource, lb) : LoadBalancingPolicy.Default,
        };
    }

    public static LoadBalancingPolicy ToPolicy(string resource, Proto.LoadBalancing lb)
    {
        var scopes = lb.RoutingPreference.Select(s => s switch
        {
            Proto.LoadBalancing.Types.Scope.Region => LoadBalancingScope.Region,
            Proto.LoadBalancing.Types.Scope.Zone => LoadBalancingScope.Zone,
            Proto.LoadBalancing.Types.Scope.Subzone => LoadBalancingScope.Subzone,
            Proto.LoadBalancing.Types.Scope.Node => LoadBalancingScope.Node,
            Proto.LoadBalancing.Types.Scope.Cluster => LoadBalancingScope.Cluster,
            Proto.LoadBalancing.Types.Scope.Network => LoadBalancingScope.Network,
            _ => throw new XdsRejectedException($"service {resource}: routing_preference {(int)s} is not a scope"),
        });
        var mode = lb.Mode switch
        {
            Proto.LoadBalancing.Types.Mode.UnspecifiedMode => LoadBalancingMode.Standard,
            Proto.LoadBalancing.Types.Mode.Strict => LoadBalancingMode.Strict,
            Proto.LoadBalancing.Types.Mode.Failover => LoadBalancingMode.Failover,
            Proto.LoadBalancing.Types.Mode.Passthrough => LoadBalancingMode.Passthrough,
            var m => throw new XdsRejectedException($"service {resource}: unknown load_balancing mode {(int)m}"),
        };
        var health = lb.HealthPolicy == Proto.LoadBalancing.Types.HealthPolicy.AllowAll ? HealthPolicy.AllowAll : HealthPolicy.OnlyHealthy;
        return new LoadBalancingPolicy([.. scopes], mode, health);
    }

    public static AuthorizationPolicy ToPolicy(string resource, ProtoSecurity.Authorization a)
    {
        if (a.Name.Length == 0)
            throw new XdsRejectedException($"authorization {resource} has no name");
        var scope = a.Scope switch
        {
            ProtoSecurity.Scope.Global => PolicyScope.Global,
            ProtoSecurity.Scope.Namespace => PolicyScope.Namespace,
            ProtoSecurity.Scope.WorkloadSelector => PolicyScope.WorkloadSelector,
            var s => throw new XdsRejectedException($"authorization {resource}: unknown scope {(int)s}"),
        };
        var action = a.Action switch
        {
            ProtoSecurity.Action.Allow => PolicyAction.Allow,
            ProtoSecurity.Action.Deny => PolicyAction.Deny,
            var x => throw new XdsRejectedException($"authorization {resource}: unknown action {(int)x}"),
        };
        return new AuthorizationPolicy(a.Name, a.Namespace, scope, action, a.DryRun, a.Clone());
    }

    public static PodEnrollmentInfo ToEnrollment(string resource, ProtoEnrollment e)
    {
        if (e.Name.Length == 0 || e.Namespace.Length == 0)
            throw new XdsRejectedException($"pod enrollment {resource} has no namespace or name");
        if (resource != $"{e.Namespace}/{e.Name}")
            throw new XdsRejectedException($"pod enrollment {resource} describes {e.Namespace}/{e.Name}");
        return new PodEnrollmentInfo(e.Namespace, e.Name, e.Uid, e.Node, e.Enrolled, e.ServiceAccount.Length > 0 ? e.ServiceAccount : "default",
            [.. e.Addresses.Select(a => Ip(resource, a))]);
    }

    private static IPAddress Ip(string resource, ByteString bytes) =>
        bytes.Length is 4 or 16 ? new IPAddress(bytes.Span) : throw new XdsRejectedException($"{resource}: an address has {bytes.Length} bytes, not 4 or 16");

    private static PortMapping Port(string resource, uint servicePort, uint targetPort) =>
        servicePort is > 0 and <= 65535 && targetPort <= 65535
            ? new PortMapping((int)servicePort, (int)targetPort)
            : throw new XdsRejectedException($"{resource}: port {servicePort}→{targetPort} is out of range");

    private static int PrefixLength(string resource, Proto.NetworkAddress a)
    {
        var max = a.Address.Length * 8;
        return a.Length <= max ? (int)a.Length : throw new XdsRejectedException($"{resource}: prefix length {a.Length} exceeds {max}");
    }
}
