using System.Net;
using System.Text.Json;
using Ambient.Agent.InPod;
using Ambient.Agent.Tests.Testing;
using Ambient.Net.Cni;
using Ambient.Net.Redirection;

namespace Ambient.Agent.Tests.InPod;

/// <summary>Root: CNI ADD/CHECK/DEL, live enrollment changes, admin endpoints, against real pod netns.</summary>
public sealed class CaptureLifecycleRootTests : IAsyncLifetime
{
    private readonly IptablesBackend _backend = new();
    private TestNetwork _net = null!;
    private TestAgent _agent = null!;

    private string PodA => TestNetwork.PathOf(_net.PodA);

    public async Task InitializeAsync()
    {
        _net = await TestNetwork.CreateAsync(nameof(CaptureLifecycleRootTests));
        _agent = await TestAgent.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _net.DisposeAsync();
    }

    private async Task AssertCapturedAsync()
    {
        var inspection = await _backend.InspectAsync(PodA, InPodRuleOptions.Default, CancellationToken.None);
        Assert.True(inspection.Complete, inspection.ToString());
        var ports = await TestNetwork.ListeningPortsAsync(_net.PodA);
        Assert.Contains(InPodRules.OutboundPort, ports);
        Assert.Contains(InPodRules.InboundPlaintextPort, ports);
    }

    private async Task AssertUncapturedAsync()
    {
        var inspection = await _backend.InspectAsync(PodA, InPodRuleOptions.Default, CancellationToken.None);
        Assert.True(inspection.Absent, inspection.ToString());
        var ports = await TestNetwork.ListeningPortsAsync(_net.PodA);
        Assert.DoesNotContain(InPodRules.OutboundPort, ports);
        Assert.DoesNotContain(InPodRules.InboundPlaintextPort, ports);
    }

    [Fact]
    public async Task Add_EnrolledPod_CapturedOnlyOnceRulesAndListenersExist()
    {
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);

