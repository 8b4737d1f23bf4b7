namespace Ambient.Cni.Plugin;

/// <summary>
/// Error codes of the CNI error object (CNI spec 1.1 §"Error"). 0–99 are reserved for the spec's
/// well-known errors; 100 and above are free for plugins.
/// </summary>
internal static class CniErrorCode
{
    public const int IncompatibleVersion = 1;
    public const int UnsupportedField = 2;
    public const int ContainerUnknown = 3;
    public const int InvalidEnvironment = 4;
    public const int IoFailure = 5;
    public const int DecodingFailure = 6;
    public const int InvalidNetworkConfig = 7;

    /// <summary>Transient: the runtime retries the sandbox. Every failed ADD handoff uses it.</summary>
    public const int TryAgainLater = 11;

    /// <summary>STATUS only: the plugin cannot service ADD.</summary>
    public const int PluginNotAvailable = 50;

    /// <summary>STATUS only: cannot service ADD, and existing containers may have limited connectivity.</summary>
    public const int PluginNotAvailableLimitedConnectivity = 51;

    /// <summary>Ours: CHECK found the pod enrolled in the mesh but its traffic not captured (agent answered 409).</summary>
    public const int PodNotCaptured = 100;

    /// <summary>A bug in ambient-cni: an exception nothing else mapped.</summary>
    public const int Internal = 999;
}
