using Microsoft.Extensions.DependencyInjection;

namespace Ambient.ControlPlane.Hosting;

internal static class ConfigSourceRegistration
{
    /// <summary>Exactly one source: the manifest directory, or Kubernetes.</summary>
    public static IServiceCollection AddConfigSources(this IServiceCollection services, ControlPlaneOptions options)
    {
        if (options.ConfigDirs.Count > 0)
            return services.AddFileSource([.. options.ConfigDirs]);
        if (options.Kubeconfig is not null || options.InCluster)
        {
            return services.AddKubernetesSource(o =>
            {
                o.Kubeconfig = options.Kubeconfig;
                o.InCluster = options.InCluster && options.Kubeconfig is null;
            });
        }
        throw new ArgumentException("no config source: use --config-dir, --kubeconfig or --in-cluster");
    }
}
