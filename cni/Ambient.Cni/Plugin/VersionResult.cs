namespace Ambient.Cni.Plugin;

/// <summary>The answer to VERSION (CNI spec 1.1 §"Version success").</summary>
internal sealed record VersionResult(string CniVersion, IReadOnlyList<string> SupportedVersions);
