using System.Text;
using System.Text.Json;
using Ambient.Net.Cni;

namespace Ambient.Cni.Plugin;

/// <summary>
/// The plugin configuration the runtime streams on stdin: the conflist entry plus the injected
/// <c>cniVersion</c>, <c>name</c> and <c>prevResult</c>.
/// <code>
/// {"cniVersion":"1.0.0","name":"k8s-pod-network","type":"ambient-cni",
///  "agentSocket":"/var/run/ambient/cni.sock","failPolicy":"closed","logLevel":"info",
///  "logFile":"/var/log/ambient-cni.log","agentTimeoutSeconds":10,"prevResult":{…}}
/// </code>
/// Unknown keys are ignored (runtimes add <c>runtimeConfig</c>, <c>args</c>, …). A key of ours with a
/// wrong type or value is code 7 naming the key, the value and why.
/// </summary>
internal sealed record PluginConfig
{
    /// <summary>Stdin is one JSON object; a prevResult of many interfaces stays far below this.</summary>
    public const int MaxBytes = 1 << 20;

    public static readonly TimeSpan DefaultAgentTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Longest AF_UNIX path: sun_path is 108 bytes including the terminating NUL.</summary>
    private const int MaxSocketPathBytes = 107;

    public required string CniVersion { get; init; }
    public required string Name { get; init; }
    public string Type { get; init; } = "";
    public string AgentSocket { get; init; } = PodHandoff.DefaultSocket;
    public FailPolicy FailPolicy { get; init; } = FailPolicy.Closed;
    public PluginLogLevel LogLevel { get; init; } = PluginLogLevel.Info;
    public string? LogFile { get; init; }
    public TimeSpan AgentTimeout { get; init; } = DefaultAgentTimeout;

    /// <summary>The previous plugin's result, kept as its original JSON so ADD can echo it byte for byte.</summary>
    public JsonElement? PrevResult { get; init; }

    /// <summary>
    /// Decodes (code 6), validates the network name (code 7), the version for <paramref name="command"/>
    /// (code 1) and our own keys (code 7).
    /// </summary>
    public static PluginConfig Parse(ReadOnlySpan<byte> json, CniCommand command)
    {
        using var doc = Decode(json);
        var root = doc.RootElement;

        var name = OptionalString(root, "name");
        if (string.IsNullOrEmpty(name))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing network name");
        }

        ValidateNetworkName(name);
        var version = CheckVersion(OptionalString(root, "cniVersion"), command);

        var config = new PluginConfig
        {
            CniVersion = version,
            Name = name,
            Type = OptionalString(root, "type") ?? "",
        };

        if (OptionalString(root, "agentSocket") is { } socket)
        {
            if (!socket.StartsWith('/') || Encoding.UTF8.GetByteCount(socket) > MaxSocketPathBytes)
            {
                throw Invalid("agentSocket", socket, $"must be an absolute path of at most {MaxSocketPathBytes} bytes");
            }

            config = config with { AgentSocket = socket };
        }

        if (OptionalString(root, "failPolicy") is { } policy)
        {
            config = config with
            {
                FailPolicy = policy switch
                {
                    "closed" => FailPolicy.Closed,
                    "open" => FailPolicy.Open,
                    _ => throw Invalid("failPolicy", policy, "must be \"closed\" or \"open\""),
                },
            };
        }

        if (OptionalString(root, "logLevel") is { } level)
        {
            config = config with
            {
                LogLevel = level.ToLowerInvariant() switch
                {
                    "debug" => PluginLogLevel.Debug,
                    "info" => PluginLogLevel.Info,
                    "warn" or "warning" => PluginLogLevel.Warn,
                    "error" => PluginLogLevel.Error,
                    "none" => PluginLogLevel.None,
                    _ => throw Invalid("logLevel", level, "must be debug, info, warn, error or none"),
                },
            };
        }

        if (OptionalString(root, "logFile") is { Length: > 0 } logFile)
        {
            if (!logFile.StartsWith('/'))
            {
                throw Invalid("logFile", logFile, "must be an absolute path");
            }

            config = config with { LogFile = logFile };
        }

