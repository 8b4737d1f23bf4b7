namespace Ambient.Cni.Installer;

/// <summary>An install or uninstall that cannot proceed; the message says what to check.</summary>
internal sealed class InstallerException(string message) : Exception(message);
