using System.Runtime.InteropServices;

namespace Ambient.Net.Netns;

internal static class Errno
{
    /// <summary>"ENOENT (2): No such file or directory"-style text for messages.</summary>
    public static string Describe(int errno) => $"errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}";
}
