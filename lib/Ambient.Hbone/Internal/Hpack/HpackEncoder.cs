using System.Buffers;
using System.Text;

namespace Ambient.Hbone.Internal.Hpack;

/// <summary>
/// Our side of HPACK: literals without indexing (RFC 7541 §6.2.2), raw strings. We never insert into the peer's dynamic
/// table, so a peer's SETTINGS_HEADER_TABLE_SIZE never concerns us and CONNECT blocks stay a few dozen octets.
/// </summary>
internal static class HpackEncoder
{
    public static void WriteIndexed(IBufferWriter<byte> w, int index) => WriteInteger(w, 0x80, 7, index);

    public static void WriteLiteral(IBufferWriter<byte> w, int staticNameIndex, string value)
    {
        WriteInteger(w, 0x00, 4, staticNameIndex);
        WriteString(w, value);
    }

    public static void WriteLiteral(IBufferWriter<byte> w, string name, string value)
    {
        WriteInteger(w, 0x00, 4, 0);
        WriteString(w, name);
        WriteString(w, value);
    }

    /// <summary>§5.1: <paramref name="flags"/> fill the bits above the prefix of the first octet.</summary>
    public static void WriteInteger(IBufferWriter<byte> w, byte flags, int prefixBits, int value)
    {
        var span = w.GetSpan(6);
        int max = (1 << prefixBits) - 1;
        int n = 0;
        if (value < max)
        {
            span[n++] = (byte)(flags | value);
        }
        else
        {
            span[n++] = (byte)(flags | max);
            value -= max;
            while (value >= 0x80)
            {
                span[n++] = (byte)((value & 0x7F) | 0x80);
                value >>= 7;
            }
            span[n++] = (byte)value;
        }
        w.Advance(n);
    }

    private static void WriteString(IBufferWriter<byte> w, string s)
    {
        int length = Encoding.Latin1.GetByteCount(s);
        WriteInteger(w, 0x00, 7, length);
        var span = w.GetSpan(length);
        Encoding.Latin1.GetBytes(s, span);
        w.Advance(length);
    }
}
