using System.Diagnostics;
using System.Text;

namespace Ambient.ControlPlane.Tests.Interop;

/// <summary>
/// Runs the independent Python gRPC peers in tests/interop (Debian's python3-grpcio: gRPC C-core, not our code).
/// Missing packages fail loudly with the command that installs them: a silent skip would look like a pass.
/// </summary>
internal static class PythonPeer
{
    public const string Python = "/usr/bin/python3";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Script(string name) => Path.Combine(RepoRoot, "tests", "interop", name);

    public static void RequireGrpc()
    {
        var psi = new ProcessStartInfo(Python, ["-c", "import grpc, google.protobuf"]) { RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {Python}");
        p.WaitForExit(30_000);
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"python3-grpcio / python3-protobuf are missing ({p.StandardError.ReadToEnd().Trim()}); run `make deps`");
    }

    /// <summary>Runs a script to completion and returns its stdout; throws with stderr on failure or timeout.</summary>
    public static async Task<string> RunAsync(string script, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Python, [Script(script), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {script}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in {timeout}: {await stderr}");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{script} exited {p.ExitCode}: {await stderr}");
        return await stdout;
    }

    /// <summary>Starts a long-running peer and waits for it to print "ready". Dispose kills it.</summary>
    public static async Task<RunningPeer> StartAsync(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Python, [Script(script), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {script}");
        var errors = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = await p.StandardOutput.ReadLineAsync(cts.Token);
        if (line != "ready")
        {
            p.Kill(entireProcessTree: true);
            lock (errors)
                throw new InvalidOperationException($"{script} {string.Join(' ', args)} did not start: {errors}");
        }
        return new RunningPeer(p);
    }

    private static string FindRepoRoot()
    {
        // The build output may live outside the tree (ArtifactsPath); the source file never does.
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(ThisFile())! })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ambient.sln")))
                dir = dir.Parent;
            if (dir is not null)
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (Ambient.sln) above " + AppContext.BaseDirectory);
    }

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    internal sealed class RunningPeer(Process process) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                process.StandardInput.Close();
                if (!process.WaitForExit(2000))
                    process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }
    }
}
