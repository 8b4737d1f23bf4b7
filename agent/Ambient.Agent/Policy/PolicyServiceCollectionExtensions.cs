using Ambient.Agent.Admin;
using Ambient.Agent.Inbound;
using Ambient.Agent.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Policy;

public static class PolicyServiceCollectionExtensions
{
    /// <summary>
    /// L4 authorization: <see cref="L4PolicyEvaluator"/>, <see cref="PolicyMetrics"/> (the one <see cref="AgentMetrics"/>
    /// renders) and — when a <see cref="WorkloadStore"/> is registered (call <c>AddWorkloadStore</c> first; it registers
    /// nothing without an xDS address) — <see cref="LiveConnectionRegistry"/> and <see cref="PolicyInboundAuthorizer"/>
    /// as the <see cref="IInboundAuthorizer"/> (replacing <c>AddAmbientAgent</c>'s allow-all default, in either order).
    /// Without a store there are no policies: the allow-all default stays.
    /// </summary>
    public static IServiceCollection AddPolicyEnforcement(this IServiceCollection services)
    {
        services.TryAddSingleton<AgentMetrics>();
        services.TryAddSingleton<L4PolicyEvaluator>();
        services.TryAddSingleton(sp => sp.GetRequiredService<AgentMetrics>().Policy);
        if (services.Any(d => d.ServiceType == typeof(WorkloadStore)))
        {
            services.TryAddSingleton(sp => new LiveConnectionRegistry(
                sp.GetRequiredService<WorkloadStore>(),
                sp.GetRequiredService<L4PolicyEvaluator>(),
                sp.GetRequiredService<PolicyMetrics>(),
                sp.GetService<ILogger<LiveConnectionRegistry>>()));
            services.Replace(ServiceDescriptor.Singleton<IInboundAuthorizer>(sp => new PolicyInboundAuthorizer(
                sp.GetRequiredService<WorkloadStore>(),
                sp.GetRequiredService<L4PolicyEvaluator>(),
                sp.GetRequiredService<LiveConnectionRegistry>(),
                sp.GetRequiredService<PolicyMetrics>(),
                sp.GetService<ILogger<PolicyInboundAuthorizer>>())));
        }
        return services;
    }
}
