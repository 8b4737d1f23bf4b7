using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ambient.Cni.Plugin;
using Ambient.Net.Cni;
using Xunit;

namespace Ambient.Cni.Tests.Plugin;

public class PrevResultTests
{
    private static JsonElement Element(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void ReadIps_DualStack_AddressGatewayAndInterfaceName()
    {
        var prev = Element("""
            {"cniVersion":"1.0.0","interfaces":[{"name":"cali1"},{"name":"eth0","sandbox":"/var/run/netns/x"}],
             "ips":[{"address":"10.99.1.5/24","gateway":"10.99.1.1","interface":1},{"address":"fd00::5/64","interface":1}]}
            """);

        Assert.Equal(
            [new PodIp("10.99.1.5/24", "10.99.1.1", "eth0"), new PodIp("fd00::5/64", null, "eth0")],
            PrevResult.ReadIps(prev));
    }

    [Theory]
    [InlineData("""{"ips":[{"address":"10.0.0.1/32","interface":7}],"interfaces":[{"name":"eth0"}]}""")]
    [InlineData("""{"ips":[{"address":"10.0.0.1/32","interface":-1}],"interfaces":[{"name":"eth0"}]}""")]
    [InlineData("""{"ips":[{"address":"10.0.0.1/32","interface":0}]}""")]
    [InlineData("""{"ips":[{"address":"10.0.0.1/32"}],"interfaces":[{"name":"eth0"}]}""")]
    public void ReadIps_NoUsableInterfaceIndex_NameUnknown(string json)
    {
        Assert.Equal([new PodIp("10.0.0.1/32", null, null)], PrevResult.ReadIps(Element(json)));
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"ips":null}""")]
    [InlineData("""{"ips":[]}""")]
    public void ReadIps_NoIps_Empty(string json)
    {
        Assert.Empty(PrevResult.ReadIps(Element(json)));
    }

    [Theory]
    [InlineData("""{"ips":{}}""", "ips must be an array")]
    [InlineData("""{"ips":[1]}""", "ips[0] must be an object")]
    [InlineData("""{"ips":[{"gateway":"10.0.0.1"}]}""", "ips[0].address is missing")]
    [InlineData("""{"ips":[{"address":"10.0.0.1"}]}""", "not an IP address in CIDR form")]
    [InlineData("""{"ips":[{"address":"10.0.0.1/33"}]}""", "not an IP address in CIDR form")]
    [InlineData("""{"ips":[{"address":"10.0.0.1/24"},{"address":"nonsense/24"}]}""", "ips[1].address")]
    [InlineData("""{"ips":[{"address":"10.0.0.1/24","gateway":"gw"}]}""", "ips[0].gateway")]
    public void ReadIps_Malformed_Code7NamesElement(string json, string expected)
    {
        var e = Assert.Throws<CniException>(() => PrevResult.ReadIps(Element(json)));
        Assert.Equal(CniErrorCode.InvalidNetworkConfig, e.Code);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Render_SameVersion_OriginalBytes()
    {
        // Odd spacing, key order and escapes must survive: the runtime gets exactly what the primary CNI wrote.
        const string prev = """{ "ips" : [ {"address":"10.0.0.1/24"} ],"cniVersion":"1.0.0", "dns":{"search":["a\u002Bb"]}, "x-vendor":  1e3 }""";
        var root = Element($$"""{"cniVersion":"1.0.0","name":"n","prevResult":{{prev}}}""");

        Assert.Equal(prev, Encoding.UTF8.GetString(PrevResult.Render(root.GetProperty("prevResult"), "1.0.0")));
    }

    [Fact]
    public void Render_From040To100_DropsIpVersion()
    {
        var prev = Element("""{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.1/24"}]}""");

        var output = JsonNode.Parse(PrevResult.Render(prev, "1.0.0"))!;

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24"}]}"""), output), output.ToJsonString());
    }

    [Fact]
    public void Render_From100To040_AddsIpVersion()
    {
        var prev = Element("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24"},{"address":"fd00::1/64"}]}""");

        var output = JsonNode.Parse(PrevResult.Render(prev, "0.4.0"))!;

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(
            """{"cniVersion":"0.4.0","ips":[{"address":"10.0.0.1/24","version":"4"},{"address":"fd00::1/64","version":"6"}]}"""), output),
            output.ToJsonString());
    }

    [Fact]
    public void Render_NoVersion_ConfigVersionAdded()
    {
        var prev = Element("""{"ips":[{"address":"10.0.0.1/24"}],"dns":{}}""");

        var output = JsonNode.Parse(PrevResult.Render(prev, "1.1.0"))!;

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"ips":[{"address":"10.0.0.1/24"}],"dns":{},"cniVersion":"1.1.0"}"""), output));
    }
}
