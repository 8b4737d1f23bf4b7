using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ambient.ControlPlane.Tests.Kubernetes;

/// <summary>How the fake answers a watch whose resourceVersion has been compacted away.</summary>
public enum GoneMode
{
    /// <summary>HTTP 410 with a Status body.</summary>
    HttpStatus,

    /// <summary>HTTP 200, then one ERROR event carrying a Status with code 410 (what a real API server does).</summary>
    ErrorEvent,
}

/// <summary>One request the fake received, for asserting what the client asked for.</summary>
public sealed record RecordedRequest(string Path, bool Watch, IReadOnlyDictionary<string, string> Query, TimeSpan At)
{
    public string? ResourceVersion => Query.GetValueOrDefault("resourceVersion");
}

/// <summary>
/// An in-test Kubernetes API server (Kestrel, HTTP/1.1, loopback) speaking the real list/watch wire format:
/// <c>GET /api/v1/pods</c> returns a List with <c>metadata.resourceVersion</c> (paged with <c>limit</c>/<c>continue</c>);
/// <c>?watch=true</c> streams chunked, newline-delimited events from the requested resourceVersion (replaying history
/// after it), with bookmarks when asked for. Tests mutate objects (with or without telling watchers), compact history
/// (so old versions get 410 Gone, as HTTP 410 or an ERROR event), inject failures, and drop watch connections.
/// </summary>
public sealed class FakeKubeApiServer : IAsyncDisposable
{
    public static class Paths
    {
        public const string Namespaces = "/api/v1/namespaces";
        public const string Pods = "/api/v1/pods";
        public const string Services = "/api/v1/services";
        public const string ServiceAccounts = "/api/v1/serviceaccounts";
        public const string AuthorizationPolicies = "/apis/security.istio.io/v1/authorizationpolicies";
        public const string PeerAuthentications = "/apis/security.istio.io/v1/peerauthentications";
    }

    private static readonly Dictionary<string, (string Kind, string ApiVersion, bool ClusterScoped)> Kinds = new(StringComparer.Ordinal)
    {
        [Paths.Namespaces] = ("Namespace", "v1", true),
        [Paths.Pods] = ("Pod", "v1", false),
        [Paths.Services] = ("Service", "v1", false),
        [Paths.ServiceAccounts] = ("ServiceAccount", "v1", false),
        [Paths.AuthorizationPolicies] = ("AuthorizationPolicy", "security.istio.io/v1", false),
        [Paths.PeerAuthentications] = ("PeerAuthentication", "security.istio.io/v1", false),
    };

    private sealed class Watcher(bool bookmarks)
    {
        public readonly Channel<string> Lines = Channel.CreateUnbounded<string>();
        public readonly CancellationTokenSource Abort = new();
        public bool Bookmarks { get; } = bookmarks;
    }

    private sealed class Collection(string kind, string apiVersion, bool clusterScoped)
    {
        public string Kind { get; } = kind;
        public string ApiVersion { get; } = apiVersion;
        public bool ClusterScoped { get; } = clusterScoped;
        public readonly SortedDictionary<string, JsonObject> Objects = new(StringComparer.Ordinal);
        public readonly List<(long Rv, string Line)> History = [];
        public readonly List<Watcher> Watchers = [];
        public long OldestWatchable;
        public GoneMode GoneMode;
        public bool Served = true;
        public int FailLists;
        public int FailWatches;
        public HttpStatusCode FailStatus = HttpStatusCode.InternalServerError;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Collection> _collections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Rv, List<JsonObject> Remaining)> _continuations = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly WebApplication _app;
    private long _rv = 1000;
    private int _continueSeq;

