namespace Ambient.Cni.Plugin;

/// <summary>The <c>logLevel</c> config key; <see cref="None"/> silences the plugin.</summary>
internal enum PluginLogLevel
{
    Debug,
    Info,
    Warn,
    Error,
    None,
}
