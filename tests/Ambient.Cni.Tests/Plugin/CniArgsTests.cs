using Ambient.Cni.Plugin;
using Xunit;

namespace Ambient.Cni.Tests.Plugin;

public class CniArgsTests
{
    [Fact]
    public void Parse_KubernetesKeysAmongUnknown_ReadsPodAndIgnoresTheRest()
    {
        var args = CniArgs.Parse("IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=9f1c;FOO=a=b");

        Assert.Equal(new CniArgs("shop", "web-0", "9f1c"), args);
        Assert.True(args.IsKubernetesPod);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("IgnoreUnknown=1")]
    [InlineData("K8S_POD_NAME=web-0")] // a name without a namespace is not enough to find the pod
    [InlineData("K8S_POD_NAMESPACE=shop;K8S_POD_NAME=")]
    public void Parse_WithoutPodNameAndNamespace_NotAKubernetesPod(string? value)
    {
        Assert.False(CniArgs.Parse(value).IsKubernetesPod);
    }

    [Fact]
    public void Parse_EmptySegments_Ignored()
    {
        Assert.Equal(new CniArgs("a", "b", null), CniArgs.Parse(";K8S_POD_NAMESPACE=a;;K8S_POD_NAME=b;"));
    }

    [Theory]
    [InlineData("K8S_POD_NAME")]
    [InlineData("K8S_POD_NAME=web;garbage")]
    [InlineData("=value")]
    public void Parse_PairWithoutKeyOrEquals_InvalidEnvironmentCode4(string value)
    {
        var e = Assert.Throws<CniException>(() => CniArgs.Parse(value));
        Assert.Equal(CniErrorCode.InvalidEnvironment, e.Code);
        Assert.Contains("CNI_ARGS", e.Message);
    }
}
