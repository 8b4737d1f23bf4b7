using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
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

    public static IServiceCollection AddFileSource(this IServiceCollection services, string directory)
    {
        services.Configure<FileSourceOptions>(o => o.Directory = directory);
        services.TryAddSingleton<FileSource>();
        services.AddHostedService(sp => sp.GetRequiredService<FileSource>());
        return services;
    }
}
