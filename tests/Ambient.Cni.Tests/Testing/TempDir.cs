namespace Ambient.Cni.Tests.Testing;

/// <summary>A short-named directory under /tmp (Unix socket paths are limited to 107 bytes), removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string testName)
    {
        var info = Directory.CreateTempSubdirectory($"acni-{testName[..Math.Min(testName.Length, 24)]}-");
        Path = info.FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process under test may still be writing; /tmp is cleaned eventually.
        }
    }
}
