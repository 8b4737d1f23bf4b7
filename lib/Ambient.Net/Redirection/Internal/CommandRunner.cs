using System.Diagnostics;

namespace Ambient.Net.Redirection.Internal;

internal readonly record struct CommandResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs a short-lived tool (iptables-restore, ip) with a deadline, optional stdin, captured output.</summary>
internal static class CommandRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, string? stdin, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RedirectionException($"cannot run '{file}': {e.Message} (is it installed? Debian: iptables, iproute2, util-linux)", e);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? DefaultTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), deadline.Token).ConfigureAwait(false);
            }
            process.StandardInput.Close();
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            TryKill(process);
            throw new RedirectionException($"'{Describe(file, args)}' did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0}s");
        }
        catch
        {
            TryKill(process);
            throw;
        }
    }

    public static async Task<string> RunCheckedAsync(string file, IReadOnlyList<string> args, string? stdin, CancellationToken cancellationToken)
    {
        var r = await RunAsync(file, args, stdin, cancellationToken).ConfigureAwait(false);
        if (r.ExitCode != 0)
        {
            throw new RedirectionException($"'{Describe(file, args)}' exited with {r.ExitCode}: {r.Stderr.Trim()}" + (stdin is null ? "" : $"\ninput was:\n{stdin}"));
        }
        return r.Stdout;
    }

    public static string Describe(string file, IReadOnlyList<string> args) => file + " " + string.Join(' ', args);

    private static void TryKill(Process p)
    {
        try
        {
            p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }
}
