using System.Net;
using System.Net.Sockets;
using Ambient.Identity;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ambient.Hbone.Tests;

/// <summary>Handler built from a delegate.</summary>
internal sealed class DelegateHandler(Func<HboneInboundRequest, CancellationToken, Task> handle) : IHboneHandler
{
    public Task HandleAsync(HboneInboundRequest request, CancellationToken ct) => handle(request, ct);

    /// <summary>Accepts and echoes until the client half-closes, then half-closes back.</summary>
    public static DelegateHandler Echo() => new(async (req, ct) =>
    {
        await using var stream = await req.AcceptAsync([new("baggage", "k8s.namespace.name=x")], ct);
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
            await stream.WriteAsync(buffer.AsMemory(0, n), ct);
        await stream.CompleteWritesAsync(ct);
    });
}

/// <summary>
/// An HBONE server on 127.0.0.1 with real TLS: every accepted connection is authenticated and served on its own task,
/// with its own cancellation so a test can drain one connection.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accept;

    public LoopbackServer(IHboneHandler handler, HboneServerOptions? options = null, WorkloadCertificate? identity = null, TrustBundle? bundle = null)
    {
        Identity = identity ?? TestPki.Default.Issue(TestPki.Id("server"));
        Bundle = bundle ?? TestPki.Default.Bundle;
        Options = options ?? new HboneServerOptions();
        _listener.Start();
        _accept = AcceptLoopAsync(handler);
    }

    public WorkloadCertificate Identity { get; }
    public TrustBundle Bundle { get; }
    public HboneServerOptions Options { get; }
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;
    public int Accepted;
    public readonly List<CancellationTokenSource> ConnectionTokens = [];
    public readonly List<Task> ServeTasks = [];
    public readonly List<Exception> TlsFailures = [];

    private async Task AcceptLoopAsync(IHboneHandler handler)
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                lock (ConnectionTokens)
                {
                    ConnectionTokens.Add(cts);
                    Accepted++;
                    ServeTasks.Add(Task.Run(async () =>
                    {
                        HboneTlsSession session;
                        try
                        {
                            session = await HboneTls.AuthenticateAsServerAsync(new NetworkStream(socket, ownsSocket: true), Identity, Bundle, cts.Token);
                        }
                        catch (Exception e)
                        {
                            lock (TlsFailures)
                                TlsFailures.Add(e);
                            return;
                        }
                        await HboneServer.ServeAsync(session, handler, Options, NullLogger.Instance, cts.Token);
                    }));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accept;
        Task[] tasks;
        lock (ConnectionTokens)
            tasks = [.. ServeTasks];
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(15));
    }
}

/// <summary>Client side: a pool and the openConnection callback the agent would pass (TCP connect + TLS).</summary>
internal sealed class LoopbackClient : IAsyncDisposable
{
    public LoopbackClient(LoopbackServer server, HboneClientOptions? options = null, WorkloadCertificate? identity = null)
        : this(server.EndPoint, [server.Identity.Identity], options, identity) { }

    public LoopbackClient(IPEndPoint target, IReadOnlyCollection<SpiffeId> expected, HboneClientOptions? options = null, WorkloadCertificate? identity = null,
        TrustBundle? bundle = null)
    {
        Target = target;
        Expected = expected;
        Identity = identity ?? TestPki.Default.Issue(TestPki.Id("client"));
        Bundle = bundle ?? TestPki.Default.Bundle;
        Pool = new HboneClientPool(options ?? new HboneClientOptions(), NullLogger<HboneClientPool>.Instance);
        Key = new HbonePoolKey(Identity.Identity, HbonePoolKey.JoinIdentities(expected), target, IPAddress.Loopback);
    }

    public IPEndPoint Target { get; }
    public IReadOnlyCollection<SpiffeId> Expected { get; }
    public WorkloadCertificate Identity { get; }
    public TrustBundle Bundle { get; }
    public HboneClientPool Pool { get; }
    public HbonePoolKey Key { get; }
    public int Opened;

    public async Task<HboneTlsSession> OpenAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref Opened);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(Target, ct);
            return await HboneTls.AuthenticateAsClientAsync(new NetworkStream(socket, ownsSocket: true), Identity, Bundle, Expected, ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public Task<HboneStream> ConnectAsync(string authority = "10.0.0.1:8080", CancellationToken ct = default) =>
        Pool.ConnectAsync(Key, new HboneRequest(authority, [new("baggage", "k8s.cluster.name=c"), new("forwarded", "for=\"10.0.0.9:4444\"")]), OpenAsync, ct);

    public ValueTask DisposeAsync() => Pool.DisposeAsync();
}

internal static class StreamExtensions
{
    public static async Task<byte[]> ReadToEndAsync(this Stream stream, CancellationToken ct = default)
    {
        var ms = new MemoryStream();
        await stream.CopyToAsync(ms, ct);
        return ms.ToArray();
    }
}
