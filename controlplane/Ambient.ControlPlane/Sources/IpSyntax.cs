using System.Globalization;
using System.Net;

namespace Ambient.ControlPlane.Sources;

/// <summary>
/// Strict IP and CIDR text, as Kubernetes and Istio accept it (Go's <c>netip.ParseAddr</c>/<c>ParsePrefix</c>).
/// <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> alone is far more lenient: it reads "10.1" as 10.0.0.1
/// and "010.0.0.1" as octal 8.0.0.1, which would silently turn a policy's ipBlock into a different network.
/// </summary>
internal static class IpSyntax
{
    public static bool TryParseAddress(string s, out IPAddress address)
    {
        address = IPAddress.None;
        if (s.Contains(':'))
        {
            // IPv6 (possibly with an embedded dotted quad, which IPAddress checks). No zone and no brackets
            // (IPAddress takes "[::1]"): a pod or policy address never carries them.
            if (s.AsSpan().IndexOfAny("%[]") >= 0 || !IPAddress.TryParse(s, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                return false;
            address = v6;
            return true;
        }
        var parts = s.Split('.');
        if (parts.Length != 4)
            return false;
        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var p = parts[i];
            // Decimal only, no leading zeros (Go rejects them as ambiguous octal), 0-255.
            if (p.Length is 0 or > 3 || p.Length > 1 && p[0] == '0' || !p.All(char.IsAsciiDigit))
                return false;
            var v = int.Parse(p, CultureInfo.InvariantCulture);
            if (v > 255)
                return false;
            bytes[i] = (byte)v;
        }
        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>An address, or an address/prefix-length; host bits may be set (Istio keeps them as written).</summary>
    public static bool TryParseCidr(string s, out IPAddress address, out int prefixLength)
    {
        prefixLength = 0;
        var slash = s.IndexOf('/');
        if (!TryParseAddress(slash < 0 ? s : s[..slash], out address))
            return false;
        var max = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            prefixLength = max;
            return true;
        }
        var bits = s[(slash + 1)..];
        if (bits.Length is 0 or > 3 || bits.Length > 1 && bits[0] == '0' || !bits.All(char.IsAsciiDigit))
            return false;
        prefixLength = int.Parse(bits, CultureInfo.InvariantCulture);
        return prefixLength <= max;
    }
}
