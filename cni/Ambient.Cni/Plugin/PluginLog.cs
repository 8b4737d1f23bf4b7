using System.Globalization;

namespace Ambient.Cni.Plugin;

/// <summary>
/// The plugin's log: one line per event on stderr (the runtime keeps it in its own log) and, when
/// <c>logFile</c> is set, appended to that file. Not Microsoft.Extensions.Logging: a plugin run lives
/// for milliseconds and NativeAOT startup is the budget.
/// <code>2025-01-02T03:04:05.678Z WARN ambient-cni[4242] ADD default/web-0 (c0ffee12): message</code>
/// </summary>
internal sealed class PluginLog(TextWriter stderr)
{
    private static readonly int Pid = Environment.ProcessId;

    public PluginLogLevel Level { get; set; } = PluginLogLevel.Info;

    public string? FilePath { get; set; }

    /// <summary>Who the lines are about: the command, pod and container, once known.</summary>
    public string Context { get; set; } = "";

    public bool IsEnabled(PluginLogLevel level) => level >= Level && Level != PluginLogLevel.None;

    public void Debug(string message) => Write(PluginLogLevel.Debug, "DEBUG", message);

    public void Info(string message) => Write(PluginLogLevel.Info, "INFO", message);

    public void Warn(string message) => Write(PluginLogLevel.Warn, "WARN", message);

    public void Error(string message) => Write(PluginLogLevel.Error, "ERROR", message);

    private void Write(PluginLogLevel level, string name, string message)
    {
        if (!IsEnabled(level))
        {
            return;
        }

        var time = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var line = Context.Length == 0
            ? $"{time} {name} ambient-cni[{Pid}]: {message}"
            : $"{time} {name} ambient-cni[{Pid}] {Context}: {message}";
        try
        {
            stderr.WriteLine(line);
        }
        catch (IOException)
        {
            // The runtime closed our stderr; the log file (if any) still gets the line.
        }

        if (FilePath is { } path)
        {
            try
            {
                File.AppendAllText(path, line + "\n");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                FilePath = null; // say it once, then keep going: logging never fails a CNI command
                Write(PluginLogLevel.Warn, "WARN", $"cannot append to logFile {path}: {e.Message}");
            }
        }
    }
}
