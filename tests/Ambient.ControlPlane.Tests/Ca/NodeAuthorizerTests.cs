using System.Collections.Immutable;
using Ambient.ControlPlane.Ca;
using Ambient.ControlPlane.Model;
using Ambient.Identity;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>Istio's impersonation rule as a pure decision, table-tested.</summary>
public sealed class NodeAuthorizerTests
{
    private static PodObject Pod(string ns, string name, string node, string sa, string phase = "Running") =>
        new(new ObjectMeta(name, ns, "uid-" + name, ImmutableDictionary<string, string>.Empty, ImmutableDictionary<string, string>.Empty),
            node, sa, [], true, phase, false, []);

    private static readonly ClusterState State = new([
        Pod("shop", "web-1", "node-a", "web"),
        Pod("shop", "db-1", "node-b", "db"),
        Pod("shop", "batch-1", "node-a", "batch", phase: "Failed"),
        Pod("other", "web-1", "node-a", "web2"),
    ]);

    [Theory]
    [InlineData("node-a", "shop", "web", true)]
    [InlineData("node-b", "shop", "db", true)]
    [InlineData("node-a", "shop", "db", false)]     // db runs only on node-b
    [InlineData("node-b", "shop", "web", false)]
    [InlineData("node-a", "shop", "batch", false)]  // finished pods do not count
    [InlineData("node-a", "other", "web", false)]   // same account name, other namespace
    [InlineData("node-a", "shop", "web2", false)]
    [InlineData("node-c", "shop", "web", false)]
    public void Authorize_NodeCaller_OnlyAccountsWithPodsOnItsNode(string node, string ns, string sa, bool allowed)
    {
        var reason = NodeAuthorizer.Authorize(new CaCaller("node " + node, node, null), SpiffeId.Create("cluster.local", ns, sa), State);

        Assert.Equal(allowed, reason is null);
        if (!allowed)
            Assert.Contains(node, reason);
    }

    [Fact]
    public void Authorize_WorkloadCaller_OwnIdentityOnlyWhereverItRuns()
    {
        var self = SpiffeId.Create("cluster.local", "shop", "web");
        var caller = new CaCaller("pod shop/x", null, self);

        Assert.Null(NodeAuthorizer.Authorize(caller, self, ClusterState.Empty));
        Assert.Contains("only request its own identity", NodeAuthorizer.Authorize(caller, SpiffeId.Create("cluster.local", "shop", "db"), State));
    }
}
