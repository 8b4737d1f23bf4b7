namespace Ambient.ControlPlane.Sources;

/// <summary>A manifest error that names where it is: file, line and the field's path.</summary>
public sealed class ManifestException(string source, long line, string field, string reason)
    : Exception($"{source}:{line}: {field}: {reason}")
{
    public string File { get; } = source;
    public long Line { get; } = line;
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}
