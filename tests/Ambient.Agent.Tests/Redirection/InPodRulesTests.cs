using System.Net.Sockets;
using Ambient.Net.Redirection;

namespace Ambient.Agent.Tests.Redirection;

/// <summary>The generated rules are exactly protocol-facts §b, in iptables-save's canonical form.</summary>
public sealed class InPodRulesTests
{
    /// <summary>Rules appear in §b's numbered order (3, 4, 5 … 9, 10, 11); per-chain order is what iptables keeps.</summary>
    [Fact]
    public void RestoreInput_DefaultOptions_IsExactlyTheIstioInPodRules()
    {
        const string expected = """
            *mangle
            :ISTIO_PRERT - [0:0]
            :ISTIO_OUTPUT - [0:0]
            -A ISTIO_PRERT -m mark --mark 0x539/0xfff -j CONNMARK --set-xmark 0x111/0xfff
            -A ISTIO_OUTPUT -m connmark --mark 0x111/0xfff -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff
            -A PREROUTING -j ISTIO_PRERT
            -A OUTPUT -j ISTIO_OUTPUT
            COMMIT
            *nat
            :ISTIO_PRERT - [0:0]
            :ISTIO_OUTPUT - [0:0]
            -A ISTIO_PRERT -s 169.254.7.127/32 -p tcp -m tcp -j ACCEPT
            -A ISTIO_OUTPUT -d 169.254.7.127/32 -p tcp -m tcp -j ACCEPT
            -A ISTIO_PRERT ! -d 127.0.0.1/32 -p tcp -m tcp ! --dport 15008 -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15006
            -A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT
            -A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT
            -A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001
            -A PREROUTING -j ISTIO_PRERT
            -A OUTPUT -j ISTIO_OUTPUT
            COMMIT

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), InPodRules.RestoreInput(InPodRuleOptions.Default));
    }

    [Fact]
    public void Rules_IngressMode_DropsInboundRedirectAndProbeSkip()
    {
        var rules = InPodRules.Rules(new InPodRuleOptions { InboundCapture = false }).Select(r => r.ToString()).ToArray();
        Assert.DoesNotContain(rules, r => r.Contains("--to-ports 15006", StringComparison.Ordinal));
        Assert.DoesNotContain(rules, r => r.Contains("-s 169.254.7.127", StringComparison.Ordinal));
        Assert.Contains("nat -A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001", rules);
    }

    [Fact]
    public void Rules_VirtualInterfaces_RedirectedToOutboundFirst()
    {
        var nat = InPodRules.Rules(new InPodRuleOptions { RerouteVirtualInterfaces = ["tun0"] })
            .Where(r => r.Table == "nat" && r.Chain == InPodRules.PreroutingChain).Select(r => r.Spec).ToArray();
        Assert.Equal("-i tun0 -p tcp -j REDIRECT --to-ports 15001", nat[0]);
        Assert.Equal("-i tun0 -p tcp -j RETURN", nat[1]);
        Assert.Equal("-s 169.254.7.127/32 -p tcp -m tcp -j ACCEPT", nat[2]);
    }

    [Fact]
    public void Rules_Ipv6_UsesV6LoopbackAndProbeAddress()
    {
        var rules = InPodRules.Rules(InPodRuleOptions.Default, AddressFamily.InterNetworkV6).Select(r => r.Spec).ToArray();
        Assert.Contains("-s fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128 -p tcp -m tcp -j ACCEPT", rules);
        Assert.Contains("! -d ::1/128 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001", rules);
        Assert.DoesNotContain(rules, r => r.Contains("127.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public void NetlinkArgs_AreIstiosRuleAndLocalRoute()
    {
        Assert.Equal("fwmark 0x111/0xfff pref 32764 lookup 100", string.Join(' ', InPodRules.IpRuleArgs));
        Assert.Equal("local 0.0.0.0/0 dev lo table 100", string.Join(' ', InPodRules.IpRouteArgs()));
        Assert.Equal("local ::/0 dev lo table 100", string.Join(' ', InPodRules.IpRouteArgs(AddressFamily.InterNetworkV6)));
    }
}
