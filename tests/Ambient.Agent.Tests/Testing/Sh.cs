using System.Diagnostics;

namespace Ambient.Agent.Tests.Testing;

/// <summary>Runs setup commands (ip, nsenter, iptables) with a deadline; failures throw with stderr.</summary>
public static class Sh
{
    public static async Task<string> RunAsync(string file, params string[] args)
    {
        var r = await TryRunAsync(file, args);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited {r.ExitCode}: {r.Stderr.Trim()}");
        }
        return r.Stdout;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> TryRunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = p.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = p.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(true);
            throw new TimeoutException($"`{file} {string.Join(' ', args)}` did not finish in 30 s");
        }
        return (p.ExitCode, await stdout, await stderr);
    }
}
