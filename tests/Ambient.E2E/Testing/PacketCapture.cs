using System.Diagnostics;

namespace Ambient.E2E.Testing;

/// <summary>
/// tcpdump inside a network namespace, writing a pcap into the mesh's state dir (removed with it), and tshark to read it
/// back. Start waits until tcpdump listens; Stop ends it with SIGINT so the file is complete.
/// </summary>
public sealed class PacketCapture : IAsyncDisposable
{
    private readonly Process _process;
    private bool _stopped;

    private PacketCapture(Process process, string file)
    {
        _process = process;
        File = file;
    }

    public string File { get; }

    public static async Task<PacketCapture> StartAsync(string netnsPath, string iface, string file, string filter = "tcp")
    {
        var psi = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { $"--net={netnsPath}", "--", "tcpdump", "-i", iface, "-U", "-s", "0", "-w", file, filter })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start tcpdump");
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (stderr)
                stderr.AppendLine(e.Data);
            if (e.Data.Contains("listening on", StringComparison.Ordinal))
                listening.TrySetResult();
        };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        var capture = new PacketCapture(p, file);
        var done = await Task.WhenAny(listening.Task, p.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(10)));
        if (done != listening.Task)
        {
            await capture.DisposeAsync();
            lock (stderr)
                throw new InvalidOperationException($"tcpdump on {iface} in {netnsPath} did not start listening: {stderr}");
        }
        return capture;
    }

    /// <summary>SIGINT (tcpdump flushes and exits), bounded; killed if it lingers.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
            return;
        _stopped = true;
        if (!_process.HasExited)
        {
            await Proc.RunAsync("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
    }

    /// <summary>tshark over the capture, port 15008 decoded as TLS; one line per packet matching <paramref name="displayFilter"/>.</summary>
    public async Task<IReadOnlyList<string>> FieldsAsync(string displayFilter, params string[] fields)
    {
        var args = new List<string> { "-r", File, "-d", "tcp.port==15008,tls", "-T", "fields", "-E", "separator=|" };
        if (displayFilter.Length > 0)
            args.AddRange(["-Y", displayFilter]);
        foreach (var f in fields)
            args.AddRange(["-e", f]);
        var r = await Proc.CheckAsync("tshark", args, TimeSpan.FromSeconds(60));
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }
}
