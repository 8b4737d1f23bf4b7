using System.Net;
using Ambient.Net.Sockets;

namespace Ambient.Agent.Tests.Netns;

public sealed class MeshSocketsTests
{
    [Fact]
    public void ParseSockaddr_Ipv4_ReturnsAddressAndNetworkOrderPort()
    {
        // family AF_INET (2, host order), port 8080 (0x1f90, network order), 10.96.0.10, zero padding
        byte[] sa = [2, 0, 0x1f, 0x90, 10, 96, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.96.0.10"), 8080), MeshSockets.ParseSockaddr(sa));
    }

    [Fact]
    public void ParseSockaddr_Ipv6_ReturnsAddressAndPort()
    {
        byte[] sa = new byte[28];
        sa[0] = 10; // AF_INET6
        sa[2] = 0x00;
        sa[3] = 0x50; // port 80
        IPAddress.Parse("fd00::5").GetAddressBytes().CopyTo(sa, 8);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("fd00::5"), 80), MeshSockets.ParseSockaddr(sa));
    }

    [Fact]
    public void ParseSockaddr_UnknownFamily_Throws()
    {
        Assert.Throws<ArgumentException>(() => MeshSockets.ParseSockaddr(new byte[16]));
    }
}
