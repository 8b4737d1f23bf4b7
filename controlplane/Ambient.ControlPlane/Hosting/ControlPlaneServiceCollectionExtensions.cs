using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Sources.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ambient.ControlPlane.Hosting;

public static class ControlPlaneServiceCollectionExtensions
{
    /// <summary>The store, builder, cache and publisher every control plane needs, whatever its sources.</summary>
    public static IServiceCollection AddAmbientDiscovery(this IServiceCollection services, MeshOptions mesh)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(mesh);
        services.TryAddSingleton<ConfigStore>();
        services.TryAddSingleton<ControlPlaneMetrics>();
        services.TryAddSingleton(sp => new SnapshotBuilder(sp.GetRequiredService<MeshOptions>()));
        services.TryAddSingleton<SnapshotCache>();
        services.TryAddSingleton<XdsPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<XdsPublisher>());
        return services;
    }

    /// <summary>The file source over one or more watched directories (each file is its own origin).</summary>
    public static IServiceCollection AddFileSource(this IServiceCollection services, params string[] directories)
    {
        if (directories.Length == 0)
            throw new ArgumentException("the file source needs at least one directory", nameof(directories));
        services.Configure<FileSourceOptions>(o => o.Directories = [.. directories]);
        services.TryAddSingleton<FileSource>();
        services.AddHostedService(sp => sp.GetRequiredService<FileSource>());
        return services;
    }

    /// <summary>Reads Namespaces, Pods, Services, ServiceAccounts and Istio security policies from a Kubernetes API server.</summary>
    public static IServiceCollection AddKubernetesSource(this IServiceCollection services, Action<KubernetesSourceOptions> configure)
    {
        services.Configure(configure);
        services.TryAddSingleton<KubernetesSource>();
        services.AddHostedService(sp => sp.GetRequiredService<KubernetesSource>());
        return services;
    }
}
