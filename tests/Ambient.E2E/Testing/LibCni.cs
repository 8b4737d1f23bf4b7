namespace Ambient.E2E.Testing;

/// <summary>
/// tests/libcni-driver: the reference runtime library (libcni, Debian's golang-github-appc-cni-dev) driving a node's CNI
/// conflist, as containerd or CRI-O would: built offline into a temp directory, run inside the node's network namespace
/// with CNI_PATH=/usr/lib/cni:out/bin and its own result cache. Dispose removes the binary and the cache.
/// </summary>
public sealed class LibCni : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private LibCni(string dir)
    {
        Dir = dir;
        Driver = Path.Combine(dir, "libcni-driver");
        CacheDir = Path.Combine(dir, "cache");
        Directory.CreateDirectory(CacheDir);
    }

    public string Dir { get; }
    public string Driver { get; }
    public string CacheDir { get; }

    public static async Task<LibCni> BuildAsync()
    {
        var dir = Directory.CreateTempSubdirectory("ambient-e2e-libcni-").FullName;
        var cni = new LibCni(dir);
        try
        {
            await Proc.CheckAsync("bash", [Path.Combine(Repo.Root, "tests", "libcni-driver", "build.sh"), cni.Driver], TimeSpan.FromSeconds(180));
        }
        catch
        {
            cni.Dispose();
            throw;
        }
        return cni;
    }

    /// <summary>A pod sandbox as the runtime names it to the plugins.</summary>
    public sealed record Sandbox(string Netns, string ContainerId, string PodNamespace, string PodName, string PodUid)
    {
        public string[] Args => [$"K8S_POD_NAMESPACE={PodNamespace}", $"K8S_POD_NAME={PodName}", $"K8S_POD_UID={PodUid}", "IgnoreUnknown=1"];
    }

    /// <summary>libcni-driver add|check|del CONFLIST NETNS CONTAINER_ID K=V… inside <paramref name="nodeNetns"/>.</summary>
    public Task<ProcResult> RunAsync(string command, string nodeNetns, string confList, Sandbox sandbox) =>
        Proc.RunAsync("nsenter", [$"--net={nodeNetns}", "--", Driver, command, confList, sandbox.Netns, sandbox.ContainerId, .. sandbox.Args], Timeout,
            new Dictionary<string, string> { ["CNI_PATH"] = $"/usr/lib/cni:{Repo.BinDir}", ["CNI_CACHE_DIR"] = CacheDir });

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
