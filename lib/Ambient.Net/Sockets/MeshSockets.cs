using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ambient.Net.Sockets;

/// <summary>
/// Linux socket options the in-pod data path needs, through <see cref="Socket.SetRawSocketOption"/> so no
/// P/Invoke is involved.
/// </summary>
public static class MeshSockets
{
    private const int SolSocket = 1;
    private const int SoMark = 36;
    private const int SoReusePort = 15;
    private const int SolIp = 0;
    private const int SolIpv6 = 41;

    /// <summary>SO_ORIGINAL_DST (netfilter, linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST share the value 80.</summary>
    private const int SoOriginalDst = 80;

    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    /// <summary>Sets SO_MARK (needs CAP_NET_ADMIN). The in-pod rules skip capture for sockets marked 1337.</summary>
    public static void SetMark(Socket socket, uint mark)
    {
        Span<byte> value = stackalloc byte[4];
        BitConverter.TryWriteBytes(value, mark); // socket options are native-endian ints
        socket.SetRawSocketOption(SolSocket, SoMark, value);
    }

    public static uint GetMark(Socket socket)
    {
        Span<byte> value = stackalloc byte[4];
        socket.GetRawSocketOption(SolSocket, SoMark, value);
        return BitConverter.ToUInt32(value);
    }

    /// <summary>SO_REUSEPORT, so a new agent can bind beside an old one during an upgrade (ztunnel's INPOD_PORT_REUSE).</summary>
    public static void SetReusePort(Socket socket)
    {
        Span<byte> one = stackalloc byte[4];
        BitConverter.TryWriteBytes(one, 1);
        socket.SetRawSocketOption(SolSocket, SoReusePort, one);
    }

    /// <summary>
    /// The destination a connection had before nat REDIRECT rewrote it (SO_ORIGINAL_DST on IPv4,
    /// IP6T_SO_ORIGINAL_DST on IPv6). Works on an accepted socket; throws <see cref="SocketException"/>
    /// when the connection was not redirected (no conntrack NAT entry: ENOENT).
    /// </summary>
    public static IPEndPoint GetOriginalDestination(Socket accepted)
    {
        // sockaddr_in is 16 bytes, sockaddr_in6 28; both keep family (host order) then port (network order).
        Span<byte> buffer = stackalloc byte[28];
        bool v6 = accepted.AddressFamily == AddressFamily.InterNetworkV6 && !IsV4MappedLocal(accepted);
        int length = accepted.GetRawSocketOption(v6 ? SolIpv6 : SolIp, SoOriginalDst, buffer);
        return ParseSockaddr(buffer[..length]);
    }

    /// <summary>Parses a Linux sockaddr_in / sockaddr_in6. Exposed for tests.</summary>
    public static IPEndPoint ParseSockaddr(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < 2)
        {
            throw new ArgumentException($"sockaddr too short ({sockaddr.Length} bytes)", nameof(sockaddr));
        }
        ushort family = BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) : BinaryPrimitives.ReadUInt16BigEndian(sockaddr);
        if (family == AfInet && sockaddr.Length >= 8)
        {
            int port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
            return new IPEndPoint(new IPAddress(sockaddr.Slice(4, 4)), port);
        }
        if (family == AfInet6 && sockaddr.Length >= 24)
        {
            int port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
            uint scope = BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(sockaddr[24..]) : BinaryPrimitives.ReadUInt32BigEndian(sockaddr[24..]);
            return new IPEndPoint(new IPAddress(sockaddr.Slice(8, 16), sockaddr.Length >= 28 ? scope : 0), port);
        }
        throw new ArgumentException($"unsupported sockaddr family {family} ({sockaddr.Length} bytes)", nameof(sockaddr));
    }

    private static bool IsV4MappedLocal(Socket s) => s.LocalEndPoint is IPEndPoint { Address.IsIPv4MappedToIPv6: true };
}
