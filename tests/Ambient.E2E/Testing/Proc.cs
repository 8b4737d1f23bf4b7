using System.Diagnostics;

namespace Ambient.E2E.Testing;

/// <summary>One finished process: exit code and everything it wrote.</summary>
public sealed record ProcResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;

    public override string ToString() =>
        $"`{CommandLine}` exited {ExitCode}\n--- stdout ---\n{Trim(Stdout)}\n--- stderr ---\n{Trim(Stderr)}";

    private static string Trim(string s) => s.Length > 4000 ? s[..2000] + "\n…\n" + s[^2000..] : s.TrimEnd();
}

/// <summary>Runs a program with a deadline; on timeout the whole process tree is killed and the test fails with what it printed.</summary>
public static class Proc
{
    public static async Task<ProcResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }
        var commandLine = string.Join(' ', new[] { file }.Concat(psi.ArgumentList).Select(Quote));
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {commandLine}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            await p.WaitForExitAsync();
            throw new TimeoutException($"`{commandLine}` did not finish within {timeout.TotalSeconds:0.#} s\n--- stdout ---\n{await stdout}\n--- stderr ---\n{await stderr}");
        }
        return new ProcResult(commandLine, p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs and fails the test with the full output unless the program exits 0.</summary>
    public static async Task<ProcResult> CheckAsync(string file, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? env = null)
    {
        var r = await RunAsync(file, args, timeout, env);
        if (!r.Ok)
        {
            throw new InvalidOperationException($"command failed: {r}");
        }
        return r;
    }

    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@%+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>A live process (a zombie counts as dead: it runs nothing).</summary>
    public static bool IsRunning(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>/proc/PID/cmdline as arguments; empty when the process is gone.</summary>
    public static IReadOnlyList<string> CommandLineOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
