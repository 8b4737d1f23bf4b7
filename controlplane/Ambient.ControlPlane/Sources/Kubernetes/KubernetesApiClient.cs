using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>A page-merged LIST: every object of a kind, and the resourceVersion to watch from.</summary>
internal sealed record ResourceList(string ResourceVersion, IReadOnlyList<JsonObject> Items);

/// <summary>
/// Generic, cluster-wide LIST and WATCH for any kind (core or custom), on top of KubernetesClient's connection:
/// its kubeconfig / in-cluster configuration, TLS, HttpClient and credentials (tokens, client certificates,
/// exec plugins). The requests and the watch stream are read here rather than through the generated typed
/// API, so ERROR events, bookmarks and quiet or empty watches are handled exactly, for CRDs as for core kinds.
/// </summary>
internal sealed class KubernetesApiClient : IDisposable
{
    private const int MaxErrorBody = 4096;
    private static readonly MediaTypeWithQualityHeaderValue Json = new("application/json");
    private readonly k8s.Kubernetes _client;
    private readonly Version _httpVersion;

    private KubernetesApiClient(k8s.Kubernetes client, bool disableHttp2)
    {
        _client = client;
        _httpVersion = disableHttp2 ? HttpVersion.Version11 : HttpVersion.Version20;
    }

    public Uri BaseUri => _client.BaseUri;

    /// <summary>Connects as the options say; a bad kubeconfig or missing in-cluster environment is an <see cref="InvalidOperationException"/>.</summary>
    public static KubernetesApiClient Create(KubernetesSourceOptions options)
    {
        KubernetesClientConfiguration config;
        try
        {
            config = options.Kubeconfig is { } path
                ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
                : KubernetesClientConfiguration.InClusterConfig();
        }
        catch (Exception e)
        {
            var what = options.Kubeconfig is { } p ? $"--kubeconfig '{p}'" : "--in-cluster";
            throw new InvalidOperationException($"{what}: cannot load the Kubernetes configuration: {e.Message}", e);
        }
        try
        {
            return new KubernetesApiClient(new k8s.Kubernetes(config), config.DisableHttp2);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"cannot create a Kubernetes client for {config.Host}: {e.Message}", e);
        }
    }

    /// <summary>Lists every object of the kind, following <c>continue</c> tokens across pages.</summary>
    public async Task<ResourceList> ListAsync(KubernetesResource resource, int pageSize, CancellationToken ct)
    {
        var items = new List<JsonObject>();
        string? continueToken = null;
        string resourceVersion;
        do
        {
            var query = $"?limit={pageSize.ToString(CultureInfo.InvariantCulture)}";
            if (continueToken is not null)
                query += "&continue=" + Uri.EscapeDataString(continueToken);
            using var response = await SendAsync(resource.Path + query, HttpCompletionOption.ResponseContentRead, ct);
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            JsonObject page;
            try
            {
                page = await JsonNode.ParseAsync(body, cancellationToken: ct) as JsonObject
                    ?? throw new FormatException($"LIST {resource.Path} did not return a JSON object");
            }
            catch (JsonException e)
            {
                throw new FormatException($"LIST {resource.Path} returned malformed JSON: {e.Message}", e);
            }
            var meta = KubernetesJsonNodes.Metadata(page);
            resourceVersion = KubernetesJsonNodes.String(meta?["resourceVersion"])
                ?? throw new FormatException($"LIST {resource.Path} returned no metadata.resourceVersion");
            continueToken = KubernetesJsonNodes.String(meta?["continue"]) is { Length: > 0 } c ? c : null;
            if (page["items"] is JsonArray array)
                items.AddRange(array.OfType<JsonObject>());
        }
        while (continueToken is not null);
        return new ResourceList(resourceVersion, items);
    }

    /// <summary>
    /// Streams watch events from <paramref name="resourceVersion"/>, with bookmarks, until the server ends the
    /// watch (after about <paramref name="timeoutSeconds"/>), the connection breaks, or <paramref name="ct"/> fires.
    /// An HTTP error status is a <see cref="KubernetesApiException"/>; ERROR events are yielded as they come.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(KubernetesResource resource, string resourceVersion, int timeoutSeconds,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var query = "?watch=true&allowWatchBookmarks=true"
            + "&resourceVersion=" + Uri.EscapeDataString(resourceVersion)
            + "&timeoutSeconds=" + timeoutSeconds.ToString(CultureInfo.InvariantCulture);
        using var response = await SendAsync(resource.Path + query, HttpCompletionOption.ResponseHeadersRead, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(body, Encoding.UTF8);
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!string.IsNullOrWhiteSpace(line))
                yield return WatchEvent.Parse(line);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string relative, HttpCompletionOption completion, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_client.BaseUri, relative))
        {
            // HTTP/2 where TLS negotiates it (all watches share one connection), HTTP/1.1 otherwise.
            Version = _httpVersion,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.Accept.Add(Json);
        request.Headers.UserAgent.ParseAdd("ambient-controlplane");
        if (_client.Credentials is { } credentials)
            await credentials.ProcessHttpRequestAsync(request, ct);
        var response = await _client.HttpClient.SendAsync(request, completion, ct);
        if (response.IsSuccessStatusCode)
            return response;
        using (response)
        {
            var text = await ReadErrorBodyAsync(response, ct);
            JsonObject? status = null;
            try
            {
                status = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
            }
            if (status is null || KubernetesJsonNodes.String(status["kind"]) != "Status")
                status = new JsonObject { ["message"] = text.Length == 0 ? response.ReasonPhrase : text };
            // The HTTP status is authoritative; the body only explains it.
            status["code"] = (int)response.StatusCode;
            throw KubernetesApiException.FromStatus(status, (int)response.StatusCode, $"GET {relative}");
        }
    }

    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[MaxErrorBody];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), ct)) > 0)
            total += read;
        return Encoding.UTF8.GetString(buffer, 0, total).Trim();
    }

    public void Dispose() => _client.Dispose();
}
