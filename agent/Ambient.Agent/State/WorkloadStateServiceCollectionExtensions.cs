using Ambient.Agent.Admin;
using Ambient.Agent.Hosting;
using Ambient.Agent.InPod;
using Ambient.Xds;
using Ambient.Xds.Client;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Address = Ambient.Xds.Protos.Workload.Address;
using ProtoAuthorization = Ambient.Xds.Protos.Security.Authorization;
using ProtoEnrollment = Ambient.Xds.Protos.Enrollment.PodEnrollment;

namespace Ambient.Agent.State;

/// <summary>How the agent's state pipeline connects and reports (flags belong to <c>AgentCommand</c>; see the report).</summary>
public sealed record WorkloadStateOptions
{
    /// <summary>Local (file) mode: write redirection feedback as PodAnnotations manifests into this directory.</summary>
    public string? StatusDirectory { get; init; }

    /// <summary>Kubernetes mode: patch pods/status through this kubeconfig…</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>…or with the pod's service account.</summary>
    public bool InCluster { get; init; }

    /// <summary>Treat pods the control plane places on another node as unknown (Kubernetes; see <see cref="PodEnrollmentView"/>).</summary>
    public bool RequireLocalNode { get; init; }

    /// <summary>Overrides the xDS node id (default: ztunnel's shape, from POD_IP / POD_NAME / POD_NAMESPACE when set).</summary>
    public string? NodeId { get; init; }
}

public static class WorkloadStateServiceCollectionExtensions
{
    /// <summary>
    /// The control-plane → agent state pipeline: a <see cref="DeltaAdsClient"/> (to <see cref="AgentOptions.XdsAddress"/>
    /// or <see cref="AgentOptions.XdsSocket"/>) feeding <see cref="WorkloadStore"/> (Address, Authorization) and
    /// <see cref="PodEnrollmentView"/> (PodEnrollment), the <see cref="LoadBalancer"/>, and the data path's seams
    /// <see cref="IEnrollment"/>, <see cref="IDestinationResolver"/> and — when a status directory or a Kubernetes
    /// connection is configured — <see cref="IRedirectionReporter"/>. Call before <c>AddAmbientAgent</c> (its defaults
    /// are TryAdd). Does nothing when neither xDS address is set. Readiness waits for the initial xDS sync.
    /// </summary>
    public static IServiceCollection AddWorkloadStore(this IServiceCollection services, AgentOptions options, WorkloadStateOptions? state = null)
    {
        if (options.XdsAddress is null && options.XdsSocket is null)
            return services;
        state ??= new WorkloadStateOptions();
        services.TryAddSingleton(state);
        services.TryAddSingleton(sp => new WorkloadStore(sp.GetService<ILogger<WorkloadStore>>()));
        services.TryAddSingleton(sp => new PodEnrollmentView(state.RequireLocalNode ? options.Node : null, sp.GetService<ILogger<PodEnrollmentView>>()));
        services.TryAddSingleton(sp => new LoadBalancer(sp.GetRequiredService<WorkloadStore>(), options.Node));
        services.TryAddSingleton(sp =>
        {
            var store = sp.GetRequiredService<WorkloadStore>();
            var view = sp.GetRequiredService<PodEnrollmentView>();
            return new DeltaAdsClient(ClientOptions(options, state), sp.GetService<ILoggerFactory>()?.CreateLogger("Ambient.Agent.Xds"))
                .Subscribe<Address>(TypeUrls.Address, store.ApplyAddresses)
                .Subscribe<ProtoAuthorization>(TypeUrls.Authorization, store.ApplyAuthorizations)
                .Subscribe<ProtoEnrollment>(TypeUrls.PodEnrollment, view.Apply);
        });
        services.AddHostedService<WorkloadStateService>();

        services.TryAddSingleton<IEnrollment>(sp => new EnrollmentAdapter(sp.GetRequiredService<PodEnrollmentView>()));
        services.TryAddSingleton<IDestinationResolver>(sp => new DestinationResolverAdapter(sp.GetRequiredService<LoadBalancer>(), sp.GetRequiredService<PodEnrollmentView>(), options.Identity.TrustDomain));
        if (state.StatusDirectory is { } dir)
        {
            services.TryAddSingleton<IRedirectionReporter>(_ => new FileRedirectionReporter(dir));
        }
        else if (state.Kubeconfig is not null || state.InCluster)
        {
            services.TryAddSingleton<IRedirectionReporter>(_ => new KubernetesRedirectionReporter(new Kubernetes(state.Kubeconfig is { } path
                ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
                : KubernetesClientConfiguration.InClusterConfig())));
        }
        return services;
    }

    /// <summary>ztunnel's node identity and metadata, from the downward-API variables when the agent runs as a pod.</summary>
    public static DeltaAdsClientOptions ClientOptions(AgentOptions options, WorkloadStateOptions state)
    {
        var ip = Environment.GetEnvironmentVariable("POD_IP") ?? Environment.GetEnvironmentVariable("INSTANCE_IP") ?? "127.0.0.1";
        var ns = Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "istio-system";
        var name = Environment.GetEnvironmentVariable("POD_NAME") ?? "ambient-agent-" + options.Node;
        return new DeltaAdsClientOptions
        {
            Address = options.XdsSocket is { } socket ? "unix://" + socket : options.XdsAddress!,
            NodeId = state.NodeId ?? $"ztunnel~{ip}~{name}.{ns}~{ns}.svc.cluster.local",
            NodeMetadata = new Dictionary<string, string>
            {
                ["NAME"] = name,
                ["NAMESPACE"] = ns,
                ["NODE_NAME"] = options.Node,
                ["INSTANCE_IPS"] = ip,
            },
            UserAgentName = "ambient-agent",
        };
    }
}

/// <summary>Runs the agent's <see cref="DeltaAdsClient"/> for the host's lifetime and holds readiness until the first sync.</summary>
public sealed partial class WorkloadStateService(DeltaAdsClient client, IServiceProvider services, ILogger<WorkloadStateService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = services.GetService<Readiness>()?.Register("initial xDS sync");
        var run = client.RunAsync(stoppingToken);
        try
        {
            await client.Synced.WaitAsync(stoppingToken).ConfigureAwait(false);
            pending?.Dispose();
            pending = null;
            LogSynced(logger);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await run.ConfigureAwait(false);
        pending?.Dispose();
    }

    [LoggerMessage(EventId = 620, Level = LogLevel.Information, Message = "Initial xDS sync done: workloads, policies and pod enrollment are known")]
    private static partial void LogSynced(ILogger logger);
}
