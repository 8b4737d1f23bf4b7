using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ambient.Cni.Internal;
using Ambient.Net.Cni;

namespace Ambient.Cni.Plugin;

/// <summary>
/// The previous plugin's result: ADD reads the pod's addresses from it and prints it back unchanged.
/// <code>
/// {"cniVersion":"1.0.0",
///  "interfaces":[{"name":"eth0","sandbox":"/var/run/netns/cni-1"}],
///  "ips":[{"address":"10.99.1.5/24","gateway":"10.99.1.1","interface":0}], …}
///   → PodIp("10.99.1.5/24", "10.99.1.1", "eth0")
/// </code>
/// </summary>
internal static class PrevResult
{
    /// <summary>The pod's addresses; a malformed ips list is code 7 naming the bad element.</summary>
    public static IReadOnlyList<PodIp> ReadIps(JsonElement prevResult)
    {
        if (!prevResult.TryGetProperty("ips", out var ips) || ips.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (ips.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("prevResult.ips must be an array");
        }

        prevResult.TryGetProperty("interfaces", out var interfaces);
        var result = new List<PodIp>(ips.GetArrayLength());
        var i = 0;
        foreach (var ip in ips.EnumerateArray())
        {
            if (ip.ValueKind != JsonValueKind.Object)
            {
                throw Invalid($"prevResult.ips[{i}] must be an object");
            }

            var address = ip.TryGetProperty("address", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : null;
            if (address is null || !IsCidr(address))
            {
                throw Invalid($"prevResult.ips[{i}].address {(address is null ? "is missing" : $"\"{address}\" is not an IP address in CIDR form")}");
            }

            string? gateway = null;
            if (ip.TryGetProperty("gateway", out var g) && g.ValueKind != JsonValueKind.Null)
            {
                gateway = g.ValueKind == JsonValueKind.String && IPAddress.TryParse(g.GetString(), out _)
                    ? g.GetString()
                    : throw Invalid($"prevResult.ips[{i}].gateway {g.GetRawText()} is not an IP address");
            }

            result.Add(new PodIp(address, gateway, InterfaceName(ip, interfaces)));
            i++;
        }

        return result;
    }

    /// <summary>
    /// What ADD prints: prevResult's own bytes when it already is in the config's version (the normal case:
    /// the runtime hands every plugin of a list the same cniVersion). Otherwise it is converted, as libcni
    /// would: cniVersion set, and <c>ips[].version</c> dropped (to 1.x) or added (to 0.4.0).
    /// </summary>
    public static byte[] Render(JsonElement prevResult, string cniVersion)
    {
        var own = prevResult.TryGetProperty("cniVersion", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (own == cniVersion)
        {
            return JsonMarshal.GetRawUtf8Value(prevResult).ToArray();
        }

        var node = JsonNode.Parse(JsonMarshal.GetRawUtf8Value(prevResult))!.AsObject();
        node["cniVersion"] = cniVersion;
        if (node["ips"] is JsonArray ips)
        {
            var toLegacy = !CniVersions.AtLeast(cniVersion, "1.0.0");
            foreach (var ip in ips.OfType<JsonObject>())
            {
                if (!toLegacy)
                {
                    ip.Remove("version");
                }
                else if (!ip.ContainsKey("version") && ip["address"] is JsonValue addr && addr.TryGetValue<string>(out var text))
                {
                    ip["version"] = text.Contains(':') ? "6" : "4";
                }
            }
        }

        return JsonSerializerHelpers.ToUtf8(node);
    }

    private static string? InterfaceName(JsonElement ip, JsonElement interfaces)
    {
        // "interface" is an index into "interfaces"; a missing or dangling index leaves the name unknown
        // rather than failing: the agent captures by netns, the name is informational.
        if (!ip.TryGetProperty("interface", out var index) || index.ValueKind != JsonValueKind.Number
            || !index.TryGetInt32(out var n) || n < 0
            || interfaces.ValueKind != JsonValueKind.Array || n >= interfaces.GetArrayLength())
        {
            return null;
        }

        var iface = interfaces[n];
        return iface.ValueKind == JsonValueKind.Object && iface.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
            ? name.GetString()
            : null;
    }

    private static bool IsCidr(string text)
    {
        var slash = text.IndexOf('/');
        if (slash <= 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            || !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out var prefix))
        {
            return false;
        }

        return prefix <= (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32);
    }

    private static CniException Invalid(string what) =>
        new(CniErrorCode.InvalidNetworkConfig, $"invalid prevResult: {what}",
            "ambient-cni is chained after the primary CNI and reads the pod's addresses from its result");
}