        await AssertCapturedAsync();
        var entry = _agent.Manager.Registry.Get("ns/a");
        Assert.NotNull(entry);
        Assert.Equal(PodState.Captured, entry.State);
        Assert.Equal(["" + _net.IpA], entry.Ips);
        Assert.Equal("uid-a", entry.Uid);
        Assert.Contains(("ns/a", RedirectionStatus.Enabled), _agent.Reporter.Reports);
        Assert.Equal(1, _agent.Metrics.CapturedPods);
    }

    [Fact]
    public async Task Add_Repeated_StaysCapturedWithoutDuplicates()
    {
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);

        await AssertCapturedAsync();
    }

    [Fact]
    public async Task Add_UnknownPod_FailsClosedWithErrorBody()
    {
        var response = await _agent.AddAsync(_net.PodA, "ns", "ghost", _net.IpA);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var error = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), PodHandoffJson.Default.PodErrorResponse)!;
        Assert.Contains("ns/ghost", error.Error, StringComparison.Ordinal);
        await AssertUncapturedAsync();
    }

    [Fact]
    public async Task Add_NotEnrolledPod_AnswersNotEnrolledAndTouchesNothing()
    {
        _agent.Enrollment.Set("ns", "a", enrolled: false);

        Assert.Equal(PodHandoff.ResultNotEnrolled, await TestAgent.ResultOf(await _agent.AddAsync(_net.PodA, "ns", "a", _net.IpA)));

        await AssertUncapturedAsync();
        Assert.Equal(PodState.NotEnrolled, _agent.Manager.Registry.Get("ns/a")!.State);
    }

    [Fact]
    public async Task Add_MissingNetns_Fails()
    {
        _agent.Enrollment.Set("ns", "a", enrolled: true);
        var response = await _agent.AddAsync("amb-no-such-netns", "ns", "a", _net.IpA);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Del_CapturedPod_LeavesNoRuleListenerOrEntryAndIsIdempotent()
    {
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);

        Assert.Equal(HttpStatusCode.OK, (await _agent.DelAsync(_net.PodA, "ns", "a")).StatusCode);

        await AssertUncapturedAsync();
        Assert.Null(_agent.Manager.Registry.Get("ns/a"));
        Assert.Equal(0, _agent.Metrics.CapturedPods);
        Assert.Equal(HttpStatusCode.OK, (await _agent.DelAsync(_net.PodA, "ns", "a")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _agent.DelAsync(_net.PodA, "ns", "never-seen")).StatusCode);
    }

    [Fact]
    public async Task Del_StaleContainerId_KeepsCurrentCapture()
    {
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);

        Assert.Equal(HttpStatusCode.OK, (await _agent.DelAsync(_net.PodA, "ns", "a", containerId: "old-sandbox")).StatusCode);

        await AssertCapturedAsync();
    }

    [Fact]
    public async Task Check_CapturedThenRuleDeleted_200Then409()
    {
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);
        Assert.Equal(PodHandoff.ResultCaptured, await TestAgent.ResultOf(await _agent.CheckAsync(_net.PodA, "ns", "a")));

        await Sh.RunAsync("nsenter", "--net=" + PodA, "--", "iptables", "-t", "nat", "-F", "ISTIO_OUTPUT");

        var response = await _agent.CheckAsync(_net.PodA, "ns", "a");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("REDIRECT --to-ports 15001", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnrollmentChange_RemovedThenAdded_UncapturesAndRecapturesLive()
    {
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);

        _agent.Enrollment.Change("ns", "a", enrolled: false, uid: "uid-a");
        await Wait.UntilAsync(() => _agent.Reporter.Reports.Contains(("ns/a", RedirectionStatus.Disabled)), TimeSpan.FromSeconds(10), "redirection=disabled report");
        await AssertUncapturedAsync();
        Assert.Equal(PodState.NotEnrolled, _agent.Manager.Registry.Get("ns/a")!.State);

        _agent.Enrollment.Change("ns", "a", enrolled: true, uid: "uid-a");
        await Wait.UntilAsync(() => _agent.Reporter.Reports.Count(r => r == ("ns/a", RedirectionStatus.Enabled)) >= 2, TimeSpan.FromSeconds(10), "second redirection=enabled report");
        await AssertCapturedAsync();
        Assert.Equal(PodState.Captured, _agent.Manager.Registry.Get("ns/a")!.State);
    }

    [Fact]
    public async Task EnrollmentChange_NotEnrolledAtAddThenEnrolled_CapturesRunningPod()
    {
        _agent.Enrollment.Set("ns", "a", enrolled: false);
        Assert.Equal(PodHandoff.ResultNotEnrolled, await TestAgent.ResultOf(await _agent.AddAsync(_net.PodA, "ns", "a", _net.IpA)));

        _agent.Enrollment.Change("ns", "a", enrolled: true);
        await Wait.UntilAsync(() => _agent.Manager.Registry.Get("ns/a")?.State == PodState.Captured, TimeSpan.FromSeconds(10), "the running pod to be captured");

        await AssertCapturedAsync();
    }

    [Fact]
    public async Task Admin_AfterCapture_ServesMetricsReadinessAndPods()
    {
        await _agent.CaptureAsync(_net.PodA, "ns", "a", _net.IpA);

        var ready = await _agent.Admin.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        string metrics = await _agent.Admin.GetStringAsync("/metrics");
        Assert.Contains("ambient_agent_captured_pods 1", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE istio_tcp_connections_opened counter", metrics, StringComparison.Ordinal);
        string pods = await _agent.Admin.GetStringAsync("/pods");
        Assert.Contains("\"name\": \"a\"", pods, StringComparison.Ordinal);
        Assert.Contains("outbound@0.0.0.0:15001", pods, StringComparison.Ordinal);

        // CNI paths are not served on the admin socket, nor admin pages on the CNI socket.
        var del = new StringContent("""{"containerId":"c1","podName":"a","podNamespace":"ns"}""", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _agent.Admin.PostAsync(PodHandoff.DelPath, del)).StatusCode);
        Assert.Equal(PodState.Captured, _agent.Manager.Registry.Get("ns/a")!.State);
        Assert.Equal(HttpStatusCode.NotFound, (await _agent.Cni.PostAsync("/metrics", new StringContent("{}"))).StatusCode);
    }

    [Fact]
    public async Task CniSocket_FileMode_Is0660()
    {
        Assert.False(OperatingSystem.IsWindows());
        var mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(Path.Combine(_agent.Dir, "cni.sock"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, mode);
        await Task.CompletedTask;
    }
}
