using Ambient.Cni.Installer;
using Xunit;

namespace Ambient.Cni.Tests.Installer;

public class InstallerOptionsTests
{
    [Fact]
    public void Parse_NoFlags_KubeletDefaults()
    {
        var options = InstallerOptions.Parse(["install"]);

        Assert.False(options.Uninstall);
        Assert.Equal("/opt/cni/bin", options.CniBinDir);
        Assert.Equal("/etc/cni/net.d", options.CniConfDir);
        Assert.Equal("/var/run/ambient/cni.sock", options.AgentSocket);
        Assert.Equal("closed", options.FailPolicy);
        Assert.Equal(TimeSpan.FromMinutes(5), options.WaitTimeout);
    }

    [Fact]
    public void Parse_AllFlagsBothSpellings_Read()
    {
        var options = InstallerOptions.Parse(["uninstall", "--cni-bin-dir", "/host/opt/cni/bin/", "--cni-conf-dir=/host/etc/cni/net.d",
            "--agent-socket", "/run/a.sock", "--fail-policy=open", "--log-level", "WARN", "--log-file", "/var/log/a.log", "--wait-timeout", "2.5s"]);

        Assert.True(options.Uninstall);
        Assert.Equal("/host/opt/cni/bin", options.CniBinDir);
        Assert.Equal("/host/etc/cni/net.d", options.CniConfDir);
        Assert.Equal("/run/a.sock", options.AgentSocket);
        Assert.Equal("open", options.FailPolicy);
        Assert.Equal("warn", options.LogLevel);
        Assert.Equal("/var/log/a.log", options.LogFile);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.WaitTimeout);
        Assert.Equal("""{"type":"ambient-cni","agentSocket":"/run/a.sock","failPolicy":"open","logLevel":"warn","logFile":"/var/log/a.log"}""",
            options.PluginEntry().ToJsonString());
    }

    [Theory]
    [InlineData("--fail-policy", "maybe", "--fail-policy \"maybe\"")]
    [InlineData("--cni-conf-dir", "relative/dir", "absolute path")]
    [InlineData("--wait-timeout", "-1", "--wait-timeout")]
    [InlineData("--log-level", "loud", "--log-level \"loud\"")]
    [InlineData("--colour", "red", "unknown argument \"--colour\"")]
    public void Parse_BadFlag_NamesFlagAndValue(string flag, string value, string expected)
    {
        var e = Assert.Throws<InstallerException>(() => InstallerOptions.Parse(["install", flag, value]));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Parse_FlagWithoutValue_SaysSo()
    {
        var e = Assert.Throws<InstallerException>(() => InstallerOptions.Parse(["install", "--cni-bin-dir"]));
        Assert.Equal("--cni-bin-dir needs a value", e.Message);
    }
}
