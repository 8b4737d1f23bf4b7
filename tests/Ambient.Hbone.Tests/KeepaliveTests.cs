using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Ambient.Identity;

namespace Ambient.Hbone.Tests;

/// <summary>PING keepalive and idle release, with short intervals.</summary>
public class KeepaliveTests
{
    /// <summary>A TLS peer that speaks just enough HTTP/2 (SETTINGS) and then goes silent: reads, never answers.</summary>
    private static async Task SilentPeerAsync(TcpListener listener, WorkloadCertificate identity, CancellationToken ct)
    {
        using var socket = await listener.AcceptSocketAsync(ct);
        var session = await HboneTls.AuthenticateAsServerAsync(new NetworkStream(socket, ownsSocket: false), identity, TestPki.Default.Bundle, ct);
        await session.Stream.WriteAsync(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }, ct); // empty SETTINGS
        var buffer = new byte[65536];
        while (await session.Stream.ReadAsync(buffer, ct) > 0)
        {
        }
    }

    [Fact]
    public async Task DeadPeer_NoPingAck_ConnectionClosedAndConnectFails()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var identity = TestPki.Default.Issue(TestPki.Id("silent"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var peer = SilentPeerAsync(listener, identity, cts.Token);
        await using var client = new LoopbackClient((IPEndPoint)listener.LocalEndpoint, [identity.Identity],
            new HboneClientOptions { PingInterval = TimeSpan.FromMilliseconds(200), PingTimeout = TimeSpan.FromMilliseconds(300) });
        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAnyAsync<IOException>(() => client.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("PING", e.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        Assert.Equal(0, client.Pool.ConnectionCount);
        cts.Cancel();
        listener.Stop();
        try { await peer; } catch (Exception) { }
    }

    [Fact]
    public async Task LivePeer_AnswersPings_ConnectionStays()
    {
        await using var server = new LoopbackServer(DelegateHandler.Echo());
        await using var client = new LoopbackClient(server,
            new HboneClientOptions { PingInterval = TimeSpan.FromMilliseconds(100), PingTimeout = TimeSpan.FromMilliseconds(500) });
        await using var stream = await client.ConnectAsync();
        await Task.Delay(1000); // ~10 PING round trips
        await stream.WriteAsync("x"u8.ToArray());
        var b = new byte[1];
        Assert.Equal(1, await stream.ReadAsync(b));
        Assert.Equal(1, client.Pool.ConnectionCount);
    }

    [Fact]
    public async Task IdleConnection_ReleasedAfterIdleTimeout()
    {
        await using var server = new LoopbackServer(DelegateHandler.Echo());
        await using var client = new LoopbackClient(server, new HboneClientOptions { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        var stream = await client.ConnectAsync();
        await stream.CompleteWritesAsync();
        await stream.ReadToEndAsync();
        await stream.DisposeAsync();
        Assert.Equal(1, client.Pool.ConnectionCount);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (client.Pool.ConnectionCount != 0 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(0, client.Pool.ConnectionCount);
        await server.ServeTasks[0].WaitAsync(TimeSpan.FromSeconds(5)); // the server saw the close
    }
}
