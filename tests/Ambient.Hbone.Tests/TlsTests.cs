using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Ambient.Identity;

namespace Ambient.Hbone.Tests;

/// <summary>The mTLS checks of protocol facts §f, each failing with a message naming what failed.</summary>
public class TlsTests
{
    private static async Task<(Task<HboneTlsSession> Server, Task<HboneTlsSession> Client)> Handshake(
        WorkloadCertificate serverId, WorkloadCertificate clientId, IReadOnlyCollection<SpiffeId> expected, TrustBundle? clientBundle = null)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accept = listener.AcceptSocketAsync();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var serverSocket = await accept;
        listener.Stop();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var server = HboneTls.AuthenticateAsServerAsync(new NetworkStream(serverSocket, true), serverId, TestPki.Default.Bundle, cts.Token);
        var client = HboneTls.AuthenticateAsClientAsync(new NetworkStream(socket, true), clientId, clientBundle ?? TestPki.Default.Bundle, expected, cts.Token);
        try { await Task.WhenAll(server, client); } catch (Exception) { }
        return (server, client);
    }

    [Fact]
    public async Task MutualTls_BothSidesLearnPeerIdentity()
    {
        var s = TestPki.Default.Issue(TestPki.Id("server"));
        var c = TestPki.Default.Issue(TestPki.Id("client"));
        var (server, client) = await Handshake(s, c, [s.Identity]);
        Assert.Equal(c.Identity, (await server).PeerIdentity);
        Assert.Equal(s.Identity, (await client).PeerIdentity);
        Assert.Equal(SslProtocols.Tls13, (await client).Stream.SslProtocol);
    }

    [Fact]
    public async Task Client_UnexpectedServerIdentity_RefusedNamingBoth()
    {
        var s = TestPki.Default.Issue(TestPki.Id("impostor"));
        var c = TestPki.Default.Issue(TestPki.Id("client"));
        var (_, client) = await Handshake(s, c, [TestPki.Id("server")]);
        var e = await Assert.ThrowsAsync<HboneTlsException>(() => client);
        Assert.Contains("spiffe://cluster.local/ns/x/sa/impostor", e.Message);
        Assert.Contains("spiffe://cluster.local/ns/x/sa/server", e.Message);
    }

    [Fact]
    public async Task Server_ClientFromOtherTrustDomain_Refused()
    {
        var s = TestPki.Default.Issue(TestPki.Id("server"));
        var c = TestPki.Default.Issue(TestPki.Id("client", td: "other.domain"));
        var (server, _) = await Handshake(s, c, [s.Identity]);
        var e = await Assert.ThrowsAsync<HboneTlsException>(() => server);
        Assert.Contains("trust domain cluster.local", e.Message);
    }

    [Fact]
    public async Task Server_ClientSignedByUntrustedCa_Refused()
    {
        var s = TestPki.Default.Issue(TestPki.Id("server"));
        var c = new TestPki("O=rogue").Issue(TestPki.Id("client"));
        var (server, _) = await Handshake(s, c, [s.Identity]);
        var e = await Assert.ThrowsAsync<HboneTlsException>(() => server);
        Assert.Contains("does not chain to the trust bundle", e.Message);
    }

    [Fact]
    public async Task Client_ServerSignedByUntrustedCa_Refused()
    {
        var s = new TestPki("O=rogue").Issue(TestPki.Id("server"));
        var c = TestPki.Default.Issue(TestPki.Id("client"));
        var (_, client) = await Handshake(s, c, [s.Identity]);
        var e = await Assert.ThrowsAsync<HboneTlsException>(() => client);
        Assert.Contains("server certificate does not chain", e.Message);
    }

    [Fact]
    public async Task Server_ClientWithoutCertificate_Refused()
    {
        var s = TestPki.Default.Issue(TestPki.Id("server"));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accept = listener.AcceptSocketAsync();
        using var raw = new TcpClient();
        await raw.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var serverSide = HboneTls.AuthenticateAsServerAsync(new NetworkStream(await accept, true), s, TestPki.Default.Bundle, CancellationToken.None);
        using var ssl = new SslStream(raw.GetStream(), false, (_, _, _, _) => true);
        var clientSide = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
        });
        var e = await Assert.ThrowsAsync<HboneTlsException>(() => serverSide.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("presented no certificate", e.Message);
        listener.Stop();
        try { await clientSide; } catch (Exception) { }
    }

    [Fact]
    public async Task Client_Tls12OnlyServer_Refused()
    {
        var s = TestPki.Default.Issue(TestPki.Id("server"));
        var c = TestPki.Default.Issue(TestPki.Id("client"));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accept = listener.AcceptSocketAsync();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var serverSsl = new SslStream(new NetworkStream(await accept, true));
        var serverSide = serverSsl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = s.Context,
            EnabledSslProtocols = SslProtocols.Tls12,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
        });
        var e = await Assert.ThrowsAsync<HboneTlsException>(() =>
            HboneTls.AuthenticateAsClientAsync(new NetworkStream(socket, true), c, TestPki.Default.Bundle, [s.Identity], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("TLS 1.3", e.Message);
        listener.Stop();
        try { await serverSide; } catch (Exception) { }
    }
}
