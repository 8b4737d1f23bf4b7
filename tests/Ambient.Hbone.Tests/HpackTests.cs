using Ambient.Hbone.Internal.Hpack;

namespace Ambient.Hbone.Tests;

/// <summary>RFC 7541 Appendix C vectors: headers and dynamic table sizes after each block must match exactly.</summary>
public class HpackTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s.Replace(" ", ""));

    private static List<KeyValuePair<string, string>> H(params string[] nv) =>
        Enumerable.Range(0, nv.Length / 2).Select(i => new KeyValuePair<string, string>(nv[2 * i], nv[2 * i + 1])).ToList();

    private static void Check(HpackDecoder d, string hex, List<KeyValuePair<string, string>> expected, int tableSize)
    {
        var headers = new List<KeyValuePair<string, string>>();
        d.Decode(Hex(hex), headers, out bool tooLarge);
        Assert.False(tooLarge);
        Assert.Equal(expected, headers);
        Assert.Equal(tableSize, d.Table.Size);
    }

    [Fact]
    public void Decode_C2_IndividualRepresentations()
    {
        Check(new HpackDecoder(4096, 65536), "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", H("custom-key", "custom-header"), 55);
        Check(new HpackDecoder(4096, 65536), "040c 2f73 616d 706c 652f 7061 7468", H(":path", "/sample/path"), 0);
        Check(new HpackDecoder(4096, 65536), "1008 7061 7373 776f 7264 0673 6563 7265 74", H("password", "secret"), 0);
        Check(new HpackDecoder(4096, 65536), "82", H(":method", "GET"), 0);
    }

    private static readonly List<KeyValuePair<string, string>> Req1 = H(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com");
    private static readonly List<KeyValuePair<string, string>> Req2 = [.. Req1, .. H("cache-control", "no-cache")];
    private static readonly List<KeyValuePair<string, string>> Req3 =
        H(":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com", "custom-key", "custom-value");

    [Fact]
    public void Decode_C3_RequestsWithoutHuffman()
    {
        var d = new HpackDecoder(4096, 65536);
        Check(d, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", Req1, 57);
        Check(d, "8286 84be 5808 6e6f 2d63 6163 6865", Req2, 110);
        Check(d, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", Req3, 164);
    }

    [Fact]
    public void Decode_C4_RequestsWithHuffman()
    {
        var d = new HpackDecoder(4096, 65536);
        Check(d, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", Req1, 57);
        Check(d, "8286 84be 5886 a8eb 1064 9cbf", Req2, 110);
        Check(d, "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", Req3, 164);
    }

    private static readonly List<KeyValuePair<string, string>> Resp1 =
        H(":status", "302", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com");
    private static readonly List<KeyValuePair<string, string>> Resp2 =
        H(":status", "307", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com");
    private static readonly List<KeyValuePair<string, string>> Resp3 =
        H(":status", "200", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:22 GMT", "location", "https://www.example.com",
          "content-encoding", "gzip", "set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1");

    [Fact]
    public void Decode_C5_ResponsesWithoutHuffman_EvictFromA256OctetTable()
    {
        var d = new HpackDecoder(256, 65536);
        d.Table.SetMaxSize(256);
        Check(d, "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", Resp1, 222);
        Check(d, "4803 3330 37c1 c0bf", Resp2, 222);
        Check(d, "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31", Resp3, 215);
    }

    [Fact]
    public void Decode_C6_ResponsesWithHuffman_EvictFromA256OctetTable()
    {
        var d = new HpackDecoder(256, 65536);
        Check(d, "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3", Resp1, 222);
        Check(d, "4883 640e ffc1 c0bf", Resp2, 222);
        Check(d, "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07", Resp3, 215);
    }

    [Theory]
    [InlineData("82 3fe1 1f", "table size update after a header")]
    [InlineData("3fe2 1f", "table size update above the advertised 4096")]   // 31 + 0x1fe2... > 4096
    [InlineData("be", "index beyond an empty dynamic table")]
    [InlineData("80", "index 0")]
    [InlineData("0085 ffff ffff ff", "Huffman string with more than 7 bits of padding")]
    [InlineData("040c 2f73", "string longer than the block")]
    public void Decode_MalformedBlock_CompressionError(string hex, string why)
    {
        var d = new HpackDecoder(4096, 65536);
        Assert.Throws<HpackException>(() => d.Decode(Hex(hex), [], out _));
        Assert.NotEmpty(why);
    }

    [Fact]
    public void Decode_ListAboveLimit_FlagsTooLargeButKeepsTableInSync()
    {
        var d = new HpackDecoder(4096, 100);
        var headers = new List<KeyValuePair<string, string>>();
        // Two literal-with-indexing fields of 55 octets each: 110 > 100.
        d.Decode(Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"), headers, out bool tooLarge);
        Assert.True(tooLarge);
        Assert.Equal(2, d.Table.Count);
    }

    [Fact]
    public void Huffman_RoundTripsEveryOctet()
    {
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var encoded = Huffman.Encode(all);
        var decoded = new byte[Huffman.MaxDecodedLength(encoded.Length)];
        Assert.True(Huffman.TryDecode(encoded, decoded, out int n));
        Assert.Equal(all, decoded[..n]);
    }

    [Fact]
    public void Encoder_OutputDecodesToTheSameHeaders()
    {
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        HpackEncoder.WriteLiteral(w, StaticTable.MethodGet, "CONNECT");
        HpackEncoder.WriteLiteral(w, StaticTable.Authority, "10.0.0.1:8080");
        HpackEncoder.WriteLiteral(w, "baggage", new string('b', 300)); // length needs a multi-octet integer
        var headers = new List<KeyValuePair<string, string>>();
        new HpackDecoder(4096, 65536).Decode(w.WrittenSpan, headers, out _);
        Assert.Equal(H(":method", "CONNECT", ":authority", "10.0.0.1:8080", "baggage", new string('b', 300)), headers);
    }
}
