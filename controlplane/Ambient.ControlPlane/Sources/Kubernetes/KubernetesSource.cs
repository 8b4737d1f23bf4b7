using Ambient.ControlPlane.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ambient.ControlPlane.Sources.Kubernetes;

/// <summary>
/// The Kubernetes config source: list+watches Namespaces, Pods, Services, ServiceAccounts and Istio's
/// AuthorizationPolicies and PeerAuthentications cluster-wide, one <see cref="ResourceReflector"/> per kind,
/// each owning the origin <c>k8s:&lt;Kind&gt;</c> in the <see cref="ConfigStore"/>. The control plane is held
/// back from serving until every kind has completed its first LIST.
/// </summary>
public sealed class KubernetesSource(
    ConfigStore store,
    ControlPlaneMetrics metrics,
    IOptions<KubernetesSourceOptions> options,
    ILogger<KubernetesSource> logger) : BackgroundService
{
    public const string SourceName = "kubernetes";

    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private KubernetesApiClient? _api;
    private ResourceReflector[] _reflectors = [];

    /// <summary>Completes once every kind has been listed (and the store was told so).</summary>
    public Task Synced => _synced.Task;

    /// <summary>Objects whose current version is rejected ("Kind/ns/name" → why); their last good version, if any, is served.</summary>
    public IReadOnlyDictionary<string, string> Rejected =>
        _reflectors.SelectMany(r => r.Rejected).ToDictionary(r => r.Key.ToString(), r => r.Value, StringComparer.Ordinal);

    /// <summary>The resourceVersion each kind's next watch starts from, by kind.</summary>
    public IReadOnlyDictionary<string, string> ResourceVersions =>
        _reflectors.ToDictionary(r => r.Resource.Kind, r => r.ResourceVersion, StringComparer.Ordinal);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        o.Validate();
        // A bad kubeconfig fails startup with a clear message rather than retrying forever.
        _api = KubernetesApiClient.Create(o);
        store.RegisterSource(SourceName);
        var pending = KubernetesResource.All.Length;
        _reflectors = [.. KubernetesResource.All.Select(r => new ResourceReflector(r, _api, store, metrics, o, logger, () =>
        {
            if (Interlocked.Decrement(ref pending) != 0)
                return;
            store.MarkSynced(SourceName);
            _synced.TrySetResult();
            KubernetesSourceLog.Synced(logger);
        }))];
        KubernetesSourceLog.Connecting(logger, _api.BaseUri);
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_reflectors.Select(r => Task.Run(() => r.RunAsync(stoppingToken), CancellationToken.None)));

    public override void Dispose()
    {
        base.Dispose();
        _api?.Dispose();
    }
}
