namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>A fresh directory per test, removed afterwards.</summary>
internal sealed class CaTempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("ambient-ca-test-").FullName;

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