    private FakeKubeApiServer(WebApplication app)
    {
        _app = app;
        foreach (var (path, k) in Kinds)
            _collections[path] = new Collection(k.Kind, k.ApiVersion, k.ClusterScoped);
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>Largest page a LIST returns, whatever limit the client asks for (null: honour the limit).</summary>
    public int? MaxPageSize { get; set; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public IReadOnlyList<RecordedRequest> Lists(string path) => [.. _requests.Where(r => r.Path == path && !r.Watch)];

    public IReadOnlyList<RecordedRequest> Watches(string path) => [.. _requests.Where(r => r.Path == path && r.Watch)];

    public string CurrentResourceVersion
    {
        get
        {
            lock (_lock)
                return _rv.ToString(CultureInfo.InvariantCulture);
        }
    }

    public static async Task<FakeKubeApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var server = new FakeKubeApiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    /// <summary>Writes a kubeconfig (plain HTTP, no credentials) pointing at this server; returns its path.</summary>
    public string WriteKubeconfig(string directory)
    {
        var path = Path.Combine(directory, "kubeconfig");
        // A context without a user is how a kubeconfig says "no credentials".
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Address.GetLeftPart(UriPartial.Authority)}
            contexts:
            - name: fake
              context:
                cluster: fake
            current-context: fake
            """);
        return path;
    }

    // ---- state changes -------------------------------------------------------------------------------------

    /// <summary>Creates or replaces an object; watchers get ADDED/MODIFIED unless <paramref name="notify"/> is false
    /// (then the change is simply lost for watchers, as if the event was missed). Returns the new resourceVersion.</summary>
    public string Apply(string path, JsonObject obj, bool notify = true)
    {
        lock (_lock)
        {
            var c = _collections[path];
            var rv = ++_rv;
            var copy = (JsonObject)obj.DeepClone();
            copy["kind"] = c.Kind;
            copy["apiVersion"] = c.ApiVersion;
            var meta = copy["metadata"] as JsonObject ?? throw new ArgumentException("object has no metadata");
            meta["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            var key = KeyOf(c, copy);
            var type = c.Objects.ContainsKey(key) ? "MODIFIED" : "ADDED";
            c.Objects[key] = copy;
            if (notify)
                Publish(c, rv, Event(type, copy));
            return rv.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Deletes an object; watchers get DELETED (with its last state) unless <paramref name="notify"/> is false.</summary>
    public void Delete(string path, string ns, string name, bool notify = true)
    {
        lock (_lock)
        {
            var c = _collections[path];
            var key = c.ClusterScoped ? name : $"{ns}/{name}";
            if (!c.Objects.Remove(key, out var last))
                throw new InvalidOperationException($"{key} does not exist in {path}");
            var rv = ++_rv;
            var gone = (JsonObject)last.DeepClone();
            ((JsonObject)gone["metadata"]!)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            if (notify)
                Publish(c, rv, Event("DELETED", gone));
        }
    }

    /// <summary>Moves the cluster's resourceVersion on, as changes to other kinds would.</summary>
    public string AdvanceResourceVersion(int by)
    {
        lock (_lock)
        {
            _rv += by;
            return _rv.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Sends a BOOKMARK at the current resourceVersion to the collection's watchers that asked for bookmarks.</summary>
    public string SendBookmark(string path)
    {
        lock (_lock)
        {
            var c = _collections[path];
            var rv = _rv.ToString(CultureInfo.InvariantCulture);
            var bookmark = new JsonObject
            {
                ["kind"] = c.Kind,
                ["apiVersion"] = c.ApiVersion,
                ["metadata"] = new JsonObject { ["resourceVersion"] = rv },
            };
            var line = Event("BOOKMARK", bookmark);
            foreach (var w in c.Watchers.Where(w => w.Bookmarks))
                w.Lines.Writer.TryWrite(line);
            return rv;
        }
    }

    /// <summary>Forgets the collection's history: a watch from any version before now is answered with 410 Gone.</summary>
    public void CompactHistory(string path, GoneMode mode)
    {
        lock (_lock)
        {
            var c = _collections[path];
            c.History.Clear();
            c.OldestWatchable = _rv;
            c.GoneMode = mode;
        }
    }

    /// <summary>Sends an ERROR event (a Status with <paramref name="code"/>) on every open watch, then ends them.</summary>
    public void SendError(string path, int code, string reason)
    {
        lock (_lock)
        {
            var c = _collections[path];
            var line = Event("ERROR", Status(code, reason, $"fake error {code}"));
            foreach (var w in c.Watchers)
            {
                w.Lines.Writer.TryWrite(line);
                w.Lines.Writer.TryComplete();
            }
            c.Watchers.Clear();
        }
    }

    /// <summary>Ends every open watch of the collection: cleanly (end of stream) or by aborting the connection.</summary>
    public void DropWatches(string path, bool abort)
    {
        lock (_lock)
        {
            var c = _collections[path];
            foreach (var w in c.Watchers)
            {
                if (abort)
                    w.Abort.Cancel();
                else
                    w.Lines.Writer.TryComplete();
            }
            c.Watchers.Clear();
        }
    }

    public int OpenWatches(string path)
    {
        lock (_lock)
            return _collections[path].Watchers.Count;
    }

    /// <summary>Answers the next <paramref name="count"/> LIST and/or WATCH requests of the collection with an error status.</summary>
    public void Fail(string path, int lists, int watches, HttpStatusCode status = HttpStatusCode.InternalServerError)
    {
        lock (_lock)
        {
            var c = _collections[path];
            c.FailLists = lists;
            c.FailWatches = watches;
            c.FailStatus = status;
        }
    }

    /// <summary>Whether the collection exists (a CRD that is not installed answers 404).</summary>
    public void SetServed(string path, bool served)
    {
        lock (_lock)
            _collections[path].Served = served;
    }

    // ---- HTTP ----------------------------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        var query = ctx.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
        var watch = query.TryGetValue("watch", out var w) && w is "1" or "true";
        _requests.Enqueue(new RecordedRequest(path, watch, query, _clock.Elapsed));

        Collection? c;
        HttpStatusCode? fail = null;
        lock (_lock)
        {
            if (_collections.TryGetValue(path, out c) && c.Served)
            {
                if (watch && c.FailWatches > 0)
                {
                    c.FailWatches--;
                    fail = c.FailStatus;
                }
                else if (!watch && c.FailLists > 0)
                {
                    c.FailLists--;
                    fail = c.FailStatus;
                }
            }
        }
        if (c is null || !c.Served)
        {
            await WriteStatusAsync(ctx, 404, "NotFound", $"the server could not find the requested resource {path}");
            return;
        }
        if (fail is { } status)
        {
            await WriteStatusAsync(ctx, (int)status, status.ToString(), "injected failure");
            return;
        }
        if (watch)
            await WatchAsync(ctx, c, query);
        else
            await ListAsync(ctx, c, query);
    }

    private async Task ListAsync(HttpContext ctx, Collection c, Dictionary<string, string> query)
    {
        long rv = 0;
        List<JsonObject> items = [];
        var expired = false;
        lock (_lock)
        {
            if (query.TryGetValue("continue", out var token) && token.Length > 0)
            {
                if (_continuations.Remove(token, out var rest))
                    (rv, items) = (rest.Rv, rest.Remaining);
                else
                    expired = true;
            }
            else
            {
                rv = _rv;
                items = [.. c.Objects.Values.Select(o => (JsonObject)o.DeepClone())];
            }
        }
        if (expired)
        {
            await WriteStatusAsync(ctx, 410, "Expired", "the continue token has expired");
            return;
        }
        var limit = query.TryGetValue("limit", out var l) && int.TryParse(l, out var n) && n > 0 ? n : int.MaxValue;
        if (MaxPageSize is { } max)
            limit = Math.Min(limit, max);
        string? next = null;
        if (items.Count > limit)
        {
            lock (_lock)
            {
                next = $"c{++_continueSeq}";
                _continuations[next] = (rv, items[limit..]);
            }
            items = items[..limit];
        }
        var page = new JsonArray();
        foreach (var item in items)
        {
            // Like a real API server: items of a typed list carry no kind/apiVersion of their own.
            item.Remove("kind");
            item.Remove("apiVersion");
            page.Add(item);
        }
        var meta = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
        if (next is not null)
            meta["continue"] = next;
        var list = new JsonObject { ["kind"] = c.Kind + "List", ["apiVersion"] = c.ApiVersion, ["metadata"] = meta, ["items"] = page };
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(list.ToJsonString());
    }

    private async Task WatchAsync(HttpContext ctx, Collection c, Dictionary<string, string> query)
    {
        var bookmarks = query.TryGetValue("allowWatchBookmarks", out var b) && b is "1" or "true";
        var watcher = new Watcher(bookmarks);
        var gone = false;
        GoneMode mode;
        lock (_lock)
        {
            mode = c.GoneMode;
            var from = query.TryGetValue("resourceVersion", out var rvText) && long.TryParse(rvText, out var parsed) && parsed > 0 ? parsed : _rv;
            if (from < c.OldestWatchable)
            {
                gone = true;
            }
            else
            {
                foreach (var (rv, line) in c.History)
                {
                    if (rv > from)
                        watcher.Lines.Writer.TryWrite(line);
                }
                c.Watchers.Add(watcher);
            }
        }
        if (gone && mode == GoneMode.HttpStatus)
        {
            await WriteStatusAsync(ctx, 410, "Expired", "too old resource version");
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, watcher.Abort.Token);
        if (query.TryGetValue("timeoutSeconds", out var ts) && int.TryParse(ts, out var seconds) && seconds > 0)
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        try
        {
            await ctx.Response.StartAsync(timeout.Token);
            await ctx.Response.Body.FlushAsync(timeout.Token);
            if (gone)
            {
                await WriteLineAsync(ctx, Event("ERROR", Status(410, "Expired", "too old resource version")), timeout.Token);
                return;
            }
            await foreach (var line in watcher.Lines.Reader.ReadAllAsync(timeout.Token))
                await WriteLineAsync(ctx, line, timeout.Token);
        }
        catch (OperationCanceledException) when (watcher.Abort.IsCancellationRequested)
        {
            ctx.Abort(); // a dropped connection, not a clean end of stream
        }
        catch (OperationCanceledException)
        {
            // the client went away, or the watch's timeoutSeconds elapsed: end the stream
        }
        finally
        {
            lock (_lock)
                c.Watchers.Remove(watcher);
        }
    }

    private static async Task WriteLineAsync(HttpContext ctx, string line, CancellationToken ct)
    {
        await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    private static async Task WriteStatusAsync(HttpContext ctx, int code, string reason, string message)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(Status(code, reason, message).ToJsonString());
    }

    private void Publish(Collection c, long rv, string line)
    {
        c.History.Add((rv, line));
        foreach (var w in c.Watchers)
            w.Lines.Writer.TryWrite(line);
    }

    private static string Event(string type, JsonObject obj) =>
        new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static string KeyOf(Collection c, JsonObject obj)
    {
        var meta = (JsonObject)obj["metadata"]!;
        var name = (string)meta["name"]!;
        return c.ClusterScoped ? name : $"{(string?)meta["namespace"] ?? "default"}/{name}";
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            foreach (var c in _collections.Values)
            {
                foreach (var w in c.Watchers)
                    w.Lines.Writer.TryComplete();
                c.Watchers.Clear();
            }
        }
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(stopping.Token);
        await _app.DisposeAsync();
    }
}
