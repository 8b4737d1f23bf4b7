namespace Ambient.Cni.Plugin;

/// <summary>The CNI error object a failed command prints on stdout (CNI spec 1.1 §"Error").</summary>
internal sealed record CniErrorResult(string CniVersion, int Code, string Msg, string? Details);
