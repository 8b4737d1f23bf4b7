namespace Ambient.Agent.InPod;

/// <summary>A CNI request the agent refuses; <see cref="StatusCode"/> becomes the HTTP status (the plugin fails the command).</summary>
public sealed class CniRequestException(int statusCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int StatusCode { get; } = statusCode;
}
