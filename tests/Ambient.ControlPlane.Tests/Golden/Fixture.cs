using System.Runtime.CompilerServices;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;

namespace Ambient.ControlPlane.Tests.Golden;

/// <summary>
/// One golden case: the manifests in <c>Fixtures/&lt;case&gt;/*.yaml</c> (copied next to the test binary),
/// built into a snapshot exactly as the control plane does (ManifestParser → ClusterState → SnapshotBuilder).
/// </summary>
public sealed class Fixture
{
    public const string GoldenFileName = "expected.json";

    private Fixture(string name, string directory, XdsSnapshot snapshot, IReadOnlyList<string> warnings)
    {
        Name = name;
        Directory = directory;
        Snapshot = snapshot;
        Warnings = warnings;
    }

    public string Name { get; }

    /// <summary>The copy in the test output directory.</summary>
    public string Directory { get; }

    public XdsSnapshot Snapshot { get; }
    public IReadOnlyList<string> Warnings { get; }

    public static string OutputRoot => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>The checked-in Fixtures folder (for rewriting goldens), found from this source file's path.</summary>
    public static string SourceRoot => Path.Combine(TestProjectDirectory(), "Fixtures");

    /// <summary>The repository root, for comparing fixtures with the examples they copy.</summary>
    public static string RepositoryRoot => Path.GetFullPath(Path.Combine(TestProjectDirectory(), "..", ".."));

    public static IEnumerable<string> CaseNames() =>
        System.IO.Directory.Exists(OutputRoot)
            ? System.IO.Directory.EnumerateDirectories(OutputRoot).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)
            : [];

    public static Fixture Load(string name, MeshOptions? mesh = null)
    {
        var dir = Path.Combine(OutputRoot, name);
        Assert.True(System.IO.Directory.Exists(dir), $"fixture directory {dir} is missing (is Fixtures/** copied to the output?)");
        var files = System.IO.Directory.EnumerateFiles(dir, "*.yaml").Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count > 0, $"fixture {name} has no *.yaml input");

        var objects = new List<KubeObject>();
        var errors = new List<string>();
        foreach (var file in files)
        {
            var result = ManifestParser.Parse(Path.GetFileName(file), File.ReadAllText(file));
            objects.AddRange(result.Objects);
            errors.AddRange(result.Errors.Select(e => e.Message));
        }
        Assert.True(errors.Count == 0, $"fixture {name} does not parse:\n{string.Join("\n", errors)}");

        var builder = new SnapshotBuilder(mesh ?? new MeshOptions());
        var snapshot = builder.Build(new ClusterState(objects));
        return new Fixture(name, dir, snapshot, builder.Warnings);
    }

    private static string TestProjectDirectory([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, ".."));
}
