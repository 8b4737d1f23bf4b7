using System.Text;
using Ambient.Cni.Plugin;
using Ambient.Net.Cni;
using Xunit;

namespace Ambient.Cni.Tests.Plugin;

public class PluginConfigTests
{
    private static PluginConfig Parse(string json, CniCommand command = CniCommand.Add) =>
        PluginConfig.Parse(Encoding.UTF8.GetBytes(json), command);

    private static CniException Fails(string json, CniCommand command = CniCommand.Add) =>
        Assert.Throws<CniException>(() => Parse(json, command));

    [Fact]
    public void Parse_MinimalConfig_Defaults()
    {
        var config = Parse("""{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"ambient-cni"}""");

        Assert.Equal("1.0.0", config.CniVersion);
        Assert.Equal("k8s-pod-network", config.Name);
        Assert.Equal(PodHandoff.DefaultSocket, config.AgentSocket);
        Assert.Equal(FailPolicy.Closed, config.FailPolicy);
        Assert.Equal(PluginLogLevel.Info, config.LogLevel);
        Assert.Null(config.LogFile);
        Assert.Equal(TimeSpan.FromSeconds(10), config.AgentTimeout);
        Assert.Null(config.PrevResult);
    }

    [Fact]
    public void Parse_AllKeysAndUnknownOnes_Read()
    {
        var config = Parse("""
            {"cniVersion":"1.1.0","name":"net","type":"ambient-cni","agentSocket":"/run/a.sock","failPolicy":"open",
             "logLevel":"DEBUG","logFile":"/var/log/a.log","agentTimeoutSeconds":2.5,"runtimeConfig":{"x":1},"args":{},
             "prevResult":{"cniVersion":"1.1.0","ips":[]}}
            """);

        Assert.Equal("/run/a.sock", config.AgentSocket);
        Assert.Equal(FailPolicy.Open, config.FailPolicy);
        Assert.Equal(PluginLogLevel.Debug, config.LogLevel);
        Assert.Equal("/var/log/a.log", config.LogFile);
        Assert.Equal(TimeSpan.FromSeconds(2.5), config.AgentTimeout);
        Assert.Equal(System.Text.Json.JsonValueKind.Object, config.PrevResult!.Value.ValueKind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{bad")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n"} {}""")]
    [InlineData("""{"cniVersion":"1.0.0",/*c*/"name":"n"}""")]
    public void Parse_NotOneJsonObject_DecodingFailureCode6(string json)
    {
        Assert.Equal(CniErrorCode.DecodingFailure, Fails(json).Code);
    }

    [Theory]
    [InlineData("""{"cniVersion":"0.3.1","name":"n"}""", "0.3.1")]
    [InlineData("""{"cniVersion":"2.0.0","name":"n"}""", "2.0.0")]
    [InlineData("""{"name":"n"}""", "0.1.0")]
    public void Parse_UnsupportedVersion_IncompatibleCode1NamesVersions(string json, string shown)
    {
        var e = Fails(json);
        Assert.Equal(CniErrorCode.IncompatibleVersion, e.Code);
        Assert.Contains(shown, e.Details);
        Assert.Contains("1.1.0", e.Details);
    }

    [Theory]
    [InlineData("Check", "0.4.0")]
    [InlineData("Status", "1.1.0")]
    [InlineData("Gc", "1.1.0")]
    public void Parse_CommandTheConfigVersionHas_Accepted(string command, string version)
    {
        var json = $$"""{"cniVersion":"{{version}}","name":"n"}""";
        Assert.Equal(version, Parse(json, Enum.Parse<CniCommand>(command)).CniVersion);
    }

    [Theory]
    [InlineData("Status", "1.0.0")]
    [InlineData("Gc", "0.4.0")]
    public void Parse_CommandNewerThanConfigVersion_Code1(string command, string version)
    {
        var json = $$"""{"cniVersion":"{{version}}","name":"n"}""";
        var e = Fails(json, Enum.Parse<CniCommand>(command));
        Assert.Equal(CniErrorCode.IncompatibleVersion, e.Code);
        Assert.Contains("does not allow " + command.ToUpperInvariant(), e.Message);
    }

    [Theory]
    [InlineData("""{"cniVersion":"1.0.0"}""", "missing network name")]
    [InlineData("""{"cniVersion":"1.0.0","name":"bad name"}""", "network name")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","failPolicy":"maybe"}""", "failPolicy \"maybe\"")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","failPolicy":5}""", "failPolicy \"5\" must be a string")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","agentSocket":"relative.sock"}""", "agentSocket")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","logLevel":"loud"}""", "logLevel \"loud\"")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","logFile":"x.log"}""", "logFile")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","agentTimeoutSeconds":0}""", "agentTimeoutSeconds")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","agentTimeoutSeconds":"10"}""", "agentTimeoutSeconds")]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","prevResult":[]}""", "prevResult must be an object")]
    public void Parse_InvalidKey_InvalidNetworkConfigCode7NamesKey(string json, string expected)
    {
        var e = Fails(json);
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, e.Code);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Parse_SocketPathLongerThanSunPath_Code7()
    {
        var json = $$"""{"cniVersion":"1.0.0","name":"n","agentSocket":"/{{new string('s', 107)}}"}""";
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, Fails(json).Code);
    }

    [Theory]
    [InlineData("""{"cniVersion":"1.0.0","name":"n"}""", "1.0.0")]
    [InlineData("""{"cniVersion":"0.3.1","name":"n"}""", "1.1.0")]
    [InlineData("{bad", "1.1.0")]
    public void VersionForErrors_ConfigVersionWhenSpoken_ElseLatest(string json, string expected)
    {
        Assert.Equal(expected, PluginConfig.VersionForErrors(Encoding.UTF8.GetBytes(json)));
    }
}
