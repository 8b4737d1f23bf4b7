using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ambient.E2E.Testing;
using Ambient.Xds.Protos.Ca;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Ambient.E2E;

/// <summary>
/// The mesh's CA, called as node-1's agent would (its node credential, over the control plane's TLS socket), grants
/// identities of node-1's pods and refuses one whose pods all run on node-2 (Istio's impersonation rule).
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class CertificateRequestTests(SharedMeshFixture fixture)
{
    [Fact]
    public async Task Node1Credential_RequestingAnIdentityWhosePodsRunOnNode2_IsRefused()
    {
        var mesh = fixture.Mesh;
        using var channel = CaChannel(mesh);
        var client = new IstioCertificateService.IstioCertificateServiceClient(channel);
        var token = (await File.ReadAllTextAsync(Path.Combine(mesh.StateDir, "node-credentials", "node-1"))).Trim();
        var headers = new Metadata { { "authorization", "Bearer " + token } };

        // Control: the client's identity (its pod is on node-1) is granted, and the leaf names exactly it.
        var granted = await client.CreateCertificateAsync(Request("spiffe://cluster.local/ns/shop/sa/client"), headers, DateTime.UtcNow.AddSeconds(20));
        Assert.NotEmpty(granted.CertChain);
        using (var leaf = X509Certificate2.CreateFromPem(granted.CertChain[0]))
            Assert.Contains("URI:spiffe://cluster.local/ns/shop/sa/client", leaf.Extensions["2.5.29.17"]!.Format(false));

        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            client.CreateCertificateAsync(Request("spiffe://cluster.local/ns/shop/sa/server"), headers, DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("not authorized for the requested identity", refused.Status.Detail);
        await Eventually.UntilAsync("the control plane to log the refusal naming the identity and the node", () =>
        {
            var log = mesh.ReadLog("controlplane.log");
            return Task.FromResult((log.Contains("ns/shop/sa/server", StringComparison.Ordinal) && log.Contains("node-1", StringComparison.Ordinal), "controlplane.log"));
        }, mesh, TimeSpan.FromSeconds(10));
    }

    private static IstioCertificateRequest Request(string identity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(identity));
        csr.CertificateExtensions.Add(san.Build(critical: true));
        var metadata = new Struct();
        metadata.Fields["ImpersonatedIdentity"] = Value.ForString(identity);
        return new IstioCertificateRequest { Csr = csr.CreateSigningRequestPem(), ValidityDuration = 3600, Metadata = metadata };
    }

    /// <summary>gRPC over TLS on the control plane's Unix socket, trusting only the mesh's root.</summary>
    private static GrpcChannel CaChannel(LocalMesh mesh)
    {
        var socket = Path.Combine(mesh.StateDir, "ca.sock");
        var root = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(mesh.StateDir, "ca", "root-cert.pem")));
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                return new NetworkStream(s, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    if (cert is null)
                        return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(root);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(cert));
                },
            },
        };
        return GrpcChannel.ForAddress("https://istiod.istio-system.svc", new GrpcChannelOptions { HttpHandler = handler });
    }
}
