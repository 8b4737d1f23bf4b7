using Microsoft.Extensions.DependencyInjection;

namespace Ambient.ControlPlane.Hosting;

internal static class ConfigSourceRegistration
{
    /// <summary>Exactly one source: the manifest directory, or Kubernetes.</summary>
    public static IServiceCollection AddConfigSources(this IServiceCollection services, ControlPlaneOptions options)
    {
        if (options.ConfigDir is { } dir)
            return services.AddFileSource(dir);
        throw new ArgumentException("the Kubernetes source is not available in this build; use --config-dir");
    }
}
