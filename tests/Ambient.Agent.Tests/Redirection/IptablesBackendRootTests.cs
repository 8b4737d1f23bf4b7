using Ambient.Agent.Tests.Testing;
using Ambient.Net.Redirection;

namespace Ambient.Agent.Tests.Redirection;

/// <summary>Root: the iptables backend against a real pod netns (iptables-nft).</summary>
public sealed class IptablesBackendRootTests : IAsyncLifetime
{
    private readonly IptablesBackend _backend = new();
    private TestNetwork _net = null!;

    private string Pod => TestNetwork.PathOf(_net.PodA);

    public async Task InitializeAsync() => _net = await TestNetwork.CreateAsync(nameof(IptablesBackendRootTests));

    public async Task DisposeAsync() => await _net.DisposeAsync();

    /// <summary>iptables-save without comments and counters, plus our netlink state: everything apply may touch.</summary>
    private async Task<string> StateAsync()
    {
        string save = await Sh.RunAsync("nsenter", "--net=" + Pod, "--", "iptables-save");
        var lines = save.Split('\n').Where(l => !l.StartsWith('#')).Select(l => l.StartsWith(':') ? l[..l.IndexOf(' ')] : l);
        string rules = await Sh.RunAsync("nsenter", "--net=" + Pod, "--", "ip", "rule", "show");
        string routes = await Sh.RunAsync("nsenter", "--net=" + Pod, "--", "ip", "route", "show", "table", "all");
        return string.Join('\n', lines) + "\n--\n" + rules + "--\n" + routes;
    }

    [Fact]
    public async Task Apply_Twice_SameStateAndComplete()
    {
        await _backend.ApplyAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        string first = await StateAsync();
        await _backend.ApplyAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        string second = await StateAsync();

        Assert.Equal(first, second);
        var inspection = await _backend.InspectAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        Assert.True(inspection.Complete, inspection.ToString());
        Assert.Contains("-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001", first, StringComparison.Ordinal);
        Assert.Contains("fwmark 0x111/0xfff lookup 100", first, StringComparison.Ordinal);
        Assert.Contains("local default dev lo table 100", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remove_AfterApply_LeavesNothingAndIsIdempotent()
    {
        string before = await StateAsync();
        await _backend.ApplyAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        await _backend.RemoveAsync(Pod, CancellationToken.None);
        await _backend.RemoveAsync(Pod, CancellationToken.None);

        var inspection = await _backend.InspectAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        Assert.True(inspection.Absent, inspection.ToString());
        string after = await StateAsync();
        Assert.DoesNotContain("ISTIO", after, StringComparison.Ordinal);
        Assert.DoesNotContain("0x111", after, StringComparison.Ordinal);
        Assert.DoesNotContain("table 100", after, StringComparison.Ordinal);
        // Built-in chains are created by iptables-nft on first use; compare only what we own.
        Assert.Equal(before.Split("--")[1], after.Split("--")[1]);
    }

    [Fact]
    public async Task Apply_OverPartialState_RepairsToComplete()
    {
        await _backend.ApplyAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        await Sh.RunAsync("nsenter", "--net=" + Pod, "--", "iptables", "-t", "nat", "-D", "ISTIO_OUTPUT", "4");
        await Sh.RunAsync("nsenter", "--net=" + Pod, "--", "iptables", "-t", "mangle", "-A", "PREROUTING", "-j", "ISTIO_PRERT");
        await Sh.RunAsync("nsenter", "--net=" + Pod, "--", "ip", "rule", "del", "fwmark", "0x111/0xfff", "lookup", "100");

        var broken = await _backend.InspectAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        Assert.False(broken.Complete);
        Assert.Contains("nat -A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001", broken.Missing);
        Assert.Contains("mangle -A PREROUTING -j ISTIO_PRERT (x2)", broken.Unexpected);
        Assert.Contains("ip rule fwmark 0x111/0xfff pref 32764 lookup 100", broken.Missing);

        await _backend.ApplyAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        var repaired = await _backend.InspectAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        Assert.True(repaired.Complete, repaired.ToString());
    }

    [Fact]
    public async Task Inspect_VirtualInterfaceAndIngressOptions_MatchIptablesSaveForm()
    {
        var options = new InPodRuleOptions { RerouteVirtualInterfaces = ["tun0"], InboundCapture = false };
        await _backend.ApplyAsync(Pod, options, CancellationToken.None);
        var inspection = await _backend.InspectAsync(Pod, options, CancellationToken.None);
        Assert.True(inspection.Complete, inspection.ToString());

        // Switching options reconciles to the new rule set.
        await _backend.ApplyAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        Assert.True((await _backend.InspectAsync(Pod, InPodRuleOptions.Default, CancellationToken.None)).Complete);
    }

    [Fact]
    public async Task Inspect_NeverCapturedNetns_IsAbsent()
    {
        var inspection = await _backend.InspectAsync(Pod, InPodRuleOptions.Default, CancellationToken.None);
        Assert.True(inspection.Absent, inspection.ToString());
        Assert.False(inspection.Complete);
    }

    [Fact]
    public async Task Apply_MissingNetns_ThrowsNamingTheCommand()
    {
        var e = await Assert.ThrowsAsync<RedirectionException>(() => _backend.ApplyAsync("/var/run/netns/amb-does-not-exist", InPodRuleOptions.Default, CancellationToken.None));
        Assert.Contains("nsenter", e.Message, StringComparison.Ordinal);
    }
}
