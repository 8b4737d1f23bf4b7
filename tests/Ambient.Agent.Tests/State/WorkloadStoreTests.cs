using System.Net;
using Ambient.Agent.State;
using Ambient.Xds;
using Ambient.Xds.Client;
using Google.Protobuf;
using Proto = Ambient.Xds.Protos.Workload;
using ProtoSecurity = Ambient.Xds.Protos.Security;

namespace Ambient.Agent.Tests.State;

public sealed class WorkloadStoreTests
{
    private const string Ns = "shop";
    private static readonly string Web = Wds.Key(Ns, "web");

    [Fact]
    public void WorkloadStore_WorkloadAndService_ConvertedAndIndexedByIpVipAndPod()
    {
        var store = Wds.Store(
            Wds.Res(Wds.Service(Ns, "web", "10.96.0.10", null, (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "web-1", "10.244.1.1", "node-a", hbone: true, services: (Web, 80, 8080))));
        var s = store.Current;

        var w = s.FindWorkload(IPAddress.Parse("10.244.1.1"));
        Assert.NotNull(w);
        Assert.Equal((Wds.Uid(Ns, "web-1"), "web-1", Ns, "node-a", TunnelProtocol.Hbone, WorkloadHealth.Healthy),
            (w.Uid, w.Name, w.Namespace, w.Node, w.Tunnel, w.Status));
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/default", w.Identity); // elided defaults filled in
        Assert.Equal([new PortMapping(80, 8080)], w.Services[Web].ToArray());
        Assert.Same(w, s.FindPodWorkload(Ns, "web-1"));
        var svc = s.FindService(IPAddress.Parse("10.96.0.10"));
        Assert.NotNull(svc);
        Assert.Equal((Web, 8080), (svc.Key, svc.TargetPortOf(80)));
        Assert.Same(svc, s.FindService(IPEndPoint.Parse("10.96.0.10:80")));
        Assert.Null(s.FindService(IPEndPoint.Parse("10.96.0.10:81")));
        Assert.Equal(["web-1"], s.EndpointsOf(Web).Select(e => e.Name));
    }

    [Fact]
    public void WorkloadStore_WorkloadUpdated_OldIpAndOldServiceMembershipGone()
    {
        var store = Wds.Store(Wds.Res(Wds.Workload(Ns, "web-1", "10.244.1.1", services: (Web, 80, 8080))));
        var other = Wds.Key(Ns, "other");

        store.ApplyAddresses(Wds.Update(Wds.Res(Wds.Workload(Ns, "web-1", "10.244.1.2", services: (other, 80, 8080)))));

        var s = store.Current;
        Assert.Null(s.FindWorkload(IPAddress.Parse("10.244.1.1")));
        Assert.Equal("web-1", s.FindWorkload(IPAddress.Parse("10.244.1.2"))?.Name);
        Assert.Empty(s.EndpointsOf(Web));
        Assert.Equal(["web-1"], s.EndpointsOf(other).Select(e => e.Name));
        Assert.Single(s.Workloads);
    }

    [Fact]
    public void WorkloadStore_ResourcesRemoved_DroppedFromEveryIndex()
    {
        var store = Wds.Store(
            Wds.Res(Wds.Service(Ns, "web", "10.96.0.10", null, (80, 8080))),
            Wds.Res(Wds.Workload(Ns, "web-1", "10.244.1.1", services: (Web, 80, 8080))));

        store.ApplyAddresses(Wds.Remove(Wds.Uid(Ns, "web-1"), Web, "never/existed"));

        var s = store.Current;
        Assert.Empty(s.Workloads);
        Assert.Empty(s.Services);
        Assert.Null(s.FindWorkload(IPAddress.Parse("10.244.1.1")));
        Assert.Null(s.FindService(IPAddress.Parse("10.96.0.10")));
        Assert.Null(s.FindPodWorkload(Ns, "web-1"));
        Assert.Empty(s.Endpoints);
    }

    [Fact]
    public void WorkloadStore_TwoWorkloadsShareAnIp_LatestWinsAndEarlierTakesOverWhenItLeaves()
    {
        var store = Wds.Store(Wds.Res(Wds.Workload(Ns, "old", "10.244.1.1")));
        store.ApplyAddresses(Wds.Update(Wds.Res(Wds.Workload(Ns, "new", "10.244.1.1"))));
        Assert.Equal("new", store.Current.FindWorkload(IPAddress.Parse("10.244.1.1"))?.Name);

        store.ApplyAddresses(Wds.Remove(Wds.Uid(Ns, "new")));

        Assert.Equal("old", store.Current.FindWorkload(IPAddress.Parse("10.244.1.1"))?.Name);
    }

    [Theory]
    [InlineData("address")]
    [InlineData("uid")]
    [InlineData("port")]
    [InlineData("empty")]
    [InlineData("scope")]
    public void WorkloadStore_InvalidResource_RejectedAndNothingChanges(string defect)
    {
        var store = Wds.Store(Wds.Res(Wds.Workload(Ns, "web-1", "10.244.1.1")));
        var before = store.Current;
        var changed = 0;
        store.Changed += _ => changed++;
        var good = Wds.Res(Wds.Workload(Ns, "web-2", "10.244.1.2"));
        var bad = Wds.Workload(Ns, "web-3", "10.244.1.3");
        DeltaResource<Proto.Address> badResource = defect switch
        {
            "address" => Wds.Res(With(bad, w => w.Addresses.Add(ByteString.CopyFrom([1, 2, 3])))),
            "uid" => new("x", "v1", new Proto.Address { Workload = With(bad, w => w.Uid = "") }),
            "port" => Wds.Res(With(bad, w => w.Services[Web] = new Proto.PortList { Ports = { new Proto.Port { ServicePort = 70000 } } })),
            "empty" => new("y", "v1", new Proto.Address()),
            _ => Wds.Res(Wds.Service(Ns, "lb", "10.96.0.9", Wds.Lb(Proto.LoadBalancing.Types.Mode.Failover, Proto.LoadBalancing.Types.Scope.UnspecifiedScope), (80, 80))),
        };

        var e = Assert.Throws<XdsRejectedException>(() => store.ApplyAddresses(Wds.Update(good, badResource)));

        Assert.NotEmpty(e.Message);
        Assert.Same(before, store.Current); // the good resource in the same response is not applied either
        Assert.Equal(0, changed);
    }

    [Fact]
    public void WorkloadStore_Applied_ChangedEventNamesWhatChanged()
    {
        var store = new WorkloadStore();
        var changes = new List<WorkloadStoreChange>();
        store.Changed += changes.Add;

        store.ApplyAddresses(Wds.Update(Wds.Res(Wds.Workload(Ns, "web-1", "10.244.1.1")), Wds.Res(Wds.Service(Ns, "web", "10.96.0.10", null, (80, 80)))));
        store.ApplyAddresses(Wds.Remove(Web));

        Assert.Equal(2, changes.Count);
        Assert.Equal([Wds.Uid(Ns, "web-1")], changes[0].Workloads);
        Assert.Equal([Web], changes[0].Services);
        Assert.Empty(changes[1].Workloads);
        Assert.Equal([Web], changes[1].Services);
        Assert.True(changes[1].Version > changes[0].Version);
    }

    [Fact]
    public void WorkloadStore_Authorizations_KeptByNameAndRemoved()
    {
        var store = new WorkloadStore();
        var policy = new ProtoSecurity.Authorization { Name = "allow-web", Namespace = Ns, Scope = ProtoSecurity.Scope.WorkloadSelector, Action = ProtoSecurity.Action.Deny, DryRun = true };
        store.ApplyAuthorizations(new DeltaUpdate<ProtoSecurity.Authorization>(TypeUrls.Authorization, [new("shop/allow-web", "v1", policy)], [], "1", false));
        policy.Name = "mutated after the fact";

        var p = store.Current.Policies["shop/allow-web"];
        Assert.Equal(("allow-web", Ns, PolicyScope.WorkloadSelector, PolicyAction.Deny, true), (p.Name, p.Namespace, p.Scope, p.Action, p.DryRun));
        Assert.Equal("allow-web", p.Rules.Name); // a copy: the store's view cannot be changed behind its back

        store.ApplyAuthorizations(new DeltaUpdate<ProtoSecurity.Authorization>(TypeUrls.Authorization, [], ["shop/allow-web"], "2", false));
        Assert.Empty(store.Current.Policies);
    }

    private static Proto.Workload With(Proto.Workload w, Action<Proto.Workload> edit)
    {
        edit(w);
        return w;
    }
}
