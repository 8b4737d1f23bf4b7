using System.Security.Cryptography;
using System.Text;

namespace Ambient.Hbone.Tests;

/// <summary>Our client against our server over loopback TCP and real mTLS.</summary>
public class TunnelTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Connect_Accepted_BytesFlowBothWaysAndHeadersArrive()
    {
        HboneInboundRequest? seen = null;
        await using var server = new LoopbackServer(new DelegateHandler(async (req, ct) =>
        {
            seen = req;
            await DelegateHandler.Echo().HandleAsync(req, ct);
        }));
        await using var client = new LoopbackClient(server);
        await using var stream = await client.ConnectAsync("10.1.2.3:9080").WaitAsync(Timeout);

        Assert.Equal(200, stream.StatusCode);
        Assert.Contains(stream.ResponseHeaders, h => h.Key == "baggage" && h.Value == "k8s.namespace.name=x");
        await stream.WriteAsync("hello"u8.ToArray());
        await stream.CompleteWritesAsync();
        Assert.Equal("hello", Encoding.ASCII.GetString(await stream.ReadToEndAsync().WaitAsync(Timeout)));
        Assert.NotNull(seen);
        Assert.Equal("CONNECT", seen!.Method);
        Assert.Equal("10.1.2.3:9080", seen.Authority);
        Assert.Equal("k8s.cluster.name=c", seen.Header("Baggage"));
        Assert.Equal(client.Identity.Identity, seen.PeerIdentity);
    }

    [Fact]
    public async Task HalfClose_EachDirectionEndsIndependently()
    {
        var serverGotEof = new TaskCompletionSource();
        await using var server = new LoopbackServer(new DelegateHandler(async (req, ct) =>
        {
            await using var s = await req.AcceptAsync(ct: ct);
            // Server finishes its direction first, then keeps reading the client's.
            await s.WriteAsync("from-server"u8.ToArray(), ct);
            await s.CompleteWritesAsync(ct);
            var got = await s.ReadToEndAsync(ct);
            Assert.Equal("from-client-after-server-eof", Encoding.ASCII.GetString(got));
            serverGotEof.SetResult();
        }));
        await using var client = new LoopbackClient(server);
        await using var stream = await client.ConnectAsync().WaitAsync(Timeout);
        Assert.Equal("from-server", Encoding.ASCII.GetString(await stream.ReadToEndAsync().WaitAsync(Timeout)));
        await stream.WriteAsync("from-client-after-server-eof"u8.ToArray());
        await stream.CompleteWritesAsync();
        await serverGotEof.Task.WaitAsync(Timeout);
    }

    [Fact]
    public async Task TenMegabytes_BothDirectionsAtOnce_ContentIntact()
    {
        await using var server = new LoopbackServer(DelegateHandler.Echo());
        await using var client = new LoopbackClient(server);
        await using var stream = await client.ConnectAsync().WaitAsync(Timeout);
        var payload = RandomNumberGenerator.GetBytes(10 * 1024 * 1024);
        var reader = stream.ReadToEndAsync();
        for (int off = 0; off < payload.Length; off += 100_000)
            await stream.WriteAsync(payload.AsMemory(off, Math.Min(100_000, payload.Length - off)));
        await stream.CompleteWritesAsync();
        var echoed = await reader.WaitAsync(TimeSpan.FromSeconds(40));
        Assert.Equal(payload.Length, echoed.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echoed));
    }

    [Fact]
    public async Task FiftyConcurrentStreams_ShareOneConnection()
    {
        await using var server = new LoopbackServer(DelegateHandler.Echo());
        await using var client = new LoopbackClient(server);
        var streams = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.ConnectAsync())).WaitAsync(Timeout);
        Assert.Equal(1, client.Pool.ConnectionCount);
        Assert.Equal(1, client.Opened);
        await Task.WhenAll(streams.Select(async (s, i) =>
        {
            var msg = Encoding.ASCII.GetBytes($"stream-{i}");
            await s.WriteAsync(msg);
            await s.CompleteWritesAsync();
            Assert.Equal(msg, await s.ReadToEndAsync());
            await s.DisposeAsync();
        })).WaitAsync(Timeout);
    }

    [Fact]
    public async Task StreamBeyondMaxStreamsPerConnection_OpensSecondConnection()
    {
        await using var server = new LoopbackServer(DelegateHandler.Echo());
        await using var client = new LoopbackClient(server, new HboneClientOptions { MaxStreamsPerConnection = 3 });
        var streams = new List<HboneStream>();
        for (int i = 0; i < 3; i++)
            streams.Add(await client.ConnectAsync().WaitAsync(Timeout));
        Assert.Equal(1, client.Pool.ConnectionCount);
        streams.Add(await client.ConnectAsync().WaitAsync(Timeout));
        Assert.Equal(2, client.Pool.ConnectionCount);
        Assert.Equal(2, server.Accepted);
        foreach (var s in streams)
            await s.DisposeAsync();
    }

    [Fact]
    public async Task Reject401_ClientGetsHboneConnectException()
    {
        await using var server = new LoopbackServer(new DelegateHandler((req, ct) => req.RejectAsync(401, ct).AsTask()));
        await using var client = new LoopbackClient(server);
        var e = await Assert.ThrowsAsync<HboneConnectException>(() => client.ConnectAsync().WaitAsync(Timeout));
        Assert.Equal(401, e.Status);
        Assert.Contains("401", e.Message);
        // The connection survives a rejected stream.
        Assert.Equal(1, client.Pool.ConnectionCount);
    }

    [Fact]
    public async Task SlowServerReader_ClientWriteBlocksUntilServerReads()
    {
        var startReading = new TaskCompletionSource();
        var received = new TaskCompletionSource<long>();
        await using var server = new LoopbackServer(new DelegateHandler(async (req, ct) =>
        {
            await using var s = await req.AcceptAsync(ct: ct);
            await startReading.Task;
            received.SetResult((await s.ReadToEndAsync(ct)).Length);
            await s.CompleteWritesAsync(ct);
        }), new HboneServerOptions { StreamWindow = 65_535 });
        await using var client = new LoopbackClient(server);
        await using var stream = await client.ConnectAsync().WaitAsync(Timeout);

        // 1 MiB against a 64 KiB stream window: the write cannot finish while nobody reads.
        var write = stream.WriteAsync(new byte[1024 * 1024]).AsTask();
        await Task.Delay(500);
        Assert.False(write.IsCompleted, "the write should wait for WINDOW_UPDATE");
        startReading.SetResult();
        await write.WaitAsync(Timeout);
        await stream.CompleteWritesAsync();
        Assert.Equal(1024 * 1024, await received.Task.WaitAsync(Timeout));
    }

    [Fact]
    public async Task ServerCancelled_GoAwayDrain_OpenStreamFinishes_NewStreamUsesNewConnection()
    {
        await using var server = new LoopbackServer(DelegateHandler.Echo());
        await using var client = new LoopbackClient(server);
        await using var first = await client.ConnectAsync().WaitAsync(Timeout);
        await first.WriteAsync("a"u8.ToArray());
        var buffer = new byte[1];
        Assert.Equal(1, await first.ReadAsync(buffer).AsTask().WaitAsync(Timeout));

        server.ConnectionTokens[0].Cancel(); // graceful drain of connection 1
        var deadline = DateTime.UtcNow + Timeout;
        while (client.Pool.ConnectionCount != 0 && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        Assert.Equal(0, client.Pool.ConnectionCount); // GOAWAY: not handed out again

        // The open stream keeps working through the drain.
        await first.WriteAsync("b"u8.ToArray());
        Assert.Equal(1, await first.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
        Assert.Equal((byte)'b', buffer[0]);

        await using var second = await client.ConnectAsync().WaitAsync(Timeout);
        Assert.Equal(2, server.Accepted);

        await first.CompleteWritesAsync();
        Assert.Empty(await first.ReadToEndAsync().WaitAsync(Timeout));
        // With its last stream done, the drained connection's ServeAsync returns well before DrainTimeout.
        await server.ServeTasks[0].WaitAsync(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Abort_ServerReadFailsWithIOException()
    {
        var serverError = new TaskCompletionSource<Exception>();
        var accepted = new TaskCompletionSource();
        await using var server = new LoopbackServer(new DelegateHandler(async (req, ct) =>
        {
            await using var s = await req.AcceptAsync(ct: ct);
            accepted.SetResult();
            try
            {
                await s.ReadToEndAsync(ct);
                serverError.SetResult(new Exception("no error"));
            }
            catch (Exception e)
            {
                serverError.SetResult(e);
            }
        }));
        await using var client = new LoopbackClient(server);
        var stream = await client.ConnectAsync().WaitAsync(Timeout);
        await accepted.Task.WaitAsync(Timeout);
        stream.Abort();
        Assert.IsAssignableFrom<IOException>(await serverError.Task.WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<IOException>(() => stream.ReadAsync(new byte[1]).AsTask());
    }

    [Fact]
    public async Task NonConnectRequest_DoesNotReachHandler()
    {
        // Covered end to end with python-h2 in InteropTests; here: the handler is never called for a rejected stream.
        int calls = 0;
        await using var server = new LoopbackServer(new DelegateHandler((req, ct) => { calls++; return req.RejectAsync(503, ct).AsTask(); }));
        await using var client = new LoopbackClient(server);
        var e = await Assert.ThrowsAsync<HboneConnectException>(() => client.ConnectAsync().WaitAsync(Timeout));
        Assert.Equal(503, e.Status);
        Assert.Equal(1, calls);
    }
}
