using Ambient.Cni.Plugin;
using Xunit;

namespace Ambient.Cni.Tests.Plugin;

public class CniEnvironmentTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] vars)
    {
        var map = vars.ToDictionary(v => v.Key, v => v.Value);
        return key => map.GetValueOrDefault(key);
    }

    private static readonly (string, string)[] FullAdd =
    [
        ("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "c0ffee"), ("CNI_NETNS", "/var/run/netns/cni-1"),
        ("CNI_IFNAME", "eth0"), ("CNI_ARGS", "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u"), ("CNI_PATH", "/opt/cni/bin"),
    ];

    [Fact]
    public void Parse_FullAdd_AllParametersRead()
    {
        var env = CniEnvironment.Parse(Env(FullAdd));

        Assert.Equal(CniCommand.Add, env.Command);
        Assert.Equal("c0ffee", env.ContainerId);
        Assert.Equal("/var/run/netns/cni-1", env.Netns);
        Assert.Equal("eth0", env.IfName);
        Assert.Equal(new CniArgs("ns", "p", "u"), env.Args);
        Assert.Equal("/opt/cni/bin", env.Path);
    }

    [Fact]
    public void Parse_MissingCommand_Code4()
    {
        var e = Assert.Throws<CniException>(() => CniEnvironment.Parse(Env()));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains("CNI_COMMAND", e.Message);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("DELETE")]
    [InlineData("UPGRADE")]
    public void Parse_UnknownCommand_Code4(string command)
    {
        var e = Assert.Throws<CniException>(() => CniEnvironment.Parse(Env(("CNI_COMMAND", command))));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains(command, e.Message);
    }

    // Required parameters per command (CNI spec 1.1 §2): the message lists exactly what is missing.
    [Theory]
    [InlineData("ADD", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME")]
    [InlineData("CHECK", "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME")]
    [InlineData("DEL", "CNI_CONTAINERID,CNI_IFNAME")]
    public void Parse_CommandWithoutItsParameters_Code4ListsMissing(string command, string missing)
    {
        var e = Assert.Throws<CniException>(() => CniEnvironment.Parse(Env(("CNI_COMMAND", command))));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Equal($"required env variables [{missing}] missing", e.Message);
    }

    [Theory]
    [InlineData("VERSION")]
    [InlineData("STATUS")]
    [InlineData("GC")]
    public void Parse_CommandWithoutContainer_NeedsNoOtherVariable(string command)
    {
        Assert.Equal(command, CniEnvironment.Parse(Env(("CNI_COMMAND", command))).Command.ToString().ToUpperInvariant());
    }

    [Fact]
    public void Parse_DelWithoutNetns_Accepted()
    {
        var env = CniEnvironment.Parse(Env(("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "eth0")));
        Assert.Equal("", env.Netns);
    }

    [Theory]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("quote\"")]
    [InlineData("_x")]
    public void Parse_InvalidContainerId_Code4(string id)
    {
        var vars = FullAdd.Select(v => v.Item1 == "CNI_CONTAINERID" ? (v.Item1, id) : v).ToArray();
        var e = Assert.Throws<CniException>(() => CniEnvironment.Parse(Env(vars)));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains("CNI_CONTAINERID", e.Message);
    }

    [Theory]
    [InlineData("0123456789abcdef")] // 16 > IFNAMSIZ-1
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("eth/0")]
    [InlineData("eth:0")]
    [InlineData("eth 0")]
    public void Parse_InvalidIfName_Code4(string name)
    {
        var vars = FullAdd.Select(v => v.Item1 == "CNI_IFNAME" ? (v.Item1, name) : v).ToArray();
        var e = Assert.Throws<CniException>(() => CniEnvironment.Parse(Env(vars)));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains("CNI_IFNAME", e.Message);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("0123456789abcde")] // exactly 15
    [InlineData("net1.100")]
    public void Parse_ValidIfName_Accepted(string name)
    {
        var vars = FullAdd.Select(v => v.Item1 == "CNI_IFNAME" ? (v.Item1, name) : v).ToArray();
        Assert.Equal(name, CniEnvironment.Parse(Env(vars)).IfName);
    }
}
