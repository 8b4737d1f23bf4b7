using System.Text;
using System.Text.Json.Nodes;
using Ambient.Cni.Plugin;
using Xunit;

namespace Ambient.Cni.Tests.Plugin;

/// <summary>The dispatcher in-process: error objects and the commands that need no agent.</summary>
public class CniPluginTests
{
    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string? stdin, params (string, string)[] env)
    {
        var vars = env.ToDictionary(v => v.Item1, v => v.Item2);
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var plugin = new CniPlugin(k => vars.GetValueOrDefault(k), new MemoryStream(Encoding.UTF8.GetBytes(stdin ?? "")), stdout, stderr,
            stdinRedirected: stdin is not null);
        var exit = await plugin.RunAsync();
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    [Fact]
    public async Task RunAsync_MissingCommand_ErrorObjectWithVersionCodeMsgDetails()
    {
        var (exit, stdout, _) = await RunAsync(null);

        Assert.NotEqual(0, exit);
        var error = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(["cniVersion", "code", "msg", "details"], error.Select(p => p.Key));
        Assert.Equal("1.1.0", (string?)error["cniVersion"]);
        Assert.Equal(4, (int)error["code"]!);
        Assert.Contains("CNI_COMMAND", (string?)error["msg"]);
    }

    [Fact]
    public async Task RunAsync_InvalidKeyInConfig_ErrorCarriesConfigVersion()
    {
        var (exit, stdout, stderr) = await RunAsync("""{"cniVersion":"0.4.0","name":"n","failPolicy":"maybe"}""",
            ("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "eth0"));

        Assert.Equal(1, exit);
        var error = JsonNode.Parse(stdout)!;
        Assert.Equal("0.4.0", (string?)error["cniVersion"]);
        Assert.Equal(7, (int)error["code"]!);
        Assert.Contains("failPolicy", stderr);
    }

    [Theory]
    [InlineData("""{"cniVersion":"0.4.0"}""", "0.4.0")]
    [InlineData("""{"cniVersion":"0.3.1"}""", "1.1.0")]
    [InlineData("", "1.1.0")]
    public async Task RunAsync_Version_AnswersInConfigVersionWhenSpoken(string stdin, string expected)
    {
        var (exit, stdout, _) = await RunAsync(stdin, ("CNI_COMMAND", "VERSION"));

        Assert.Equal(0, exit);
        Assert.Equal($$"""{"cniVersion":"{{expected}}","supportedVersions":["0.4.0","1.0.0","1.1.0"]}""", stdout);
    }

    [Fact]
    public async Task RunAsync_VersionWithGarbageOnStdin_Code6()
    {
        var (exit, stdout, _) = await RunAsync("not json", ("CNI_COMMAND", "VERSION"));

        Assert.Equal(1, exit);
        Assert.Equal(6, (int)JsonNode.Parse(stdout)!["code"]!);
    }

    [Fact]
    public async Task RunAsync_Gc_SucceedsSilently()
    {
        var (exit, stdout, stderr) = await RunAsync("""{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[]}""", ("CNI_COMMAND", "GC"));

        Assert.Equal(0, exit);
        Assert.Equal("", stdout);
        Assert.DoesNotContain("ERROR", stderr);
    }

    [Fact]
    public async Task RunAsync_LogLevelNone_NothingOnStderr()
    {
        var (exit, _, stderr) = await RunAsync("""{"cniVersion":"1.0.0","name":"n","logLevel":"none","prevResult":{"cniVersion":"1.0.0"}}""",
            ("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "c1"), ("CNI_NETNS", "/x"), ("CNI_IFNAME", "eth0"));

        Assert.Equal(0, exit); // not a Kubernetes pod: passed through
        Assert.Equal("", stderr);
    }
}
