using System.Diagnostics;
using System.Text;

namespace Ambient.Ctl.Local;

/// <summary>Runs the system tools the local mesh is built with (ip, nsenter, CNI plugins), capturing their output.</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public bool Ok => ExitCode == 0;
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, string? stdin = null,
        IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        if (env is not null)
        {
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in time");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs and throws with the tool's own error text when it fails.</summary>
    public static async Task<string> CheckAsync(string file, params string[] args)
    {
        var r = await RunAsync(file, args);
        if (!r.Ok)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr.Trim()}{r.Stdout.Trim()}");
        return r.Stdout;
    }

    /// <summary>Runs a command inside a network namespace (by path) through nsenter.</summary>
    public static Task<string> InNetnsAsync(string netnsPath, params string[] command) =>
        CheckAsync("nsenter", [$"--net={netnsPath}", "--", .. command]);

    /// <summary>
    /// Starts a long-lived process detached from this one (new session), inside a netns when given, with
    /// output to a log file. Returns its PID. The process outlives `ambientctl`; `down` stops it by PID.
    /// </summary>
    public static int StartDetached(string? netnsPath, string logFile, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardInput = true };
        var inner = new StringBuilder("exec ");
        if (netnsPath is not null)
            inner.Append("nsenter --net=").Append(Quote(netnsPath)).Append(" -- ");
        inner.Append(string.Join(' ', command.Select(Quote)));
        inner.Append(" >>").Append(Quote(logFile)).Append(" 2>&1 </dev/null");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(inner.ToString());
        if (env is not null)
        {
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {command[0]}");
        p.StandardInput.Close();
        return p.Id; // setsid without fork keeps the pid: sh execs nsenter execs the command
    }

    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@%+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    public static bool IsAlive(int pid) => pid > 0 && Directory.Exists($"/proc/{pid}");

    /// <summary>SIGTERM, then SIGKILL after a grace period; only if the pid still runs what we started.</summary>
    public static async Task StopAsync(int pid, string expectedInCmdline, TimeSpan grace)
    {
        if (!IsAlive(pid))
            return;
        string cmdline;
        try
        {
            cmdline = (await File.ReadAllTextAsync($"/proc/{pid}/cmdline")).Replace('\0', ' ');
        }
        catch (IOException)
        {
            return;
        }
        if (!cmdline.Contains(expectedInCmdline, StringComparison.Ordinal))
            return; // the pid was reused by something else: leave it alone
        _ = Kill(pid, SigTerm);
        var deadline = DateTime.UtcNow + grace;
        while (IsAlive(pid) && !IsZombie(pid) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        if (IsAlive(pid) && !IsZombie(pid))
            _ = Kill(pid, SigKill);
    }

    public static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] == 'Z';
        }
        catch (IOException)
        {
            return true;
        }
    }

    private const int SigTerm = 15;
    private const int SigKill = 9;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
