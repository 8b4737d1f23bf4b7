using Ambient.E2E.Testing;
using Xunit.Abstractions;

namespace Ambient.E2E;

/// <summary>`ambientctl local down` removes everything `up` created.</summary>
public sealed class TeardownTests(ITestOutputHelper output) : OwnMeshTest(output)
{
    [Fact]
    public async Task LocalDown_RunningMesh_LeavesNoNamespacesIpamProcessesOrState()
    {
        var mesh = Mesh;
        var state = mesh.State;
        var footprint = await MeshFootprint.CaptureAsync(mesh);
        var netnsBefore = MeshFootprint.NetnsNames(mesh.Prefix);
        // 1 fabric + 2 nodes + 5 pods, each recorded and running.
        Assert.Equal(8, netnsBefore.Count);
        Assert.Equal(2, MeshFootprint.IpamDirs(mesh.Prefix).Count);
        var recorded = footprint.Pids.Select(p => (p.What, p.Pid, Cmd: string.Join(' ', Proc.CommandLineOf(p.Pid)))).ToArray();
        Assert.Equal(1 + state.Nodes.Count + state.Pods.Count, recorded.Length);
        Assert.All(recorded, p => Assert.True(Proc.IsRunning(p.Pid), $"{p.What} (pid {p.Pid}) is not running before `down`"));

        var down = await mesh.CtlAsync("local", "down");
        Assert.True(down.Ok, down.ToString());
        Assert.DoesNotContain("warning", down.Stdout, StringComparison.OrdinalIgnoreCase);

        var left = footprint.Leftovers();
        Assert.True(left.Netns.Count == 0, $"network namespaces left: {string.Join(", ", left.Netns)}");
        Assert.True(left.IpamDirs.Count == 0, $"IPAM directories left: {string.Join(", ", left.IpamDirs)}");
        var alive = recorded.Where(p => Proc.IsRunning(p.Pid) && string.Join(' ', Proc.CommandLineOf(p.Pid)) == p.Cmd).ToArray();
        Assert.True(alive.Length == 0, $"still running: {string.Join("; ", alive.Select(p => $"{p.What} pid {p.Pid}: {p.Cmd}"))}");
        Assert.True(left.Processes.Count == 0, $"processes of the mesh left: {string.Join("; ", left.Describe())}");
        Assert.False(Directory.Exists(mesh.StateDir), $"state directory {mesh.StateDir} still exists");

        // A second `down` finds nothing and still succeeds.
        var again = await mesh.CtlAsync("local", "down");
        Assert.True(again.Ok, again.ToString());
        Assert.True(footprint.Leftovers().None);
    }
}
