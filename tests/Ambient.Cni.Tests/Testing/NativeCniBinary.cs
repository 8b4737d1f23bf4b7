using System.Diagnostics;
using System.Reflection;
using Xunit;

namespace Ambient.Cni.Tests.Testing;

/// <summary>
/// The published NativeAOT ambient-cni, built once per test run: `dotnet publish` into
/// {ArtifactsPath}/cni-native (incremental, so a rerun without changes takes seconds). Set
/// AMBIENT_CNI_BINARY to test a binary published elsewhere instead. A failed publish fails every
/// process test loudly; it never skips them.
/// </summary>
public sealed class NativeCniBinary : IAsyncLifetime
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(8);

    public string Path { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("AMBIENT_CNI_BINARY") is { Length: > 0 } prebuilt)
        {
            Path = File.Exists(prebuilt) ? prebuilt : throw new FileNotFoundException($"AMBIENT_CNI_BINARY={prebuilt} does not exist");
            return;
        }

        var root = Metadata("AmbientRepoRoot");
        var artifacts = System.IO.Path.Combine(Metadata("AmbientArtifactsPath"), "cni-native");
        var publishDir = System.IO.Path.Combine(artifacts, "publish");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        foreach (var arg in new[]
        {
            "publish", System.IO.Path.Combine(root, "cni", "Ambient.Cni", "Ambient.Cni.csproj"),
            "-c", "Release", "-o", publishDir, $"-p:ArtifactsPath={artifacts}",
            // No build servers: a lingering compiler server would hold our pipes open and the test run after us.
            "--nologo", "--disable-build-servers", "-nodeReuse:false", "-p:UseSharedCompilation=false", "-clp:ErrorsOnly",
        })
        {
            psi.ArgumentList.Add(arg);
        }

        // `dotnet test` leaves MSBuild variables that would point the child build at the parent's MSBuild.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(PublishTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet publish of ambient-cni took longer than {PublishTimeout}");
        }

        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish of ambient-cni failed (exit {process.ExitCode}):\n{output}");
        }

        Path = System.IO.Path.Combine(publishDir, "ambient-cni");
        if (!File.Exists(Path))
        {
            throw new FileNotFoundException($"dotnet publish succeeded but {Path} is missing:\n{output}");
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static string Metadata(string key) =>
        typeof(NativeCniBinary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"assembly metadata {key} missing; see Ambient.Cni.Tests.csproj");
}
