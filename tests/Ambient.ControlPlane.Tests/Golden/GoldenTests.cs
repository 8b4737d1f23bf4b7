namespace Ambient.ControlPlane.Tests.Golden;

/// <summary>
/// Every <c>Fixtures/&lt;case&gt;/</c> folder is built and compared with its <c>expected.json</c>.
/// The goldens were reviewed field by field against Istio's WDS semantics (protocol-facts.md §e);
/// <see cref="GoldenSemanticsTests"/> pins the facts that matter most, so a golden regenerated without
/// review cannot quietly bless a regression.
/// </summary>
public sealed class GoldenTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var name in Fixture.CaseNames())
            data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fixture_BuiltSnapshot_MatchesGolden(string name)
    {
        var fixture = Fixture.Load(name);
        var actual = GoldenFile.Render(fixture.Snapshot, fixture.Warnings);
        GoldenFile.Verify(actual, Path.Combine(fixture.Directory, Fixture.GoldenFileName), GoldenFile.UpdateRequested,
            alsoWriteTo: Path.Combine(Fixture.SourceRoot, name, Fixture.GoldenFileName));
    }

    [Fact]
    public void Fixtures_OutputDirectory_HoldsEveryExpectedCase()
    {
        string[] required =
        [
            "authz-actions-scopes", "authz-l7", "authz-rules", "bookinfo-lite", "canonical-labels", "dual-stack",
            "load-balancing", "named-target-ports", "owners", "peer-authentication", "pod-health", "protocols-and-tunnels",
            "unserved-pods",
        ];
        Assert.Subset(Fixture.CaseNames().ToHashSet(), required.ToHashSet());
    }

    [Fact]
    public void Render_SameManifestsBuiltTwice_IsIdentical()
    {
        var a = Fixture.Load("bookinfo-lite");
        var b = Fixture.Load("bookinfo-lite");
        Assert.Equal(GoldenFile.Render(a.Snapshot, a.Warnings), GoldenFile.Render(b.Snapshot, b.Warnings));
    }

    [Fact]
    public void BookinfoFixture_ComparedWithExample_IsACopy()
    {
        var example = Path.Combine(Fixture.RepositoryRoot, "examples", "bookinfo-lite");
        Assert.True(Directory.Exists(example), $"{example} not found");
        var exampleFiles = Directory.EnumerateFiles(example, "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var fixtureDir = Path.Combine(Fixture.OutputRoot, "bookinfo-lite");
        var fixtureFiles = Directory.EnumerateFiles(fixtureDir, "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(exampleFiles, fixtureFiles);
        foreach (var f in exampleFiles)
            Assert.True(File.ReadAllText(Path.Combine(example, f!)) == File.ReadAllText(Path.Combine(fixtureDir, f!)),
                $"Fixtures/bookinfo-lite/{f} differs from examples/bookinfo-lite/{f}: copy the example again and review the golden");
    }

    [Fact]
    public void Verify_GoldenMissing_FailsSayingHowToCreateIt()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ambient-golden-{Guid.NewGuid():N}.json");
        var e = Assert.ThrowsAny<Exception>(() => GoldenFile.Verify("{}\n", path, update: false));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("AMBIENT_UPDATE_GOLDEN=1", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Verify_GoldenDiffers_FailsShowingFirstDifferentLine()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "{\n  \"a\": 1,\n  \"b\": 2\n}\n");
            var e = Assert.ThrowsAny<Exception>(() => GoldenFile.Verify("{\n  \"a\": 1,\n  \"b\": 3\n}\n", path, update: false));
            Assert.Contains("line 3", e.Message, StringComparison.Ordinal);
            Assert.Contains("-   \"b\": 2", e.Message, StringComparison.Ordinal);
            Assert.Contains("+   \"b\": 3", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Verify_UpdateRequested_WritesGoldenThatThenMatches()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ambient-golden-{Guid.NewGuid():N}.json");
        try
        {
            GoldenFile.Verify("{ \"x\": 1 }\n", path, update: true);
            Assert.Equal("{ \"x\": 1 }\n", File.ReadAllText(path));
            GoldenFile.Verify("{ \"x\": 1 }\n", path, update: false);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
