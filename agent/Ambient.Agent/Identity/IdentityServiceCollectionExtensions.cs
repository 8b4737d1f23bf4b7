using Ambient.Agent.Hosting;
using Ambient.Agent.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Identity;

public static class IdentityServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IWorkloadIdentities"/>: with a CA configured (<see cref="AgentOptions.Identity"/>), the
    /// <see cref="WorkloadCertificateManager"/> (also registered as itself, for <c>/certs</c> and <c>/metrics</c>) over a
    /// <see cref="CaClient"/> and a watched <see cref="TrustBundleFile"/>, prefetching for the <see cref="WorkloadStore"/>'s
    /// local workloads when one is registered; without, <see cref="DisabledWorkloadIdentities"/>. TryAdd throughout:
    /// register a fake <see cref="ICaClient"/> or <see cref="IWorkloadIdentities"/> first to replace them.
    /// A root file that does not load fails host startup (<see cref="InvalidDataException"/> naming the flag).
    /// </summary>
    public static IServiceCollection AddWorkloadIdentities(this IServiceCollection services, AgentOptions options)
    {
        if (services.Any(d => d.ServiceType == typeof(IWorkloadIdentities)))
            return services; // replaced (tests)
        var identity = options.Identity;
        services.TryAddSingleton(TimeProvider.System);
        if (!identity.Enabled)
        {
            services.TryAddSingleton<DisabledWorkloadIdentities>();
            services.TryAddSingleton<IWorkloadIdentities>(sp => sp.GetRequiredService<DisabledWorkloadIdentities>());
            services.AddHostedService(sp => sp.GetRequiredService<DisabledWorkloadIdentities>());
            return services;
        }
        services.TryAddSingleton(identity);
        services.TryAddSingleton<IdentityMetrics>();
        services.TryAddSingleton(sp => new TrustBundleFile(identity.CaRootCert!, sp.GetRequiredService<TimeProvider>(), identity.RootCertPollInterval,
            sp.GetService<ILogger<TrustBundleFile>>()));
        services.TryAddSingleton<ICaClient>(sp =>
        {
            var trust = sp.GetRequiredService<TrustBundleFile>();
            return new CaClient(identity, options.Node, () => trust.Current);
        });
        services.TryAddSingleton(sp => new WorkloadCertificateManager(identity, options.Node, sp.GetRequiredService<ICaClient>(),
            sp.GetRequiredService<TrustBundleFile>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IdentityMetrics>(),
            sp.GetService<WorkloadStore>(), sp.GetService<ILogger<WorkloadCertificateManager>>()));
        services.TryAddSingleton<IWorkloadIdentities>(sp => sp.GetRequiredService<WorkloadCertificateManager>());
        services.AddHostedService(sp => sp.GetRequiredService<WorkloadCertificateManager>());
        return services;
    }
}
