using System.Net;
using System.Security.Authentication;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ambient.ControlPlane.Ca;

/// <summary>Registers the CA and serves it, with ADS, on the TLS listener (istiod's 15012).</summary>
public static class CaHosting
{
    /// <summary>
    /// The CA over an already loaded root (load it with <see cref="CaRootStore"/> before building the host, so a bad
    /// root fails startup with its own message). Authenticators: node credentials when a directory is configured,
    /// TokenReview when <paramref name="tokenReviewer"/> is given.
    /// </summary>
    public static IServiceCollection AddAmbientCa(this IServiceCollection services, CertificateAuthority ca, CaOptions options, ITokenReviewer? tokenReviewer)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(options);
        services.TryAddSingleton(ca);
        services.TryAddSingleton(sp => new ServingCertificate(ca, sp.GetRequiredService<TimeProvider>()));
        if (options.NodeCredentialsDir is { } dir)
            services.AddSingleton<ICaCallerAuthenticator>(new NodeCredentialAuthenticator(dir));
        if (tokenReviewer is not null)
        {
            services.AddSingleton<ICaCallerAuthenticator>(sp => new KubernetesCallerAuthenticator(tokenReviewer,
                sp.GetRequiredService<ConfigStore>(), options, sp.GetRequiredService<MeshOptions>()));
        }
        return services;
    }

    /// <summary>HTTP/2 over TLS 1.2+ with the CA-signed serving certificate; no client certificates (callers send tokens).</summary>
    public static void ListenSecure(this KestrelServerOptions kestrel, IPEndPoint endpoint, ServingCertificate serving) =>
        kestrel.Listen(endpoint, l => UseServingTls(l, serving));

    /// <summary>
    /// The same TLS listener on a Unix socket (<c>--secure-socket</c>) for agents in other network namespaces; a stale
    /// socket file is replaced, one another process still accepts on is not.
    /// </summary>
    public static void ListenSecureSocket(this KestrelServerOptions kestrel, string path, ServingCertificate serving)
    {
        XdsListeners.PrepareSocketPath(path, "--secure-socket");
        kestrel.ListenUnixSocket(path, l => UseServingTls(l, serving));
    }

    private static void UseServingTls(ListenOptions listen, ServingCertificate serving)
    {
        listen.Protocols = HttpProtocols.Http2;
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => serving.Current,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateMode = ClientCertificateMode.NoCertificate,
        });
    }

    /// <summary>
    /// Maps the CA service. It answers on TLS connections only (checked per call, whatever host or port a client
    /// names), so a bearer token is never accepted in clear text.
    /// </summary>
    public static void MapAmbientCa(this IEndpointRouteBuilder app) =>
        app.MapGrpcService<CertificateService>();
}
