using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Ambient.Cni.Plugin;

/// <summary>
/// HTTP/1.1 to the node agent over its Unix socket (the <see cref="Ambient.Net.Cni.PodHandoff"/> contract).
/// One request per plugin run, so no pooling, proxies, redirects or cookies; every call is bounded by
/// <c>timeout</c> (connect, send and read together).
/// </summary>
internal sealed class AgentClient : IDisposable
{
    /// <summary>Answers are a small JSON object; anything bigger is not our agent.</summary>
    private const int MaxResponseBytes = 64 * 1024;

    private readonly HttpClient _http;

    public AgentClient(string socketPath, TimeSpan timeout)
    {
        SocketPath = socketPath;
        Timeout = timeout;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            ConnectCallback = (_, ct) => ConnectAsync(socketPath, ct),
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = new Uri("http://localhost"),
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // our own CTS bounds each call
            MaxResponseContentBufferSize = MaxResponseBytes,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public string SocketPath { get; }

    public TimeSpan Timeout { get; }

    /// <summary>POSTs a JSON body. Transport failures and the timeout throw; see <see cref="Describe"/>.</summary>
    public async Task<AgentReply> PostAsync(string path, byte[] json, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(Timeout);
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
        return new AgentReply(response.StatusCode, body);
    }

    /// <summary>
    /// Proves the agent's HTTP server is alive: any HTTP answer counts (a listening socket alone does not,
    /// the kernel accepts into the backlog even when the agent is wedged).
    /// </summary>
    public async Task ProbeAsync(CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
    }

    /// <summary>True for the failures that mean "the agent did not answer" (as opposed to our own bugs).</summary>
    public static bool IsUnreachable(Exception e) =>
        e is HttpRequestException or OperationCanceledException or IOException or SocketException;

    /// <summary>A short, operator-facing reason for an <see cref="IsUnreachable"/> failure.</summary>
    public string Describe(Exception e)
    {
        if (e is OperationCanceledException)
        {
            return $"no answer within {Timeout.TotalSeconds:0.###} s";
        }

        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException se)
            {
                return se.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused (the socket exists but nothing listens on it)",
                    SocketError.AddressNotAvailable when !File.Exists(SocketPath) => "the socket does not exist",
                    SocketError.AccessDenied => "permission denied on the socket",
                    _ => se.Message,
                };
            }
        }

        return e.InnerException is { } cause ? $"{e.Message} ({cause.Message})" : e.Message;
    }

    public void Dispose() => _http.Dispose();

    private static async ValueTask<Stream> ConnectAsync(string socketPath, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
