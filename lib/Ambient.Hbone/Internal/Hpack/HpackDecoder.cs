using System.Buffers;
using System.Text;

namespace Ambient.Hbone.Internal.Hpack;

/// <summary>
/// Decodes complete header blocks (RFC 7541). One per connection: the dynamic table is connection state, so every block
/// must be decoded in order, even for streams we are about to refuse. Any malformed block throws <see cref="HpackException"/>
/// (a COMPRESSION_ERROR for the whole connection, RFC 9113 §4.3).
/// </summary>
internal sealed class HpackDecoder(int maxTableSize, int maxHeaderListSize)
{
    private readonly DynamicTable _table = new(maxTableSize);

    /// <summary>The SETTINGS_HEADER_TABLE_SIZE we advertised: the ceiling for the peer's table size updates.</summary>
    public int MaxTableSize { get; } = maxTableSize;

    internal DynamicTable Table => _table;

    /// <summary>
    /// Appends the headers of <paramref name="block"/> to <paramref name="headers"/>. When their list size (§10.5.1 of RFC 9113)
    /// passes the limit, decoding goes on (to keep the table in sync) but no more headers are kept and <paramref name="tooLarge"/> is set.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> block, List<KeyValuePair<string, string>> headers, out bool tooLarge)
    {
        tooLarge = false;
        long listSize = 0;
        bool headerSeen = false;
        int pos = 0;
        while (pos < block.Length)
        {
            byte b = block[pos];
            string name, value;
            if ((b & 0x80) != 0)
            {
                // §6.1 indexed header field.
                int index = ReadInteger(block, ref pos, 7);
                (name, value) = Lookup(index);
            }
            else if ((b & 0xC0) == 0x40)
            {
                // §6.2.1 literal with incremental indexing.
                int index = ReadInteger(block, ref pos, 6);
                name = index == 0 ? ReadString(block, ref pos) : Lookup(index).Name;
                value = ReadString(block, ref pos);
                _table.Add(name, value);
            }
            else if ((b & 0xE0) == 0x20)
            {
                // §6.3 dynamic table size update: only before the first field (§4.2) and within our advertised size.
                if (headerSeen)
                    throw new HpackException("dynamic table size update after a header field");
                int size = ReadInteger(block, ref pos, 5);
                if (size > MaxTableSize)
                    throw new HpackException($"dynamic table size update to {size} exceeds the advertised {MaxTableSize}");
                _table.SetMaxSize(size);
                continue;
            }
            else
            {
                // §6.2.2 without indexing (0000) and §6.2.3 never indexed (0001): same shape, 4-bit prefix.
                int index = ReadInteger(block, ref pos, 4);
                name = index == 0 ? ReadString(block, ref pos) : Lookup(index).Name;
                value = ReadString(block, ref pos);
            }
            headerSeen = true;
            listSize += name.Length + value.Length + 32;
            if (listSize > maxHeaderListSize)
                tooLarge = true;
            if (!tooLarge)
                headers.Add(new(name, value));
        }
    }

    private (string Name, string Value) Lookup(int index)
    {
        if (index <= 0)
            throw new HpackException("header index 0");
        if (index <= StaticTable.Count)
            return StaticTable.Get(index);
        int dyn = index - StaticTable.Count - 1;
        if (dyn >= _table.Count)
            throw new HpackException($"header index {index} is beyond the dynamic table ({_table.Count} entries)");
        return _table[dyn];
    }

    /// <summary>§5.1 prefixed integer. Values beyond int range are errors (nothing legitimate is that large).</summary>
    internal static int ReadInteger(ReadOnlySpan<byte> block, ref int pos, int prefixBits)
    {
        if (pos >= block.Length)
            throw new HpackException("truncated integer");
        int max = (1 << prefixBits) - 1;
        int value = block[pos++] & max;
        if (value < max)
            return value;
        int shift = 0;
        while (true)
        {
            if (pos >= block.Length)
                throw new HpackException("truncated integer");
            byte b = block[pos++];
            if (shift > 28)
                throw new HpackException("integer overflow");
            long next = value + ((long)(b & 0x7F) << shift);
            if (next > int.MaxValue)
                throw new HpackException("integer overflow");
            value = (int)next;
            shift += 7;
            if ((b & 0x80) == 0)
                return value;
        }
    }

    /// <summary>§5.2 string literal, Huffman or raw. Octets map 1:1 to chars (Latin-1) so sizes count octets.</summary>
    private static string ReadString(ReadOnlySpan<byte> block, ref int pos)
    {
        if (pos >= block.Length)
            throw new HpackException("truncated string");
        bool huffman = (block[pos] & 0x80) != 0;
        int length = ReadInteger(block, ref pos, 7);
        if (length > block.Length - pos)
            throw new HpackException("string longer than the header block");
        var raw = block.Slice(pos, length);
        pos += length;
        if (!huffman)
            return Encoding.Latin1.GetString(raw);
        int max = Huffman.MaxDecodedLength(length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            if (!Huffman.TryDecode(raw, buffer, out int written))
                throw new HpackException("invalid Huffman-coded string");
            return Encoding.Latin1.GetString(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
