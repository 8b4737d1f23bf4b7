using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Ambient.ControlPlane.Ca;
using Ambient.ControlPlane.Hosting;
using Ambient.Identity;
using Ambient.Xds;
using Ambient.Xds.Protos.Ca;
using Ambient.Xds.Protos.Discovery;
using Ambient.Xds.Protos.Workload;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>
/// <c>--secure-socket</c>: the TLS gRPC listener (CA + ADS, the same serving certificate) on a Unix socket, for agents in
/// other network namespaces. Driven through the real binary, so the flag, the listener and the host mapping are all real.
/// </summary>
public sealed class SecureSocketTests : IDisposable
{
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
    private static readonly SpiffeId Db = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/db");
    private readonly CaTempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public async Task ControlPlaneProgram_SecureSocketWithSecureAddressNone_ServesCaAndAdsOverTlsOnTheSocket()
    {
        var token = NodeCredentials.Provision(_tmp.Sub("nodes"), CaTestServer.NodeA);
        var socket = _tmp.Sub("ca.sock");
        await using var program = await StartProgramAsync(socket);
        using var channel = TlsSocketChannel(socket, TrustBundle.FromPem(await File.ReadAllTextAsync(Path.Combine(_tmp.Sub("ca"), "root-cert.pem"))));

        // The CA: node-a gets shop/web (a pod of it runs on node-a), not shop/db (node-b only).
        using var csr = WorkloadCsr.Create(Web);
        var response = await RequestAsync(channel, token, csr.Pem, Web);
        var chain = PemCertificates.Read(response.CertChain);
        using var leaf = csr.WithKey(chain[0]);
        Assert.True(TrustBundle.FromPem(response.CertChain[^1]).Validate(leaf, chain, out var error), error);
        Assert.Equal([Web.ToString()], SubjectAltNames.GetUris(leaf));
        using var dbCsr = WorkloadCsr.Create(Db);
        var denied = await Assert.ThrowsAsync<RpcException>(() => RequestAsync(channel, token, dbCsr.Pem, Db));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        // ADS on the same TLS socket (authority localhost).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var call = new Ads.AggregatedDiscoveryServiceClient(channel).DeltaAggregatedResources(cancellationToken: timeout.Token);
        await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Address });
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        var workload = call.ResponseStream.Current.Resources.Select(r => r.Resource_.Unpack<Address>()).Single(a => a.Workload?.Name == "web-1").Workload;
        Assert.Equal(("shop", "web"), (workload.Namespace, workload.ServiceAccount));
    }

    [Fact]
    public async Task ControlPlaneProgram_PlaintextClientOnSecureSocket_Refused()
    {
        var token = NodeCredentials.Provision(_tmp.Sub("nodes"), CaTestServer.NodeA);
        var socket = _tmp.Sub("ca.sock");
        await using var program = await StartProgramAsync(socket);
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { ConnectCallback = UnixConnect(socket) } });
        using var csr = WorkloadCsr.Create(Web);

        var e = await Assert.ThrowsAsync<RpcException>(() => RequestAsync(channel, token, csr.Pem, Web));

        Assert.NotEqual(StatusCode.OK, e.StatusCode); // h2c never reaches the CA: the token is never read in clear
    }

    [Fact]
    public void SecureSocket_AnotherProcessListening_RefusesNamingTheFlag()
    {
        var path = _tmp.Sub("busy.sock");
        using var owner = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        owner.Bind(new UnixDomainSocketEndPoint(path));
        owner.Listen();

        var e = Assert.Throws<IOException>(() => XdsListeners.PrepareSocketPath(path, "--secure-socket"));

        Assert.Contains("--secure-socket", e.Message);
        Assert.True(File.Exists(path));
    }

    private static Task<IstioCertificateResponse> RequestAsync(GrpcChannel channel, string token, string csrPem, SpiffeId impersonate) =>
        new IstioCertificateService.IstioCertificateServiceClient(channel).CreateCertificateAsync(
            new IstioCertificateRequest
            {
                Csr = csrPem,
                Metadata = new Struct { Fields = { [CertificateService.ImpersonatedIdentityKey] = Value.ForString(impersonate.ToString()) } },
            },
            new Metadata { { "authorization", "Bearer " + token } }, DateTime.UtcNow.AddSeconds(10)).ResponseAsync;

    /// <summary>TLS over the socket, trusting only the published root and requiring istiod's name, as the agent does.</summary>
    private static GrpcChannel TlsSocketChannel(string socket, TrustBundle bundle) =>
        GrpcChannel.ForAddress("https://" + XdsListeners.SocketAuthority, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = UnixConnect(socket),
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, cert, _, _) =>
                        cert is not null && bundle.ValidateServer(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()), null, CaOptions.IstiodHostname, out _),
                },
            },
        });

    private static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> UnixConnect(string path) => async (_, ct) =>
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
            return new NetworkStream(s, ownsSocket: true);
        }
        catch
        {
            s.Dispose();
            throw;
        }
    };

    /// <summary>The binary with only the socket as TLS listener; returns once the socket accepts and the root is published.</summary>
    private async Task<RunningProgram> StartProgramAsync(string socket)
    {
        Directory.CreateDirectory(_tmp.Sub("manifests"));
        await File.WriteAllTextAsync(Path.Combine(_tmp.Sub("manifests"), "mesh.yaml"), CaManifests.Cluster());
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "ambient-controlplane"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--config-dir", _tmp.Sub("manifests"), "--xds-address", $"127.0.0.1:{FreePort()}", "--status-address", $"127.0.0.1:{FreePort()}",
                "--secure-address", "none", "--secure-socket", socket, "--ca-dir", _tmp.Sub("ca"), "--node-credentials-dir", _tmp.Sub("nodes"),
            },
        };
        var process = Process.Start(psi)!;
        var program = new RunningProgram(process);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                await program.DisposeAsync();
                Assert.Fail($"the control plane exited {process.ExitCode}: {await program.Stderr}");
            }
            if (File.Exists(socket) && File.Exists(Path.Combine(_tmp.Sub("ca"), "root-cert.pem")) && CanConnect(socket))
                return program;
            if (DateTime.UtcNow > deadline)
            {
                await program.DisposeAsync();
                Assert.Fail($"--secure-socket {socket} did not accept within 30 s");
            }
            await Task.Delay(50);
        }
    }

    private static bool CanConnect(string path)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private sealed class RunningProgram : IAsyncDisposable
    {
        private readonly Process _process;

        public RunningProgram(Process process)
        {
            _process = process;
            Stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
        }

        public Task<string> Stderr { get; }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
                _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            _process.Dispose();
        }
    }
}
