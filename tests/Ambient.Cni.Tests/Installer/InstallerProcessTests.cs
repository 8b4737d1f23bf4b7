using System.Text.Json.Nodes;
using Ambient.Cni.Tests.Testing;
using Xunit;

namespace Ambient.Cni.Tests.Installer;

/// <summary><c>ambient-cni install|uninstall</c> of the published binary against temp bin and conf dirs.</summary>
[Collection(NativeCniCollection.Name)]
public sealed class InstallerProcessTests(NativeCniBinary binary) : IDisposable
{
    private const string FlannelConf = """
        {
          "cniVersion": "1.0.0",
          "name": "cbr0",
          "type": "flannel",
          "delegate": { "hairpinMode": true, "isDefaultGateway": true }
        }
        """;

    private const string CalicoConfList = """
        {"name":"k8s-pod-network","cniVersion":"1.0.0","plugins":[
          {"type":"calico","log_level":"info","ipam":{"type":"calico-ipam"},"policy":{"type":"k8s"}},
          {"type":"portmap","snat":true,"capabilities":{"portMappings":true}}]}
        """;

    private readonly TempDir _dir = new(nameof(InstallerProcessTests));

    private string BinDir => _dir.Combine("bin");

    private string ConfDir => _dir.Combine("net.d");

    private string Conf(string name) => Path.Combine(ConfDir, name);

    private void WriteConf(string name, string json, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        Directory.CreateDirectory(ConfDir);
        File.WriteAllText(Conf(name), json);
        File.SetUnixFileMode(Conf(name), mode);
    }

    private Task<CniRun> RunAsync(string verb, Action<string>? onLine = null, params string[] flags) =>
        CniProcess.RunAsync(binary.Path, [verb, "--cni-bin-dir", BinDir, "--cni-conf-dir", ConfDir, .. flags], new Dictionary<string, string>(), null, onLine);

    private static void AssertOk(CniRun run) => Assert.True(run.ExitCode == 0, run.ToString());

