using System.Diagnostics;
using System.Text;

namespace Ambient.Cni.Tests.Testing;

/// <summary>
/// Runs ambient-cni the way a container runtime does: a clean environment holding only the CNI_*
/// variables given, the config on stdin, stdout and stderr captured separately.
/// </summary>
public static class CniProcess
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    public static Task<CniRun> RunPluginAsync(string binary, string command, string? stdin, IReadOnlyDictionary<string, string>? env = null)
    {
        var vars = new Dictionary<string, string>(env ?? new Dictionary<string, string>()) { ["CNI_COMMAND"] = command };
        return RunAsync(binary, [], vars, stdin);
    }

    public static async Task<CniRun> RunAsync(string binary, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env,
        string? stdin, Action<string>? onStdoutLine = null)
    {
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var (key, value) in env)
        {
            psi.Environment[key] = value;
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stdoutDone = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (stdout)
                {
                    stdout.Append(stdout.Length == 0 ? "" : "\n").Append(line);
                }

                onStdoutLine?.Invoke(line);
            }
        });
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{binary} {string.Join(' ', args)} ran longer than {Limit}");
        }

        stopwatch.Stop();
        await stdoutDone;
        return new CniRun(process.ExitCode, stdout.ToString(), await stderr, stopwatch.Elapsed);
    }
}
