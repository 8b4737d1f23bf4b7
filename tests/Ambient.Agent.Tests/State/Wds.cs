using System.Net;
using Ambient.Agent.State;
using Ambient.Xds;
using Ambient.Xds.Client;
using Google.Protobuf;
using Proto = Ambient.Xds.Protos.Workload;
using ProtoEnrollment = Ambient.Xds.Protos.Enrollment.PodEnrollment;

namespace Ambient.Agent.Tests.State;

/// <summary>Builders of the WDS protos the control plane sends, and of the delta updates the client hands the store.</summary>
public static class Wds
{
    public const string Cluster = "Kubernetes";

    public static string Uid(string ns, string name) => $"{Cluster}//Pod/{ns}/{name}";

    public static Proto.Workload Workload(string ns, string name, string ip, string node = "node-a", bool healthy = true,
        bool hbone = false, Proto.Locality? locality = null, params (string Service, uint Port, uint Target)[] services)
    {
        var w = new Proto.Workload
        {
            Uid = Uid(ns, name),
            Name = name,
            Namespace = ns,
            Node = node,
            ClusterId = Cluster,
            Status = healthy ? Proto.WorkloadStatus.Healthy : Proto.WorkloadStatus.Unhealthy,
            TunnelProtocol = hbone ? Proto.TunnelProtocol.Hbone : Proto.TunnelProtocol.None,
            Locality = locality,
        };
        foreach (var a in ip.Split(',', StringSplitOptions.RemoveEmptyEntries))
            w.Addresses.Add(ByteString.CopyFrom(IPAddress.Parse(a).GetAddressBytes()));
        foreach (var (svc, port, target) in services)
        {
            if (!w.Services.TryGetValue(svc, out var list))
                w.Services[svc] = list = new Proto.PortList();
            if (port > 0)
                list.Ports.Add(new Proto.Port { ServicePort = port, TargetPort = target });
        }
        return w;
    }

    public static Proto.Service Service(string ns, string name, string vip, Proto.LoadBalancing? lb = null, params (uint Port, uint Target)[] ports)
    {
        var s = new Proto.Service
        {
            Name = name,
            Namespace = ns,
            Hostname = Hostname(ns, name),
            LoadBalancing = lb,
        };
        s.Addresses.Add(new Proto.NetworkAddress { Address = ByteString.CopyFrom(IPAddress.Parse(vip).GetAddressBytes()) });
        foreach (var (port, target) in ports)
            s.Ports.Add(new Proto.Port { ServicePort = port, TargetPort = target });
        return s;
    }

    public static string Hostname(string ns, string name) => $"{name}.{ns}.svc.cluster.local";

    public static string Key(string ns, string name) => $"{ns}/{Hostname(ns, name)}";

    public static Proto.LoadBalancing Lb(Proto.LoadBalancing.Types.Mode mode, params Proto.LoadBalancing.Types.Scope[] scopes)
    {
        var lb = new Proto.LoadBalancing { Mode = mode };
        lb.RoutingPreference.Add(scopes);
        return lb;
    }

    public static DeltaResource<Proto.Address> Res(Proto.Workload w) => new(w.Uid, "v1", new Proto.Address { Workload = w });

    public static DeltaResource<Proto.Address> Res(Proto.Service s) => new($"{s.Namespace}/{s.Hostname}", "v1", new Proto.Address { Service = s });

    public static DeltaUpdate<Proto.Address> Update(params DeltaResource<Proto.Address>[] resources) =>
        new(TypeUrls.Address, resources, [], "1", false);

    public static DeltaUpdate<Proto.Address> Remove(params string[] names) => new(TypeUrls.Address, [], names, "1", false);

    public static WorkloadStore Store(params DeltaResource<Proto.Address>[] resources)
    {
        var store = new WorkloadStore();
        store.ApplyAddresses(Update(resources));
        return store;
    }

    public static ProtoEnrollment Enrollment(string ns, string name, bool enrolled, string node = "node-a", string? uid = null, string? ip = null)
    {
        var e = new ProtoEnrollment { Namespace = ns, Name = name, Enrolled = enrolled, Node = node, Uid = uid ?? "uid-" + name, ServiceAccount = "default" };
        if (ip is not null)
            e.Addresses.Add(ByteString.CopyFrom(IPAddress.Parse(ip).GetAddressBytes()));
        return e;
    }

    public static DeltaUpdate<ProtoEnrollment> Enrollments(params ProtoEnrollment[] items) =>
        new(TypeUrls.PodEnrollment, [.. items.Select(e => new DeltaResource<ProtoEnrollment>($"{e.Namespace}/{e.Name}", "v1", e))], [], "1", false);

    public static DeltaUpdate<ProtoEnrollment> EnrollmentsRemoved(params string[] names) => new(TypeUrls.PodEnrollment, [], names, "1", false);
}
