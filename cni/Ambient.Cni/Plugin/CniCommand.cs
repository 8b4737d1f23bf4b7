namespace Ambient.Cni.Plugin;

/// <summary>The operations of CNI_COMMAND (CNI spec 1.1 §2 "CNI operations").</summary>
internal enum CniCommand
{
    Add,
    Del,
    Check,
    Version,
    Status,
    Gc,
}
