using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Sources;
using Ambient.ControlPlane.Sources.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ambient.ControlPlane.Tests.Kubernetes;

public sealed class KubernetesSourceRegistrationTests
{
    [Fact]
    public void AddConfigSources_KubeconfigGiven_RegistersKubernetesSourceWithIt()
    {
        var services = new ServiceCollection();
        services.AddConfigSources(new ControlPlaneOptions { Kubeconfig = "/etc/ambient/kubeconfig" });

        Assert.Contains(services, d => d.ServiceType == typeof(KubernetesSource));
        Assert.Contains(services, d => d.ServiceType == typeof(IHostedService));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(FileSource));
        using var sp = services.BuildServiceProvider();
        var options = sp.GetRequiredService<IOptions<KubernetesSourceOptions>>().Value;
        Assert.Equal(("/etc/ambient/kubeconfig", false), (options.Kubeconfig, options.InCluster));
    }

    [Fact]
    public void AddConfigSources_InCluster_RegistersKubernetesSourceInClusterMode()
    {
        var services = new ServiceCollection();
        services.AddConfigSources(new ControlPlaneOptions { InCluster = true });

        using var sp = services.BuildServiceProvider();
        var options = sp.GetRequiredService<IOptions<KubernetesSourceOptions>>().Value;
        Assert.Equal((null, true), (options.Kubeconfig, options.InCluster));
        Assert.Equal(TimeSpan.FromMinutes(10), options.Resync);
    }

    [Fact]
    public void AddConfigSources_NoSourceSelected_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddConfigSources(new ControlPlaneOptions()));
        Assert.Contains("--kubeconfig", e.Message);
    }
}
