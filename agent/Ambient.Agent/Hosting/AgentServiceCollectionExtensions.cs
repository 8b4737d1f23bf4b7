using Ambient.Agent.Admin;
using Ambient.Agent.Identity;
using Ambient.Agent.Inbound;
using Ambient.Agent.InPod;
using Ambient.Agent.InPod.Defaults;
using Ambient.Agent.Outbound;
using Ambient.Agent.Proxy;
using Ambient.Agent.Tunnel;
using Ambient.Hbone;
using Ambient.Net.Netns;
using Ambient.Net.Redirection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Ambient.Agent.Hosting;

public static class AgentServiceCollectionExtensions
{
    /// <summary>
    /// Registers the data path. Everything uses TryAdd, so register real implementations of the State/ seams
    /// (<see cref="IEnrollment"/>, <see cref="IDestinationResolver"/>, <see cref="IRedirectionReporter"/>) or another
    /// <see cref="IRedirectionBackend"/> before calling this; the defaults fail ADDs closed, pass every destination
    /// through, and only log the redirection annotation.
    /// </summary>
    public static IServiceCollection AddAmbientAgent(this IServiceCollection services, AgentOptions options)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(new InPodOptions());
        services.TryAddSingleton(new ProxyOptions());
        services.TryAddSingleton(_ => new NetNsExecutor());
        services.TryAddSingleton<IRedirectionBackend>(_ => new IptablesBackend());
        services.TryAddSingleton(sp => new PodRegistry(sp.GetRequiredService<AgentOptions>().StateDir));
        services.TryAddSingleton<AgentMetrics>();
        services.TryAddSingleton<Readiness>();
        services.TryAddSingleton<AccessLog>();
        services.TryAddSingleton<OutboundHandler>();
        services.TryAddSingleton<InboundPlaintextHandler>();
        services.TryAddSingleton<InboundHboneHandler>();
        services.TryAddSingleton(new HboneClientOptions());
        services.TryAddSingleton(new HboneServerOptions());
        services.TryAddSingleton<HboneClientPool>();
        services.TryAddSingleton<HboneConnector>();
        services.AddWorkloadIdentities(options); // IWorkloadIdentities: certificates for HBONE, or disabled without a CA

        // Seams implemented by State/ (WorkloadStore, LoadBalancer) — defaults until it is wired.
        services.TryAddSingleton<IEnrollment, UnwiredEnrollment>();
        services.TryAddSingleton<IDestinationResolver, PassthroughResolver>();
        services.TryAddSingleton<IRedirectionReporter, LoggingRedirectionReporter>();
        services.TryAddSingleton<IInboundAuthorizer, AllowAllAuthorizer>();

        services.TryAddSingleton<PodCaptureManager>();
        services.AddHostedService(sp => sp.GetRequiredService<PodCaptureManager>());
        services.AddHostedService<EnrollmentWatcher>();
        return services;
    }
}