    private static void AssertJson(string expected, string actualText) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actualText)), actualText);

    private string[] ConfFiles() => Directory.GetFiles(ConfDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public async Task Install_SingleConf_ConvertedToConfListAndConfRemoved()
    {
        WriteConf("10-flannel.conf", FlannelConf, (UnixFileMode)0b110_100_000); // 0640: kept

        var run = await RunAsync("install", null, "--agent-socket", "/run/ambient/x.sock", "--fail-policy", "open");

        AssertOk(run);
        Assert.Equal(["10-flannel.conflist"], ConfFiles());
        AssertJson("""
            {"cniVersion":"1.0.0","name":"cbr0","plugins":[
              {"cniVersion":"1.0.0","name":"cbr0","type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},
              {"type":"ambient-cni","agentSocket":"/run/ambient/x.sock","failPolicy":"open","logLevel":"info","convertedFrom":"10-flannel.conf"}]}
            """, File.ReadAllText(Conf("10-flannel.conflist")));
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(Conf("10-flannel.conflist")));
    }

    [Fact]
    public async Task Install_ConfList_OurEntryAppendedToFirstFileOnly()
    {
        WriteConf("10-calico.conflist", CalicoConfList);
        WriteConf("99-loopback.conf", """{"cniVersion":"1.0.0","name":"lo","type":"loopback"}""");
        WriteConf("05-broken.conflist", "{ not json");
        var loopback = File.ReadAllText(Conf("99-loopback.conf"));

        var run = await RunAsync("install");

        AssertOk(run);
        Assert.Contains("skipping", run.Stdout); // the broken one is reported, then passed over
        var plugins = JsonNode.Parse(File.ReadAllText(Conf("10-calico.conflist")))!["plugins"]!.AsArray();
        Assert.Equal(["calico", "portmap", "ambient-cni"], plugins.Select(p => (string?)p!["type"]));
        Assert.Equal(loopback, File.ReadAllText(Conf("99-loopback.conf")));
        Assert.Equal("{ not json", File.ReadAllText(Conf("05-broken.conflist")));
        Assert.DoesNotContain(ConfFiles(), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Install_SecondRun_FilesUntouched()
    {
        WriteConf("10-flannel.conf", FlannelConf);
        AssertOk(await RunAsync("install"));
        var conflist = Conf("10-flannel.conflist");
        var bytes = File.ReadAllBytes(conflist);
        var written = File.GetLastWriteTimeUtc(conflist);
        var binaryWritten = File.GetLastWriteTimeUtc(Path.Combine(BinDir, "ambient-cni"));

        var second = await RunAsync("install");

        AssertOk(second);
        Assert.Contains("unchanged", second.Stdout);
        Assert.Equal(bytes, File.ReadAllBytes(conflist));
        Assert.Equal(written, File.GetLastWriteTimeUtc(conflist));
        Assert.Equal(binaryWritten, File.GetLastWriteTimeUtc(Path.Combine(BinDir, "ambient-cni")));
        Assert.Equal(["10-flannel.conflist"], ConfFiles());
    }

    [Fact]
    public async Task Install_Binary_CopiedExecutableAndWorking()
    {
        WriteConf("10-calico.conflist", CalicoConfList);

        AssertOk(await RunAsync("install"));

        var installed = Path.Combine(BinDir, "ambient-cni");
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(installed));
        Assert.Equal(File.ReadAllBytes(binary.Path), File.ReadAllBytes(installed));
        var version = await CniProcess.RunPluginAsync(installed, "VERSION", """{"cniVersion":"1.0.0"}""");
        Assert.Equal(0, version.ExitCode);
    }

    [Fact]
    public async Task Uninstall_AfterConversion_OriginalConfBackAndBinaryGone()
    {
        WriteConf("10-flannel.conf", FlannelConf);
        AssertOk(await RunAsync("install"));

        var run = await RunAsync("uninstall");

        AssertOk(run);
        Assert.Equal(["10-flannel.conf"], ConfFiles());
        AssertJson(FlannelConf, File.ReadAllText(Conf("10-flannel.conf")));
        Assert.False(File.Exists(Path.Combine(BinDir, "ambient-cni")));
    }

    [Fact]
    public async Task Uninstall_ConfList_EverythingButOurEntryAsItWas()
    {
        WriteConf("10-calico.conflist", CalicoConfList);
        AssertOk(await RunAsync("install"));
        AssertOk(await RunAsync("install", null, "--fail-policy", "open")); // a changed reinstall replaces, not duplicates

        AssertOk(await RunAsync("uninstall"));
        var again = await RunAsync("uninstall");

        AssertOk(again);
        AssertJson(CalicoConfList, File.ReadAllText(Conf("10-calico.conflist")));
        Assert.Equal(["10-calico.conflist"], ConfFiles());
        Assert.Contains("nothing to remove", again.Stdout);
    }

    [Fact]
    public async Task Install_NoConfigAndNoWait_FailsSayingWhatToDo()
    {
        Directory.CreateDirectory(ConfDir);

        var run = await RunAsync("install", null, "--wait-timeout", "0");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"no valid CNI config (.conf, .conflist or .json) in {ConfDir}", run.Stderr);
        Assert.Contains("install the primary CNI first", run.Stderr);
    }

    [Fact]
    public async Task Install_ConfigAppearsWhileWaiting_Patched()
    {
        // Sync point instead of a sleep: the conf is written once the installer says it is waiting.
        var run = RunAsync("install", line =>
        {
            if (line.Contains("waiting up to", StringComparison.Ordinal))
            {
                WriteConf("10-calico.conflist", CalicoConfList);
            }
        }, "--wait-timeout", "30");

        var result = await run;

        AssertOk(result);
        Assert.Contains("ambient-cni", File.ReadAllText(Conf("10-calico.conflist")));
    }

    [Fact]
    public async Task Install_ConfigVersionNotSpoken_FailsWithoutTouchingIt()
    {
        const string old = """{"cniVersion":"0.3.1","name":"kindnet","plugins":[{"type":"ptp"}]}""";
        WriteConf("10-kindnet.conflist", old);

        var run = await RunAsync("install");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("10-kindnet.conflist: cniVersion is \"0.3.1\"", run.Stderr);
        Assert.Equal(old, File.ReadAllText(Conf("10-kindnet.conflist")));
    }

    [Fact]
    public async Task Install_BadFlag_UsageErrorExit2()
    {
        var run = await RunAsync("install", null, "--fail-policy", "sometimes");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--fail-policy \"sometimes\"", run.Stderr);
    }

    public void Dispose() => _dir.Dispose();
}
