using Ambient.Xds;
using Ambient.Xds.Protos.Endpoint;
using Authorization = Ambient.Xds.Protos.Security.Authorization;
using Ambient.Xds.Protos.Workload;

namespace Ambient.ControlPlane.Tests.Golden;

/// <summary>Typed lookups into a built fixture, for tests that pin one fact of a golden.</summary>
public static class FixtureExtensions
{
    public static Workload Workload(this Fixture f, string ns, string name)
    {
        var uid = $"Kubernetes//Pod/{ns}/{name}";
        Assert.True(f.Snapshot.Get(TypeUrls.Address).Items.TryGetValue(uid, out var r), $"{f.Name}: no workload {uid}");
        return r.Any.Unpack<Address>().Workload;
    }

    public static bool HasWorkload(this Fixture f, string ns, string name) =>
        f.Snapshot.Get(TypeUrls.Address).Items.ContainsKey($"Kubernetes//Pod/{ns}/{name}");

    public static Service Service(this Fixture f, string ns, string name)
    {
        var key = $"{ns}/{name}.{ns}.svc.cluster.local";
        Assert.True(f.Snapshot.Get(TypeUrls.Address).Items.TryGetValue(key, out var r), $"{f.Name}: no service {key}");
        return r.Any.Unpack<Address>().Service;
    }

    public static Authorization? Policy(this Fixture f, string ns, string name) =>
        f.Snapshot.Get(TypeUrls.Authorization).Items.TryGetValue($"{ns}/{name}", out var r) ? r.Any.Unpack<Authorization>() : null;

    /// <summary>(ip, port, health) of each endpoint of <c>outbound|port||name.ns.svc.cluster.local</c>, in order.</summary>
    public static List<(string Ip, uint Port, string Health)> Endpoints(this Fixture f, string ns, string name, int port)
    {
        var key = $"outbound|{port}||{name}.{ns}.svc.cluster.local";
        Assert.True(f.Snapshot.Get(TypeUrls.ClusterLoadAssignment).Items.TryGetValue(key, out var r), $"{f.Name}: no CLA {key}");
        return r.Any.Unpack<ClusterLoadAssignment>().Endpoints
            .SelectMany(l => l.LbEndpoints)
            .Select(e => (e.Endpoint.Address.SocketAddress.Address, e.Endpoint.Address.SocketAddress.PortValue, e.HealthStatus.ToString()))
            .ToList();
    }

    /// <summary>service port → target port in the workload's entry for <c>ns/name.ns.svc.cluster.local</c>.</summary>
    public static Dictionary<uint, uint> PortsFor(this Workload w, string ns, string service)
    {
        Assert.True(w.Services.TryGetValue($"{ns}/{service}.{ns}.svc.cluster.local", out var list), $"{w.Name} is not in service {ns}/{service}");
        return list.Ports.ToDictionary(p => p.ServicePort, p => p.TargetPort);
    }
}
