using Ambient.Agent.InPod;

namespace Ambient.Agent.Tests.InPod;

public sealed class PodRegistryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("amb-registry-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PodEntry Entry(string name, PodState state) => new()
    {
        Namespace = "default",
        Name = name,
        Uid = "uid-" + name,
        ContainerId = "c-" + name,
        NetnsPath = "/var/run/netns/" + name,
        NetnsInode = 4026532000,
        Ips = ["10.1.0.5"],
        State = state,
        Updated = DateTimeOffset.Parse("2026-01-01T00:00:00Z"),
    };

    [Fact]
    public void Upsert_ThenLoadInNewRegistry_RoundTripsEveryField()
    {
        var registry = new PodRegistry(_dir);
        registry.Upsert(Entry("a", PodState.Captured));
        registry.Upsert(Entry("b", PodState.NotEnrolled) with { Error = "x" });

        var loaded = new PodRegistry(_dir).Load();

        Assert.Equal([Entry("a", PodState.Captured), Entry("b", PodState.NotEnrolled) with { Error = "x" }], loaded, new EntryComparer());
    }

    [Fact]
    public void Save_AfterWrite_LeavesNoTempFileAndStatesAsStrings()
    {
        var registry = new PodRegistry(_dir);
        registry.Upsert(Entry("a", PodState.Captured));
        Assert.False(File.Exists(Path.Combine(_dir, PodRegistry.FileName + ".tmp")));
        Assert.Contains("\"state\": \"Captured\"", File.ReadAllText(Path.Combine(_dir, PodRegistry.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void Remove_ThenLoad_EntryIsGone()
    {
        var registry = new PodRegistry(_dir);
        registry.Upsert(Entry("a", PodState.Captured));
        registry.Upsert(Entry("b", PodState.Captured));
        Assert.True(registry.Remove("default/a"));
        Assert.Equal(["default/b"], new PodRegistry(_dir).Load().Select(p => p.Key));
    }

    [Fact]
    public void Load_CorruptFile_ThrowsNamingTheFile()
    {
        File.WriteAllText(Path.Combine(_dir, PodRegistry.FileName), "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => new PodRegistry(_dir).Load());
        Assert.Contains(PodRegistry.FileName, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_IsEmpty()
    {
        Assert.Empty(new PodRegistry(_dir).Load());
    }

    private sealed class EntryComparer : IEqualityComparer<PodEntry>
    {
        public bool Equals(PodEntry? x, PodEntry? y) => x is not null && y is not null && x with { Ips = [] } == y with { Ips = [] } && x.Ips.SequenceEqual(y.Ips);

        public int GetHashCode(PodEntry obj) => obj.Key.GetHashCode(StringComparison.Ordinal);
    }
}
