namespace Ambient.Hbone.Internal.Hpack;

/// <summary>
/// HPACK's static Huffman code (RFC 7541 §5.2, Appendix B). Decoding walks a binary tree built once from the code table:
/// header blocks are small and rare next to DATA, so a bit-at-a-time walk is fast enough and easy to check.
/// </summary>
internal static partial class Huffman
{
    private const int Eos = 256;

    // _tree[2n] / _tree[2n+1]: child of node n for bit 0 / 1. > 0: inner node index; <= 0: leaf holding symbol -value.
    // Node 0 is the root, so no child ever points at it and 0 can mean "leaf for symbol 0" only through the leaf flag below.
    private static readonly int[] s_tree = BuildTree();

    private const int LeafFlag = 1 << 16;

    private static int[] BuildTree()
    {
        var tree = new int[2 * 512];
        int next = 1;
        for (int sym = 0; sym <= Eos; sym++)
        {
            uint code = Codes[sym];
            int len = CodeLengths[sym];
            int node = 0;
            for (int i = len - 1; i >= 0; i--)
            {
                int bit = (int)((code >> i) & 1);
                int slot = 2 * node + bit;
                if (i == 0)
                {
                    tree[slot] = LeafFlag | sym;
                }
                else
                {
                    if (tree[slot] == 0)
                        tree[slot] = next++;
                    node = tree[slot];
                }
            }
        }
        return tree;
    }

    /// <summary>Decodes <paramref name="src"/> into <paramref name="dst"/>; false on EOS, bad padding or a short destination.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> src, Span<byte> dst, out int written)
    {
        written = 0;
        int node = 0;
        int pendingBits = 0;   // bits consumed since the last whole symbol
        bool pendingAllOnes = true;
        foreach (byte b in src)
        {
            for (int i = 7; i >= 0; i--)
            {
                int bit = (b >> i) & 1;
                pendingBits++;
                pendingAllOnes &= bit == 1;
                int child = s_tree[2 * node + bit];
                if ((child & LeafFlag) != 0)
                {
                    int sym = child & 0xFFFF;
                    if (sym == Eos || written == dst.Length)
                        return false; // §5.2: a string containing EOS is a decoding error
                    dst[written++] = (byte)sym;
                    node = 0;
                    pendingBits = 0;
                    pendingAllOnes = true;
                }
                else
                {
                    if (child == 0)
                        return false;
                    node = child;
                }
            }
        }
        // §5.2: padding is the most significant bits of EOS (all ones) and strictly shorter than 8 bits.
        return pendingBits <= 7 && pendingAllOnes;
    }

    /// <summary>An upper bound of the decoded length: the shortest code is 5 bits.</summary>
    public static int MaxDecodedLength(int encodedLength) => encodedLength * 8 / 5;

    /// <summary>Huffman-encodes (tests use it to build blocks like a real peer would; our encoder sends raw literals).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> src)
    {
        var output = new List<byte>();
        ulong acc = 0;
        int bits = 0;
        foreach (byte b in src)
        {
            acc = (acc << CodeLengths[b]) | Codes[b];
            bits += CodeLengths[b];
            while (bits >= 8)
            {
                bits -= 8;
                output.Add((byte)(acc >> bits));
            }
        }
        if (bits > 0)
            output.Add((byte)((acc << (8 - bits)) | (0xFFu >> bits)));
        return [.. output];
    }
}
