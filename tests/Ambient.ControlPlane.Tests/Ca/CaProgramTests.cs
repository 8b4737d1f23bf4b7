using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Ambient.ControlPlane.Ca;
using Ambient.Identity;
using Ambient.Xds.Protos.Ca;
using Grpc.Core;
using Grpc.Net.Client;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>The real <c>ambient-controlplane</c> binary: flags, the TLS listener, the CA, and a restart.</summary>
public sealed class CaProgramTests : IDisposable
{
    private static readonly SpiffeId Web = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web");
    private readonly CaTempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public async Task ControlPlaneProgram_RestartedWithSameCaDir_IssuesUnderTheSameRoot()
    {
        Directory.CreateDirectory(_tmp.Sub("manifests"));
        await File.WriteAllTextAsync(Path.Combine(_tmp.Sub("manifests"), "mesh.yaml"), CaManifests.Cluster());
        var token = NodeCredentials.Provision(_tmp.Sub("nodes"), CaTestServer.NodeA);

        var first = await IssueFromProgramAsync(token);
        File.Delete(Path.Combine(_tmp.Sub("ca"), "root-cert.pem")); // republished at start
        var second = await IssueFromProgramAsync(token);

        Assert.Equal(first[^1], second[^1]);
        Assert.Equal(first[^1], await File.ReadAllTextAsync(Path.Combine(_tmp.Sub("ca"), "root-cert.pem")));
        using var leaf = PemCertificates.Read(second[0])[0];
        Assert.True(TrustBundle.FromPem(first[^1]).Validate(leaf, null, out var error), error);
    }

    /// <summary>Starts the binary, requests a certificate for shop/web as node-a over TLS, stops it; returns the chain.</summary>
    private async Task<IReadOnlyList<string>> IssueFromProgramAsync(string token)
    {
        var secure = FreePort();
        var exe = Path.Combine(AppContext.BaseDirectory, "ambient-controlplane");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--config-dir", _tmp.Sub("manifests"), "--xds-address", $"127.0.0.1:{FreePort()}", "--status-address", $"127.0.0.1:{FreePort()}",
                "--secure-address", $"127.0.0.1:{secure}", "--ca-dir", _tmp.Sub("ca"), "--node-credentials-dir", _tmp.Sub("nodes"),
                "--secure-dns-name", "cp.test",
            },
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                if (process.HasExited)
                    Assert.Fail($"the control plane exited {process.ExitCode}: {await stderr}{await stdout}");
                try
                {
                    return await RequestAsync(secure, token);
                }
                catch (Exception e) when ((e is RpcException { StatusCode: StatusCode.Unavailable } or FileNotFoundException or IOException) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50);
                }
            }
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private async Task<IReadOnlyList<string>> RequestAsync(int port, string token)
    {
        var bundle = TrustBundle.FromPem(await File.ReadAllTextAsync(Path.Combine(_tmp.Sub("ca"), "root-cert.pem")));
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    cert is not null && bundle.ValidateServer(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()), null, "cp.test", out _),
            },
        };
        using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
        using var csr = WorkloadCsr.Create(Web);
        var response = await new IstioCertificateService.IstioCertificateServiceClient(channel).CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr.Pem }, new Metadata { { "authorization", "Bearer " + token } }, DateTime.UtcNow.AddSeconds(10));
        return [.. response.CertChain];
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