        if (root.TryGetProperty("agentTimeoutSeconds", out var timeout) && timeout.ValueKind != JsonValueKind.Null)
        {
            // The runtime's own CNI deadline is minutes; more than 5 minutes here would only hide a dead agent.
            if (timeout.ValueKind != JsonValueKind.Number || !timeout.TryGetDouble(out var seconds) || seconds <= 0 || seconds > 300)
            {
                throw Invalid("agentTimeoutSeconds", timeout.GetRawText(), "must be a number of seconds in (0, 300]");
            }

            config = config with { AgentTimeout = TimeSpan.FromSeconds(seconds) };
        }

        if (root.TryGetProperty("prevResult", out var prev) && prev.ValueKind != JsonValueKind.Null)
        {
            if (prev.ValueKind != JsonValueKind.Object)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"prevResult must be an object, not {Describe(prev.ValueKind)}");
            }

            config = config with { PrevResult = prev.Clone() };
        }

        return config;
    }

    /// <summary>
    /// The cniVersion an error object should carry: the config's when it is readable and one we speak,
    /// otherwise the latest. Never throws.
    /// </summary>
    public static string VersionForErrors(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("cniVersion", out var v)
                && v.ValueKind == JsonValueKind.String
                && CniVersions.IsSupported(v.GetString())
                ? v.GetString()!
                : CniVersions.Latest;
        }
        catch (JsonException)
        {
            return CniVersions.Latest;
        }
    }

    /// <summary>Parses stdin as one JSON object; anything else is code 6 (failed to decode content).</summary>
    internal static JsonDocument Decode(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            doc = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                doc.Dispose();
                throw new JsonException($"unexpected data after the JSON object at byte {reader.TokenStartIndex}");
            }
        }
        catch (JsonException e)
        {
            var what = json.Length == 0 ? "stdin is empty" : e.Message;
            throw new CniException(CniErrorCode.DecodingFailure, $"error decoding network config: {what}",
                "the runtime must stream the plugin configuration as one JSON object on stdin");
        }

        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = doc.RootElement.ValueKind;
            doc.Dispose();
            throw new CniException(CniErrorCode.DecodingFailure, $"error decoding network config: expected a JSON object, got {Describe(kind)}");
        }

        return doc;
    }

    /// <summary>
    /// A missing cniVersion means 0.1.0 (libcni's reading), which we do not speak. CHECK needs 0.4.0;
    /// STATUS and GC need 1.1.0.
    /// </summary>
    private static string CheckVersion(string? version, CniCommand command)
    {
        if (!CniVersions.IsSupported(version))
        {
            var shown = version is null ? "0.1.0 (no cniVersion given)" : version;
            throw new CniException(CniErrorCode.IncompatibleVersion, "incompatible CNI versions",
                $"config is \"{shown}\", plugin supports [\"{string.Join("\", \"", CniVersions.Supported)}\"]");
        }

        var minimum = command switch
        {
            CniCommand.Check => CniVersions.Check,
            CniCommand.Status or CniCommand.Gc => CniVersions.StatusAndGc,
            _ => null,
        };
        if (minimum is not null && !CniVersions.AtLeast(version!, minimum))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion,
                $"config version does not allow {command.ToString().ToUpperInvariant()}",
                $"{command.ToString().ToUpperInvariant()} needs cniVersion {minimum} or later; the config is {version}");
        }

        return version!;
    }

    /// <summary>CNI spec 1.1 §1: a letter or digit, then letters, digits, '_', '.' or '-'.</summary>
    private static void ValidateNetworkName(string name)
    {
        var ok = char.IsAsciiLetterOrDigit(name[0]);
        for (var i = 1; ok && i < name.Length; i++)
        {
            ok = char.IsAsciiLetterOrDigit(name[i]) || name[i] is '_' or '.' or '-';
        }

        if (!ok)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid characters found in network name \"{name}\"");
        }
    }

    private static string? OptionalString(JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw Invalid(key, value.GetRawText(), $"must be a string, not {Describe(value.ValueKind)}");
    }

    private static CniException Invalid(string key, string value, string reason) =>
        new(CniErrorCode.InvalidNetworkConfig, $"invalid network config: {key} {Quote(value)} {reason}");

    private static string Quote(string value) => value.StartsWith('"') ? value : $"\"{value}\"";

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
