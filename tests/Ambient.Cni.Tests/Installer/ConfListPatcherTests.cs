using System.Text.Json.Nodes;
using Ambient.Cni.Installer;
using Xunit;

namespace Ambient.Cni.Tests.Installer;

public class ConfListPatcherTests
{
    private static readonly JsonObject Entry = new() { ["type"] = "ambient-cni", ["agentSocket"] = "/var/run/ambient/cni.sock", ["failPolicy"] = "closed" };

    private static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    private static void AssertJson(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), actual?.ToJsonString());

    private const string Calico = """
        {"name":"k8s-pod-network","cniVersion":"1.0.0","plugins":[
          {"type":"calico","ipam":{"type":"calico-ipam"}},{"type":"portmap","capabilities":{"portMappings":true}}]}
        """;

    [Fact]
    public void Patch_ConfList_AppendsEntryLastKeepingEverythingElse()
    {
        var change = ConfListPatcher.Patch("10-calico.conflist", Obj(Calico), Entry);

        Assert.Equal("10-calico.conflist", change.FileName);
        Assert.Null(change.RemoveFileName);
        AssertJson("""
            {"name":"k8s-pod-network","cniVersion":"1.0.0","plugins":[
              {"type":"calico","ipam":{"type":"calico-ipam"}},{"type":"portmap","capabilities":{"portMappings":true}},
              {"type":"ambient-cni","agentSocket":"/var/run/ambient/cni.sock","failPolicy":"closed"}]}
            """, change.Content);
    }

    [Fact]
    public void Patch_ConfListWithOlderEntry_ReplacedNotDuplicated()
    {
        var old = Obj("""{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"ambient-cni","failPolicy":"open"},{"type":"bridge"}]}""");

        var change = ConfListPatcher.Patch("10-n.conflist", old, Entry);

        AssertJson("""
            {"name":"n","cniVersion":"1.0.0","plugins":[{"type":"bridge"},
              {"type":"ambient-cni","agentSocket":"/var/run/ambient/cni.sock","failPolicy":"closed"}]}
            """, change.Content);
    }

    [Fact]
    public void Patch_SingleConf_BecomesConfListWithSameNameVersionAndBaseName()
    {
        var conf = Obj("""{"cniVersion":"0.4.0","name":"cbr0","type":"flannel","delegate":{"isDefaultGateway":true}}""");

        var change = ConfListPatcher.Patch("10-flannel.conf", conf, Entry);

        Assert.Equal("10-flannel.conflist", change.FileName);
        Assert.Equal("10-flannel.conf", change.RemoveFileName);
        AssertJson("""
            {"cniVersion":"0.4.0","name":"cbr0","plugins":[
              {"cniVersion":"0.4.0","name":"cbr0","type":"flannel","delegate":{"isDefaultGateway":true}},
              {"type":"ambient-cni","agentSocket":"/var/run/ambient/cni.sock","failPolicy":"closed","convertedFrom":"10-flannel.conf"}]}
            """, change.Content);
    }

    [Fact]
    public void Patch_ItsOwnOutput_SameResult()
    {
        var once = ConfListPatcher.Patch("10-flannel.json", Obj("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel"}"""), Entry);
        var twice = ConfListPatcher.Patch(once.FileName, once.Content!, Entry);

        Assert.Equal(once.FileName, twice.FileName);
        Assert.Equal(CniInstaller.Serialize(once.Content!), CniInstaller.Serialize(twice.Content!));
    }

    [Theory]
    [InlineData("""{"cniVersion":"0.3.1","name":"n","plugins":[{"type":"bridge"}]}""", "cniVersion is \"0.3.1\"")]
    [InlineData("""{"name":"n","plugins":[{"type":"bridge"}]}""", "cniVersion is missing")]
    [InlineData("""{"cniVersion":"1.1.0","cniVersions":["0.3.1","2.0.0"],"name":"n","plugins":[{"type":"bridge"}]}""", "cniVersions [\"0.3.1\", \"2.0.0\"] has none")]
    public void Patch_VersionAmbientCniDoesNotSpeak_RefusesNamingFileAndVersion(string json, string expected)
    {
        var e = Assert.Throws<InstallerException>(() => ConfListPatcher.Patch("10-n.conflist", Obj(json), Entry));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("10-n.conflist: ", e.Message);
    }

    [Theory]
    [InlineData("""{"cniVersion":"1.0.0","cniVersions":["0.3.1","1.1.0"],"name":"n","plugins":[{"type":"bridge"}]}""")]
    [InlineData("""{"cniVersions":["1.1.0"],"name":"n","plugins":[{"type":"bridge"}]}""")]
    public void Patch_CniVersionsWithSpokenVersion_Accepted(string json)
    {
        Assert.Equal(2, ((JsonArray)ConfListPatcher.Patch("10-n.conflist", Obj(json), Entry).Content!["plugins"]!).Count);
    }

    [Fact]
    public void Unpatch_ConfList_RemovesOnlyOurEntry()
    {
        var patched = ConfListPatcher.Patch("10-calico.conflist", Obj(Calico), Entry);

        var change = ConfListPatcher.Unpatch("10-calico.conflist", patched.Content!);

        Assert.Equal("10-calico.conflist", change!.FileName);
        Assert.Null(change.RemoveFileName);
        AssertJson(Calico, change.Content);
    }

    [Fact]
    public void Unpatch_ConvertedConf_GivesBackTheOriginalConf()
    {
        const string original = """{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","delegate":{"hairpinMode":true}}""";
        var patched = ConfListPatcher.Patch("10-flannel.conf", Obj(original), Entry);

        var change = ConfListPatcher.Unpatch(patched.FileName, patched.Content!);

        Assert.Equal("10-flannel.conf", change!.FileName);
        Assert.Equal("10-flannel.conflist", change.RemoveFileName);
        AssertJson(original, change.Content);
    }

    [Fact]
    public void Unpatch_ConvertedConfThatGainedAPlugin_StaysAConfList()
    {
        var patched = ConfListPatcher.Patch("10-flannel.conf", Obj("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel"}"""), Entry);
        ((JsonArray)patched.Content!["plugins"]!).Add(new JsonObject { ["type"] = "bandwidth" });

        var change = ConfListPatcher.Unpatch(patched.FileName, patched.Content);

        Assert.Equal("10-flannel.conflist", change!.FileName);
        Assert.Null(change.RemoveFileName);
        Assert.Equal(2, ((JsonArray)change.Content!["plugins"]!).Count);
    }

    [Theory]
    [InlineData("../../etc/passwd.conf")]
    [InlineData("/etc/cni/net.d/x.conf")]
    [InlineData("10-x.conflist")]
    [InlineData("notes.txt")]
    public void Unpatch_MarkNamingAnythingButASiblingConf_NotFollowed(string mark)
    {
        var list = Obj($$"""{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{"type":"ambient-cni","convertedFrom":"{{mark}}"}]}""");

        var change = ConfListPatcher.Unpatch("10-n.conflist", list);

        Assert.Equal("10-n.conflist", change!.FileName);
        Assert.Null(change.RemoveFileName);
    }

    [Theory]
    [InlineData("10-n.conf", """{"cniVersion":"1.0.0","name":"n","type":"bridge"}""")]
    [InlineData("10-n.conflist", """{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"}]}""")]
    public void Unpatch_WithoutOurEntry_NoChange(string name, string json)
    {
        Assert.Null(ConfListPatcher.Unpatch(name, Obj(json)));
    }

    [Theory]
    [InlineData("a.conf", """{"name":"n","type":"bridge"}""", null)]
    [InlineData("a.json", """{"name":"n","type":"bridge"}""", null)]
    [InlineData("a.conflist", """{"name":"n","plugins":[{"type":"bridge"}]}""", null)]
    [InlineData("a.conf", """[]""", "not a JSON object")]
    [InlineData("a.conf", """{"type":"bridge"}""", "no network name")]
    [InlineData("a.conf", """{"name":"n"}""", "no plugin type")]
    [InlineData("a.conflist", """{"name":"n","type":"bridge"}""", "no plugins")]
    [InlineData("a.conflist", """{"name":"n","plugins":[]}""", "no plugins")]
    [InlineData("a.conflist", """{"name":"n","plugins":[{"type":"a"},{"x":1}]}""", "plugins[1] has no type")]
    public void Validate_Table(string name, string json, string? expected)
    {
        Assert.Equal(expected, ConfListPatcher.Validate(name, JsonNode.Parse(json)));
    }
}
