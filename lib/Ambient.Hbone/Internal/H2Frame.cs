using System.Buffers.Binary;

namespace Ambient.Hbone.Internal;

internal enum H2FrameType : byte
{
    Data = 0x0,
    Headers = 0x1,
    Priority = 0x2,
    RstStream = 0x3,
    Settings = 0x4,
    PushPromise = 0x5,
    Ping = 0x6,
    GoAway = 0x7,
    WindowUpdate = 0x8,
    Continuation = 0x9,
}

internal static class H2Flags
{
    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}

internal static class H2Setting
{
    public const ushort HeaderTableSize = 0x1;
    public const ushort EnablePush = 0x2;
    public const ushort MaxConcurrentStreams = 0x3;
    public const ushort InitialWindowSize = 0x4;
    public const ushort MaxFrameSize = 0x5;
    public const ushort MaxHeaderListSize = 0x6;
}

/// <summary>The 9-octet frame header (RFC 9113 §4.1) and the protocol constants around it.</summary>
internal readonly record struct H2FrameHeader(int Length, H2FrameType Type, byte Flags, int StreamId)
{
    public const int Size = 9;

    /// <summary>§3.4: what a client sends first.</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>§4.2: every peer must accept 16 KiB frames; larger only after SETTINGS_MAX_FRAME_SIZE.</summary>
    public const int DefaultMaxFrameSize = 16_384;
    public const int MaxAllowedFrameSize = 16_777_215;

    /// <summary>§6.9.1 initial windows and the 2^31-1 ceiling.</summary>
    public const int DefaultWindow = 65_535;
    public const int MaxWindow = int.MaxValue;

    public bool HasFlag(byte flag) => (Flags & flag) != 0;

    public static H2FrameHeader Read(ReadOnlySpan<byte> s) => new(
        (s[0] << 16) | (s[1] << 8) | s[2],
        (H2FrameType)s[3],
        s[4],
        (int)(BinaryPrimitives.ReadUInt32BigEndian(s[5..]) & 0x7FFF_FFFF)); // §4.1: the reserved bit is ignored

    public static void Write(Span<byte> s, int length, H2FrameType type, byte flags, int streamId)
    {
        s[0] = (byte)(length >> 16);
        s[1] = (byte)(length >> 8);
        s[2] = (byte)length;
        s[3] = (byte)type;
        s[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(s[5..], (uint)streamId & 0x7FFF_FFFF);
    }
}
