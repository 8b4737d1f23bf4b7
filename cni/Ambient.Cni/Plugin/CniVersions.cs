namespace Ambient.Cni.Plugin;

/// <summary>
/// The CNI spec versions ambient-cni speaks. Results are identical in shape from 0.4.0 on except for
/// <c>ips[].version</c> (dropped in 1.0.0), so prevResult passes through unchanged in each of them.
/// </summary>
internal static class CniVersions
{
    public const string Latest = "1.1.0";

    /// <summary>CHECK exists from 0.4.0 on.</summary>
    public const string Check = "0.4.0";

    /// <summary>STATUS and GC exist from 1.1.0 on.</summary>
    public const string StatusAndGc = "1.1.0";

    public static readonly IReadOnlyList<string> Supported = ["0.4.0", "1.0.0", "1.1.0"];

    public static bool IsSupported(string? version) => version is not null && Supported.Contains(version);

    /// <summary>Semantic comparison of two "major.minor.patch" versions; false if either does not parse.</summary>
    public static bool AtLeast(string version, string minimum) =>
        System.Version.TryParse(version, out var v) && System.Version.TryParse(minimum, out var m) && v >= m;

    public static string SupportedList => string.Join(", ", Supported);
}
