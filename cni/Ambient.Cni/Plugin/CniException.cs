namespace Ambient.Cni.Plugin;

/// <summary>
/// A failure that ends the CNI command. The top level turns it into the CNI error object on stdout
/// (<see cref="CniErrorResult"/>) and a non-zero exit code.
/// </summary>
internal sealed class CniException(int code, string message, string? details = null) : Exception(message)
{
    public int Code { get; } = code;

    /// <summary>The longer "what to check" part of the error object.</summary>
    public string? Details { get; } = details;
}
