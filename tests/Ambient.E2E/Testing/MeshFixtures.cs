using Xunit.Abstractions;

namespace Ambient.E2E.Testing;

/// <summary>One two-node mesh shared by the tests that only read it (collection <see cref="SharedMeshCollection.Name"/>).</summary>
public sealed class SharedMeshFixture : IAsyncLifetime
{
    private LocalMesh? _mesh;

    public LocalMesh Mesh => _mesh ?? throw new InvalidOperationException("the shared mesh did not start");

    public async Task InitializeAsync() => _mesh = await LocalMesh.StartAsync();

    public async Task DisposeAsync()
    {
        if (_mesh is not null)
        {
            await _mesh.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedMeshCollection : ICollectionFixture<SharedMeshFixture>
{
    public const string Name = "shared two-node mesh (read-only tests)";
}

/// <summary>
/// Base of tests that change the mesh: xunit makes one instance per test, so each test gets its own mesh, brought down
/// (and checked for leftovers) after the test, also when it failed.
/// </summary>
public abstract class OwnMeshTest(ITestOutputHelper output) : IAsyncLifetime
{
    private LocalMesh? _mesh;

    protected ITestOutputHelper Output { get; } = output;

    protected LocalMesh Mesh => _mesh ?? throw new InvalidOperationException("the mesh did not start");

    /// <summary>Extra `ambientctl local up` flags of this test's mesh.</summary>
    protected virtual string[] UpArgs => [];

    public async Task InitializeAsync()
    {
        _mesh = await LocalMesh.StartAsync("two-node", UpArgs);
        Output.WriteLine($"mesh {_mesh.Prefix} up (state {_mesh.StateDir}, ADS {_mesh.XdsAddress})");
    }

    public async Task DisposeAsync()
    {
        if (_mesh is not null)
        {
            await _mesh.DisposeAsync();
        }
    }
}
