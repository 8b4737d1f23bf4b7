namespace Ambient.Net.Redirection;

/// <summary>A redirection command failed; the message carries the command line, exit code and stderr.</summary>
public sealed class RedirectionException(string message, Exception? inner = null) : Exception(message, inner);
