using System.Diagnostics;

namespace Ambient.Ctl.Local;

/// <summary>`local exec POD -- CMD…`: runs a command inside a pod's network namespace, with this terminal's stdio.</summary>
internal static class LocalMeshExec
{
    public static async Task<int> RunAsync(LocalMeshOptions o, string ns, string pod, IReadOnlyList<string> command, CancellationToken ct)
    {
        var state = LocalState.Load(o.StateDir) ?? throw new ArgumentException($"local mesh: not running (no state in {o.StateDir})");
        var p = state.Pods.FirstOrDefault(x => x.Namespace == ns && x.Name == pod)
            ?? state.Pods.FirstOrDefault(x => x.Name == pod && ns == "default")
            ?? throw new ArgumentException($"pod {ns}/{pod} is not part of the local mesh; `ambientctl local status` lists them");
        if (command.Count == 0)
            throw new ArgumentException("give a command after --, e.g. ambientctl local exec -n shop web -- curl -s echo.shop:80");
        var psi = new ProcessStartInfo("nsenter") { UseShellExecute = false };
        psi.ArgumentList.Add($"--net={p.Netns}");
        psi.ArgumentList.Add("--");
        foreach (var a in command)
            psi.ArgumentList.Add(a);
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException("cannot start nsenter");
        await proc.WaitForExitAsync(ct);
        return proc.ExitCode;
    }
}
