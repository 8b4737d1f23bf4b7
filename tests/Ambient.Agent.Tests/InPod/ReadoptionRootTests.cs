using Ambient.Agent.InPod;
using Ambient.Agent.Tests.Testing;
using Ambient.Net.Redirection;

namespace Ambient.Agent.Tests.InPod;

/// <summary>Root: a restarted agent re-adopts pods from its persisted registry.</summary>
public sealed class ReadoptionRootTests : IAsyncLifetime
{
    private readonly IptablesBackend _backend = new();
    private TestNetwork _net = null!;

    public async Task InitializeAsync() => _net = await TestNetwork.CreateAsync(nameof(ReadoptionRootTests));

    public async Task DisposeAsync() => await _net.DisposeAsync();

    [Fact]
    public async Task Restart_PersistedPods_ReadoptsLiveAndDropsGone()
    {
        var enrollment = new FakeEnrollment();
        string gone = _net.Prefix + "-gone";
        await _net.AddNamespaceAsync(gone);
        string dir;
        await using (var first = await TestAgent.StartAsync(enrollment: enrollment))
        {
            first.KeepDirectory = true;
            dir = first.Dir;
            await first.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);
            await first.CaptureAsync(gone, "ns", "gone", _net.Ip(9));
            await first.StopAsync();

            // Stopped agent: listeners closed, rules kept (traffic fails closed until the next agent).
            Assert.True((await _backend.InspectAsync(TestNetwork.PathOf(_net.PodA), InPodRuleOptions.Default, CancellationToken.None)).Complete);
            Assert.DoesNotContain(InPodRules.OutboundPort, await TestNetwork.ListeningPortsAsync(_net.PodA));
        }
        await _net.DeleteNamespaceAsync(gone);
        // Damage one rule while no agent runs: re-adoption must reconcile it.
        await Sh.RunAsync("nsenter", "--net=" + TestNetwork.PathOf(_net.PodA), "--", "iptables", "-t", "nat", "-D", "ISTIO_OUTPUT", "4");

        await using var second = await TestAgent.StartAsync(dir, enrollment);

        var a = second.Manager.Registry.Get("ns/a");
        Assert.NotNull(a);
        Assert.Equal(PodState.Captured, a.State);
        Assert.Null(second.Manager.Registry.Get("ns/gone"));
        var inspection = await _backend.InspectAsync(TestNetwork.PathOf(_net.PodA), InPodRuleOptions.Default, CancellationToken.None);
        Assert.True(inspection.Complete, inspection.ToString());
        var ports = await TestNetwork.ListeningPortsAsync(_net.PodA);
        Assert.Contains(InPodRules.OutboundPort, ports);
        Assert.Contains(InPodRules.InboundPlaintextPort, ports);
        Assert.Equal(1, second.Metrics.CapturedPods);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await second.Admin.GetAsync("/healthz/ready")).StatusCode);
    }

    [Fact]
    public async Task Restart_PodNoLongerEnrolled_IsUncapturedAfterVerification()
    {
        var enrollment = new FakeEnrollment();
        string dir;
        await using (var first = await TestAgent.StartAsync(enrollment: enrollment))
        {
            first.KeepDirectory = true;
            dir = first.Dir;
            await first.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);
        }
        enrollment.Set("ns", "a", enrolled: false, uid: "uid-a");

        await using var second = await TestAgent.StartAsync(dir, enrollment);

        await Wait.UntilAsync(() => second.Manager.Registry.Get("ns/a")?.State == PodState.NotEnrolled, TimeSpan.FromSeconds(10), "the re-adopted pod to be uncaptured");
        Assert.True((await _backend.InspectAsync(TestNetwork.PathOf(_net.PodA), InPodRuleOptions.Default, CancellationToken.None)).Absent);
    }
}
