using System.Net;
using System.Net.Sockets;
using Ambient.Agent.Admin;
using Ambient.Agent.Tests.Testing;
using Ambient.Net.Netns;
using Ambient.Net.Redirection;

namespace Ambient.Agent.Tests.Proxy;

/// <summary>
/// Root: the agent in-process captures real pod netns (A = client, B = server, joined by a veth), and real
/// processes (curl, python3 http.server) talk through the outbound (15001) and inbound (15006) listeners.
/// </summary>
public sealed class DataPathRootTests : IAsyncLifetime
{
    private TestNetwork _net = null!;
    private TestAgent _agent = null!;
    private string _www = null!;
    private string _secret = null!;

    public async Task InitializeAsync()
    {
        _net = await TestNetwork.CreateAsync(nameof(DataPathRootTests));
        _agent = await TestAgent.StartAsync();
        _www = Directory.CreateTempSubdirectory("amb-www-").FullName;
        _secret = "hello-" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(Path.Combine(_www, "hello.txt"), _secret);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _net.DisposeAsync();
        Directory.Delete(_www, recursive: true);
    }

    private IPEndPoint Vip => new(IPAddress.Parse($"10.96.{_net.Subnet & 255}.10"), 80);

    private async Task CaptureBothAndServeAsync()
    {
        await _agent.CaptureAsync(_net.PodA, "client-ns", "client", _net.IpA);
        await _agent.CaptureAsync(_net.PodB, "server-ns", "server", _net.IpB);
        await _net.StartHttpServerAsync(_net.PodB, _net.IpB, 8080, _www);
        _agent.Resolver.AddService(Vip, new IPEndPoint(_net.IpB, 8080), "server.server-ns.svc.cluster.local", "server", "server-ns");
    }

    [Fact]
    public async Task OutboundListener_ProcessInPodConnects_GetsOriginalDestination()
    {
        await _agent.CaptureAsync(_net.PodA, "client-ns", "client", _net.IpA);
        var target = new IPEndPoint(_net.Ip(77), 8081); // nobody there: we only care what the agent saw

        await TestNetwork.CurlAsync(_net.PodA, $"http://{target}/");

        Assert.Contains(_agent.Resolver.Calls, c => c.Original.Equals(target) && c.Source.Key == "client-ns/client");
    }

