using Ambient.Agent.Policy;

namespace Ambient.Agent.Tests.Policy;

/// <summary>
/// PeerAuthentication YAML (the control plane's peer-authentication fixture: mesh STRICT, a PERMISSIVE namespace,
/// workload and port-level modes) → converted DENY policies → what the agent admits.
/// </summary>
public sealed class PeerAuthenticationEnforcementTests
{
    private static readonly IstioConfig Fixture = IstioConfig.Fixture("peer-authentication");
    private readonly L4PolicyEvaluator _evaluator = new();
    private readonly Ambient.Agent.State.WorkloadStore _store = Fixture.Store();

    private PolicyDecision Eval(string ns, string pod, bool mtls, int port = 8080) =>
        _evaluator.Evaluate(Conn.To(_store.Current, ns, pod, port, mtls ? Conn.Sa("client-ns", "client") : null), _store.Current);

    [Fact]
    public void StrictMesh_DeniesPlaintext_AllowsMtls()
    {
        var plaintext = Eval("strict-ns", "plain", mtls: false);

        Assert.False(plaintext.Allowed);
        Assert.Equal("istio-system/istio_converted_static_strict", plaintext.PolicyKey);
        Assert.Equal(DenyCategory.MtlsStrict, plaintext.Category);
        Assert.Contains("mTLS required", plaintext.Reason);
        Assert.True(Eval("strict-ns", "plain", mtls: true).Allowed);
    }

    [Fact]
    public void PermissiveNamespace_AllowsPlaintext()
    {
        Assert.True(Eval("permissive-ns", "plain", mtls: false).Allowed);
        Assert.True(Eval("permissive-ns", "plain", mtls: true).Allowed);
    }

    [Fact]
    public void StrictWorkloadInPermissiveNamespace_DeniesPlaintext()
    {
        Assert.False(Eval("permissive-ns", "secure", mtls: false).Allowed);
        Assert.True(Eval("permissive-ns", "secure", mtls: true).Allowed);
    }

    [Theory]
    [InlineData(9090, false, true)]  // the PERMISSIVE port accepts plaintext
    [InlineData(8080, false, false)] // every other port stays STRICT
    [InlineData(8080, true, true)]
    [InlineData(9090, true, true)]
    public void PortLevelPermissiveUnderStrict_ExemptsOnlyThatPort(int port, bool mtls, bool allowed)
    {
        var d = Eval("strict-ns", "metrics", mtls, port);

        Assert.Equal(allowed, d.Allowed);
        if (!allowed)
            Assert.Equal(("strict-ns/converted_peer_authentication_metrics-port", DenyCategory.MtlsStrict), (d.PolicyKey, d.Category));
    }

    [Theory]
    [InlineData(8443, false, false)] // the STRICT port
    [InlineData(8080, false, true)]  // the rest stays PERMISSIVE
    [InlineData(8443, true, true)]
    public void PortLevelStrictUnderPermissive_ProtectsOnlyThatPort(int port, bool mtls, bool allowed)
    {
        Assert.Equal(allowed, Eval("permissive-ns", "mixed", mtls, port).Allowed);
    }

    [Theory]
    [InlineData(8080)]
    [InlineData(9090)]
    public void StrictWithStrictPortLevel_DeniesPlaintextOnEveryPort(int port)
    {
        Assert.False(Eval("strict-ns", "hardened", mtls: false, port).Allowed);
        Assert.True(Eval("strict-ns", "hardened", mtls: true, port).Allowed);
    }
}
