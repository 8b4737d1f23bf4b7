using System.Text.Json;

namespace Ambient.Cni.Plugin;

/// <summary>
/// One run of the chained CNI plugin: the runtime sets CNI_* variables, streams the plugin config on
/// stdin and reads a result or an error object from stdout.
/// <code>
///   env ──► CniEnvironment (code 4)      stdin ──► PluginConfig (codes 6, 7, 1)
///             │
///             ├─ VERSION  print {"cniVersion","supportedVersions"}
///             ├─ ADD      prevResult ─► POST /v1/cni/add ─► captured | not-enrolled ─► print prevResult
///             │                                          └► no answer / error ─► failPolicy closed: code 11
///             │                                                                 failPolicy open: print prevResult
///             ├─ DEL      POST /v1/cni/del, best effort, always succeeds
///             ├─ CHECK    POST /v1/cni/check, fails only on 409 (enrolled, not captured): code 100
///             ├─ STATUS   any HTTP answer on the socket, else code 50
///             └─ GC       nothing to collect: the agent reconciles from its pod informer
/// </code>
/// Every failure becomes a CNI error object and exit code 1; nothing escapes as a stack trace.
/// </summary>
internal sealed partial class CniPlugin
{
    /// <summary>DEL, CHECK and STATUS are best effort: never hold the runtime longer than this.</summary>
    private static readonly TimeSpan BestEffortTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<string, string?> _getenv;
    private readonly Stream _stdin;
    private readonly bool _stdinRedirected;
    private readonly Stream _stdout;
    private readonly PluginLog _log;

    public CniPlugin(Func<string, string?> getenv, Stream stdin, Stream stdout, TextWriter stderr, bool stdinRedirected = true)
    {
        _getenv = getenv;
        _stdin = stdin;
        _stdinRedirected = stdinRedirected;
        _stdout = stdout;
        _log = new PluginLog(stderr);
    }

    /// <summary>Runs the command named by CNI_COMMAND; returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken ct = default)
    {
        byte[]? stdin = null;
        try
        {
            var env = CniEnvironment.Parse(_getenv);
            _log.Context = Name(env.Command);
            if (env.Command == CniCommand.Version)
            {
                return Version();
            }

            stdin = ReadStdin();
            var config = PluginConfig.Parse(stdin, env.Command);
            _log.Level = config.LogLevel;
            _log.FilePath = config.LogFile;
            _log.Context = DescribeCall(env);

            return env.Command switch
            {
                CniCommand.Add => await AddAsync(env, config, ct).ConfigureAwait(false),
                CniCommand.Del => await DelAsync(env, config, ct).ConfigureAwait(false),
                CniCommand.Check => await CheckAsync(env, config, ct).ConfigureAwait(false),
                CniCommand.Status => await StatusAsync(config, ct).ConfigureAwait(false),
                _ => Gc(),
            };
        }
        catch (CniException e)
        {
            if (e.Code == CniErrorCode.InvalidEnvironment && string.IsNullOrEmpty(_getenv("CNI_COMMAND")))
            {
                _log.Info($"ambient-cni: the Ambient chained CNI plugin; CNI protocol versions supported: {CniVersions.SupportedList}; installer: ambient-cni install --help");
            }

            _log.Warn($"failed (code {e.Code}): {e.Message}");
            return Fail(stdin, e.Code, e.Message, e.Details);
        }
        catch (Exception e)
        {
            _log.Error($"internal error: {e.GetType().Name}: {e.Message}");
            if (_log.IsEnabled(PluginLogLevel.Debug))
            {
                _log.Debug(e.ToString());
            }

            return Fail(stdin, CniErrorCode.Internal, $"internal error in ambient-cni: {e.GetType().Name}: {e.Message}",
                "this is a bug in ambient-cni; set logLevel to debug in its CNI config entry for the stack trace");
        }
    }

    /// <summary>VERSION: stdin carries only {"cniVersion"}; answer in that version when we speak it.</summary>
    private int Version()
    {
        var version = CniVersions.Latest;
        if (_stdinRedirected)
        {
            var stdin = ReadStdin();
            if (!IsBlank(stdin))
            {
                using var doc = PluginConfig.Decode(stdin);
                if (doc.RootElement.TryGetProperty("cniVersion", out var v) && v.ValueKind == JsonValueKind.String
                    && CniVersions.IsSupported(v.GetString()))
                {
                    version = v.GetString()!;
                }
            }
        }

        WriteStdout(JsonSerializer.SerializeToUtf8Bytes(new VersionResult(version, CniVersions.Supported), CniJson.Output.VersionResult));
        return 0;
    }

    /// <summary>GC (1.1): the agent owns all per-pod state and reconciles it from its informer.</summary>
    private int Gc()
    {
        _log.Debug("nothing to collect: the ambient agent reconciles pods from its informer");
        return 0;
    }

    private int Fail(byte[]? stdin, int code, string message, string? details)
    {
        var version = stdin is null ? CniVersions.Latest : PluginConfig.VersionForErrors(stdin);
        var error = new CniErrorResult(version, code, message, details);
        try
        {
            WriteStdout(JsonSerializer.SerializeToUtf8Bytes(error, CniJson.Output.CniErrorResult));
        }
        catch (IOException)
        {
            // Nobody reads our stdout any more; the exit code still tells.
        }

        return 1;
    }

    private byte[] ReadStdin()
    {
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = _stdin.Read(chunk)) > 0)
            {
                if (buffer.Length + n > PluginConfig.MaxBytes)
                {
                    throw new CniException(CniErrorCode.DecodingFailure, $"error decoding network config: larger than {PluginConfig.MaxBytes} bytes");
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }
        catch (IOException e)
        {
            throw new CniException(CniErrorCode.IoFailure, $"error reading from stdin: {e.Message}");
        }
    }

    private void WriteStdout(byte[] bytes)
    {
        _stdout.Write(bytes);
        _stdout.Flush();
    }

    private static bool IsBlank(ReadOnlySpan<byte> bytes) => bytes.Trim(" \t\r\n"u8).IsEmpty;

    private static string Name(CniCommand command) => command.ToString().ToUpperInvariant();

    private static string DescribeCall(CniEnvironment env)
    {
        var name = Name(env.Command);
        if (env.ContainerId.Length == 0)
        {
            return name;
        }

        var container = env.ContainerId.Length > 12 ? env.ContainerId[..12] : env.ContainerId;
        return env.Args.IsKubernetesPod
            ? $"{name} {env.Args.PodNamespace}/{env.Args.PodName} ({container})"
            : $"{name} ({container})";
    }
}