    [Fact]
    public async Task FullPath_ClientCallsServiceVip_ReachesServerThroughOutboundAndInbound()
    {
        await CaptureBothAndServeAsync();

        var (code, body, err) = await TestNetwork.CurlAsync(_net.PodA, $"http://{Vip}/hello.txt");

        Assert.True(code == 0, $"curl failed ({code}): {err}");
        Assert.Equal(_secret, body);
        await Wait.UntilAsync(() => _agent.Metrics.Totals(TcpLabels.Source).Closed >= 1 && _agent.Metrics.Totals(TcpLabels.Destination).Closed >= 1, TimeSpan.FromSeconds(5), "both sides to close");
        var src = _agent.Metrics.Totals(TcpLabels.Source);
        var dst = _agent.Metrics.Totals(TcpLabels.Destination);
        Assert.Equal(1, src.Opened);
        Assert.Equal(1, dst.Opened);
        Assert.Equal(0, src.Failed + dst.Failed);
        Assert.True(src.Received > 0 && src.Sent > _secret.Length, $"source bytes: received {src.Received}, sent {src.Sent}");
        Assert.Equal(src.Received, dst.Received);
        Assert.Equal(src.Sent, dst.Sent);
        var access = _agent.Logs.Entries.Where(e => e.Category == "access").Select(e => e.Message).ToArray();
        Assert.Contains(access, m => m.Contains("direction=outbound", StringComparison.Ordinal) && m.Contains("dst.service=server.server-ns.svc.cluster.local", StringComparison.Ordinal) && m.Contains($"dst.addr={_net.IpB}:8080", StringComparison.Ordinal));
        Assert.Contains(access, m => m.Contains("direction=inbound", StringComparison.Ordinal) && m.Contains("dst.workload=server", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FullPath_UnknownDestination_IsPassedThroughToOriginal()
    {
        await CaptureBothAndServeAsync();

        var (code, body, err) = await TestNetwork.CurlAsync(_net.PodA, $"http://{_net.IpB}:8080/hello.txt");

        Assert.True(code == 0, $"curl failed ({code}): {err}");
        Assert.Equal(_secret, body);
        Assert.Contains(_agent.Resolver.Calls, c => c.Original.Equals(new IPEndPoint(_net.IpB, 8080)));
    }

    [Fact]
    public async Task GarbageAndReset_ThenNormalRequest_NextConnectionWorks()
    {
        await CaptureBothAndServeAsync();
        var executor = _agent.Services.GetService(typeof(NetNsExecutor)) as NetNsExecutor ?? throw new InvalidOperationException("no executor");

        // 1) garbage then an abortive close (RST) mid-connection
        using (var s = await TestNetwork.SocketInAsync(executor, _net.PodA))
        {
            await s.ConnectAsync(Vip).WaitAsync(TimeSpan.FromSeconds(5));
            await s.SendAsync(new byte[] { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0xff }, SocketFlags.None);
            s.LingerState = new LingerOption(true, 0);
        }
        // 2) a connection whose inbound upstream is refused (nothing on port 9999 in B)
        using (var s = await TestNetwork.SocketInAsync(executor, _net.PodA))
        {
            await s.ConnectAsync(new IPEndPoint(_net.IpB, 9999)).WaitAsync(TimeSpan.FromSeconds(5));
            var buf = new byte[16];
            int n;
            try
            {
                n = await s.ReceiveAsync(buf.AsMemory(), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (SocketException)
            {
                n = 0; // reset: fine
            }
            Assert.Equal(0, n);
        }
        await Wait.UntilAsync(() => _agent.Metrics.Totals(TcpLabels.Destination).Failed >= 1, TimeSpan.FromSeconds(10), "the refused inbound connection to count as failed");

        var (code, body, err) = await TestNetwork.CurlAsync(_net.PodA, $"http://{Vip}/hello.txt");
        Assert.True(code == 0, $"curl after garbage failed ({code}): {err}");
        Assert.Equal(_secret, body);
    }

    [Fact]
    public async Task Inbound_SelfCallToAgentPort_IsRejected()
    {
        await CaptureBothAndServeAsync();
        var executor = (NetNsExecutor)_agent.Services.GetService(typeof(NetNsExecutor))!;

        using var s = await TestNetwork.SocketInAsync(executor, _net.PodA);
        // A → B:15001 is redirected to B's inbound listener with original port 15001: a loop, refused.
        await s.ConnectAsync(new IPEndPoint(_net.IpB, InPodRules.OutboundPort)).WaitAsync(TimeSpan.FromSeconds(5));
        int n;
        try
        {
            n = await s.ReceiveAsync(new byte[8].AsMemory(), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (SocketException)
        {
            n = 0;
        }
        Assert.Equal(0, n);
        await Wait.UntilAsync(() => _agent.Logs.Entries.Any(e => e.Message.Contains("self call", StringComparison.Ordinal)), TimeSpan.FromSeconds(5), "a self-call rejection log");
    }

    [Fact]
    public async Task Outbound_ServiceWithoutEndpoints_ConnectionIsClosedAndCountedFailed()
    {
        await _agent.CaptureAsync(_net.PodA, "client-ns", "client", _net.IpA);
        var empty = new IPEndPoint(IPAddress.Parse("10.96.200.1"), 80);
        _agent.Resolver.AddEmptyService(empty, "empty.ns.svc.cluster.local");

        var (code, _, _) = await TestNetwork.CurlAsync(_net.PodA, $"http://{empty}/");

        Assert.NotEqual(0, code);
        Assert.True(_agent.Metrics.Totals(TcpLabels.Source).Failed >= 1);
    }
}
