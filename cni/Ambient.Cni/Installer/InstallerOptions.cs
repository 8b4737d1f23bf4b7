using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Ambient.Net.Cni;

namespace Ambient.Cni.Installer;

/// <summary>
/// Flags of <c>ambient-cni install</c> / <c>uninstall</c>. Host paths default to the kubelet's; in the
/// agent DaemonSet they point at the host mounts (e.g. /host/opt/cni/bin).
/// </summary>
internal sealed record InstallerOptions
{
    public const string DefaultBinDir = "/opt/cni/bin";
    public const string DefaultConfDir = "/etc/cni/net.d";
    public static readonly TimeSpan DefaultWaitTimeout = TimeSpan.FromMinutes(5);

    public bool Uninstall { get; init; }

    /// <summary>Where the runtime looks for plugin binaries (CNI_PATH).</summary>
    public string CniBinDir { get; init; } = DefaultBinDir;

    /// <summary>Where the runtime loads network configs from.</summary>
    public string CniConfDir { get; init; } = DefaultConfDir;

    public string AgentSocket { get; init; } = PodHandoff.DefaultSocket;
    public string FailPolicy { get; init; } = "closed";
    public string LogLevel { get; init; } = "info";
    public string? LogFile { get; init; }

    /// <summary>How long install waits for the primary CNI to write its config; zero fails at once.</summary>
    public TimeSpan WaitTimeout { get; init; } = DefaultWaitTimeout;

    public const string Usage = """
        usage: ambient-cni install   [--cni-bin-dir DIR] [--cni-conf-dir DIR] [--agent-socket PATH]
                                     [--fail-policy closed|open] [--log-level LEVEL] [--log-file PATH]
                                     [--wait-timeout SECONDS]
               ambient-cni uninstall [--cni-bin-dir DIR] [--cni-conf-dir DIR]

          install    copy this binary into the CNI bin dir and append an ambient-cni entry to the first
                     CNI config (sorted) in the conf dir; a single .conf becomes a .conflist. Idempotent.
          uninstall  remove the ambient-cni entry (restoring a converted .conf) and the binary.

          --cni-bin-dir DIR       CNI plugin binaries (default /opt/cni/bin)
          --cni-conf-dir DIR      CNI network configs (default /etc/cni/net.d)
          --agent-socket PATH     the ambient agent's CNI socket (default /var/run/ambient/cni.sock)
          --fail-policy POLICY    closed: a pod the agent cannot capture does not start (default);
                                  open: it starts outside the mesh
          --log-level LEVEL       plugin log level: debug, info, warn, error, none (default info)
          --log-file PATH         also append plugin logs to this host file
          --wait-timeout SECONDS  wait this long for the primary CNI's config (default 300; 0: no wait)
        """;

    /// <summary>Parses <c>install|uninstall [flags]</c>; a bad flag names the flag, the value and the reason.</summary>
    public static InstallerOptions Parse(IReadOnlyList<string> args)
    {
        var options = new InstallerOptions { Uninstall = args[0] == "uninstall" };
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            string flag, value;
            var eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                flag = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                flag = arg;
                if (i + 1 >= args.Count)
                {
                    throw new InstallerException(IsKnown(flag) ? $"{flag} needs a value" : $"unknown argument \"{flag}\"");
                }

                value = args[++i];
            }

            options = flag switch
            {
                "--cni-bin-dir" => options with { CniBinDir = AbsolutePath(flag, value) },
                "--cni-conf-dir" => options with { CniConfDir = AbsolutePath(flag, value) },
                "--agent-socket" => options with { AgentSocket = SocketPath(flag, value) },
                "--fail-policy" => options with { FailPolicy = OneOf(flag, value, "closed", "open") },
                "--log-level" => options with { LogLevel = OneOf(flag, value.ToLowerInvariant(), "debug", "info", "warn", "error", "none") },
                "--log-file" => options with { LogFile = AbsolutePath(flag, value) },
                "--wait-timeout" => options with { WaitTimeout = Seconds(flag, value) },
                _ => throw new InstallerException($"unknown argument \"{flag}\""),
            };
        }

        return options;
    }

    /// <summary>Our entry in the conflist's plugins; the runtime injects cniVersion, name and prevResult.</summary>
    public JsonObject PluginEntry()
    {
        var entry = new JsonObject
        {
            ["type"] = ConfListPatcher.PluginType,
            ["agentSocket"] = AgentSocket,
            ["failPolicy"] = FailPolicy,
            ["logLevel"] = LogLevel,
        };
        if (LogFile is not null)
        {
            entry["logFile"] = LogFile;
        }

        return entry;
    }

    private static bool IsKnown(string flag) => flag is "--cni-bin-dir" or "--cni-conf-dir" or "--agent-socket"
        or "--fail-policy" or "--log-level" or "--log-file" or "--wait-timeout";

    private static string AbsolutePath(string flag, string value)
    {
        if (!value.StartsWith('/'))
        {
            throw new InstallerException($"{flag} \"{value}\": must be an absolute path");
        }

        var trimmed = value.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed;
    }

    private static string SocketPath(string flag, string value) =>
        Encoding.UTF8.GetByteCount(value) <= 107 // sun_path: 108 bytes with the NUL
            ? AbsolutePath(flag, value)
            : throw new InstallerException($"{flag} \"{value}\": a Unix socket path has at most 107 bytes");

    private static string OneOf(string flag, string value, params string[] allowed) =>
        allowed.Contains(value) ? value : throw new InstallerException($"{flag} \"{value}\": must be one of {string.Join(", ", allowed)}");

    private static TimeSpan Seconds(string flag, string value)
    {
        var text = value.EndsWith('s') ? value[..^1] : value;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && s <= 86400
            ? TimeSpan.FromSeconds(s)
            : throw new InstallerException($"{flag} \"{value}\": must be a number of seconds between 0 and 86400");
    }
}
