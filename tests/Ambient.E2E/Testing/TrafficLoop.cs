using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Ambient.E2E.Testing;

/// <summary>
/// One new connection after another from inside a network namespace (a bash loop of curl, ~100 calls/s, one connection
/// open at a time), each call recorded with its start, end and outcome: fast enough to catch a transition that refuses
/// connections for a few tens of milliseconds. Dispose kills the loop.
/// </summary>
public sealed class TrafficLoop : IAsyncDisposable
{
    public sealed record Call(DateTime Start, DateTime End, int CurlExit, string Status)
    {
        public bool Ok => CurlExit == 0 && Status == "200";

        public override string ToString() => $"{Start:HH:mm:ss.fff}–{End:HH:mm:ss.fff} curl exit {CurlExit}: {Status}";
    }

    /// <summary>curl's exit code for "couldn't connect" (refused): what a pod sees when its rules point at a closed port.</summary>
    public const int CouldNotConnect = 7;

    private readonly Process _process;
    private readonly ConcurrentQueue<Call> _calls = new();
    private readonly ConcurrentQueue<string> _unparsed = new();
    private bool _disposed;

    private TrafficLoop(Process process) => _process = process;

    public IReadOnlyCollection<Call> Calls => _calls;

    public static TrafficLoop Start(string netnsPath, string url)
    {
        // Each line: START END CURL_EXIT then curl's error (if any) and the HTTP code, on one line; EPOCHREALTIME costs no process.
        var script = "while :; do s=$EPOCHREALTIME; o=$(curl -sS --connect-timeout 2 -m 2 -o /dev/null -w '%{http_code}' " + Proc.Quote(url) +
                     " 2>&1); e=$?; o=${o//$'\\n'/ }; echo \"$s $EPOCHREALTIME $e $o\"; done";
        var psi = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { $"--net={netnsPath}", "--", "bash", "-c", script })
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the traffic loop");
        var loop = new TrafficLoop(process);
        process.OutputDataReceived += (_, e) => loop.Parse(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 })
            {
                loop._unparsed.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return loop;
    }

    private void Parse(string? line)
    {
        if (string.IsNullOrEmpty(line))
        {
            return;
        }
        var parts = line.Split(' ', 4);
        if (parts.Length >= 4
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var start)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var end)
            && int.TryParse(parts[2], out var exit))
        {
            _calls.Enqueue(new Call(DateTime.UnixEpoch.AddSeconds(start), DateTime.UnixEpoch.AddSeconds(end), exit, parts[3].Trim()));
        }
        else
        {
            _unparsed.Enqueue(line);
        }
    }

    /// <summary>Output lines that were not a call record (bash or nsenter errors).</summary>
    public IReadOnlyCollection<string> Unparsed => _unparsed;

    public int CallsSince(DateTime since) => _calls.Count(c => c.Start >= since);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }
        _process.Dispose();
    }
}
