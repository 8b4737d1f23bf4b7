using Xunit;

namespace Ambient.Cni.Tests.Testing;

/// <summary>Process tests share one published binary (and so run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class NativeCniCollection : ICollectionFixture<NativeCniBinary>
{
    public const string Name = "native ambient-cni";
}
