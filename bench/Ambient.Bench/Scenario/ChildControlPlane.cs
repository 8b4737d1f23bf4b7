using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Ambient.Bench.Scenario;

/// <summary>
/// <c>ambient-controlplane</c> as its own process, serving a generated <c>--config-dir</c>: the honest way to
/// measure the server's resident memory without the benchmark's clients in the same heap.
/// </summary>
public sealed class ChildControlPlane : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private ChildControlPlane(Process process, string command, Uri xds, Uri status)
    {
        _process = process;
        Command = command;
        XdsAddress = xds;
        StatusAddress = status;
    }

    public string Command { get; }
    public Uri XdsAddress { get; }
    public Uri StatusAddress { get; }
    public int Pid => _process.Id;

    /// <summary>
    /// The server to run: <paramref name="explicitPath"/> if given (an apphost, or a .dll run with dotnet);
    /// otherwise the ambient-controlplane built next to this benchmark (the project reference copies it here).
    /// </summary>
    public static (string FileName, string[] Prefix) Locate(string? explicitPath)
    {
        var path = explicitPath ?? Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "ambient-controlplane.exe" : "ambient-controlplane");
        if (explicitPath is null && !File.Exists(path))
            path = Path.Combine(AppContext.BaseDirectory, "ambient-controlplane.dll");
        if (!File.Exists(path))
            throw new FileNotFoundException($"ambient-controlplane not found at {path}; pass --server PATH");
        return path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ("dotnet", [path]) : (path, []);
    }

    public static async Task<ChildControlPlane> StartAsync(string? serverPath, string configDir, int debounceMs, TimeSpan readyTimeout)
    {
        var (file, prefix) = Locate(serverPath);
        var xdsPort = FreePort();
        var statusPort = FreePort();
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in prefix)
            psi.ArgumentList.Add(a);
        foreach (var a in new[]
                 {
                     "--config-dir", configDir, "--xds-address", $"127.0.0.1:{xdsPort}", "--status-address", $"127.0.0.1:{statusPort}",
                     "--debounce-ms", debounceMs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--log-level", "Warning",
                 })
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var child = new ChildControlPlane(process, $"{file} {string.Join(' ', psi.ArgumentList)}",
            new Uri($"http://127.0.0.1:{xdsPort}"), new Uri($"http://127.0.0.1:{statusPort}"));
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"ambient-controlplane exited with {process.ExitCode}:\n{child.Output}");
            if (deadline.Elapsed > readyTimeout)
            {
                await child.DisposeAsync();
                throw new TimeoutException($"ambient-controlplane was not ready within {readyTimeout.TotalSeconds:F0} s:\n{child.Output}");
            }
            try
            {
                using var r = await child._http.GetAsync(new Uri(child.StatusAddress, "/ready"));
                if (r.StatusCode == HttpStatusCode.OK)
                    return child;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(50);
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
        {
            if (_output.Length < 64 * 1024)
                _output.AppendLine(line);
        }
    }

    /// <summary>type URL → resource name → version, from the child's /debug/snapshot.</summary>
    public async Task<Dictionary<string, Dictionary<string, string>>> SnapshotVersionsAsync()
    {
        await using var s = await _http.GetStreamAsync(new Uri(StatusAddress, "/debug/snapshot"));
        using var doc = await JsonDocument.ParseAsync(s);
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in doc.RootElement.GetProperty("types").EnumerateObject())
        {
            var items = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var r in type.Value.EnumerateArray())
                items[r.GetProperty("name").GetString()!] = r.GetProperty("version").GetString()!;
            result[type.Name] = items;
        }
        return result;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _http.Dispose();
    }
}
