using System.Text.Json.Nodes;

namespace Ambient.Cni.Installer;

/// <summary>
/// One change to the conf dir: write <paramref name="Content"/> as <paramref name="FileName"/> (or, when
/// it is null, delete <paramref name="FileName"/>), then delete <paramref name="RemoveFileName"/>: the
/// .conf a conversion replaced, or the conflist an uninstall turned back into it.
/// </summary>
internal sealed record ConfWrite(string FileName, JsonObject? Content, string? RemoveFileName);
