using System.Runtime.CompilerServices;

namespace Ambient.E2E.Testing;

/// <summary>The repository (the directory holding Ambient.sln) and the published binaries the tests run.</summary>
public static class Repo
{
    private static readonly Lazy<string> RootPath = new(() => Find());

    public static string Root => RootPath.Value;

    /// <summary>out/bin, or AMBIENT_E2E_BIN_DIR (to run the same tests against another build of the programs).</summary>
    public static string BinDir =>
        Environment.GetEnvironmentVariable("AMBIENT_E2E_BIN_DIR") is { Length: > 0 } dir ? Path.GetFullPath(dir) : Path.Combine(Root, "out", "bin");

    public static string ExampleDir(string name) => Path.Combine(Root, "examples", name);

    /// <summary>out/bin/ambientctl, after checking that every program a local mesh needs was published.</summary>
    public static string Ambientctl
    {
        get
        {
            foreach (var exe in new[] { "ambientctl", "ambient-controlplane", "ambient-agent", "ambient-cni" })
            {
                var path = Path.Combine(BinDir, exe);
                if (!File.Exists(path))
                {
                    throw new InvalidOperationException(
                        $"{path} is missing: run `make build` in {Root} first (the E2E tests run the published binaries from {BinDir}).");
                }
            }
            return Path.Combine(BinDir, "ambientctl");
        }
    }

    /// <summary>Walks up from this source file's directory, then from the test assembly's directory, to Ambient.sln.</summary>
    private static string Find([CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { Path.GetDirectoryName(sourceFile), AppContext.BaseDirectory })
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Ambient.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException(
            $"cannot find Ambient.sln above {Path.GetDirectoryName(sourceFile)} or {AppContext.BaseDirectory}: run the tests from a checkout of the repository");
    }
}
