using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace Ambient.Net.Netns;

/// <summary>
/// An open network namespace: a file descriptor on an nsfs file (a bind mount such as
/// <c>/var/run/netns/cni-1234</c>, or <c>/proc/PID/ns/net</c>). Holding the fd keeps the namespace
/// alive even if the runtime unmounts the path. Identity is the nsfs inode: two paths naming the
/// same namespace have the same <see cref="Inode"/>, and a recreated pod sandbox gets a new one.
/// </summary>
public sealed class NetNs : IDisposable
{
    private NetNs(SafeFileHandle handle, string path, ulong inode)
    {
        Handle = handle;
        Path = path;
        Inode = inode;
    }

    public SafeFileHandle Handle { get; }

    public string Path { get; }

    /// <summary>nsfs inode number; equal inodes mean the same namespace.</summary>
    public ulong Inode { get; }

    /// <summary>Opens the namespace at <paramref name="path"/> (O_RDONLY|O_CLOEXEC).</summary>
    /// <exception cref="IOException">The path does not exist or is not openable; the message says which.</exception>
    public static unsafe NetNs Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int fd;
        fixed (byte* p = NullTerminated(path))
        {
            fd = LibC.open(p, LibC.O_RDONLY | LibC.O_CLOEXEC);
        }
        if (fd < 0)
        {
            int errno = LibC.errno;
            throw new IOException($"cannot open network namespace '{path}': {Errno.Describe(errno)} (check that the pod sandbox still exists and the agent runs as root)");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            return new NetNs(handle, path, InodeOf(fd, path));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens the namespace of the calling thread (<c>/proc/thread-self/ns/net</c>).</summary>
    public static NetNs OpenCurrentThread() => Open("/proc/thread-self/ns/net");

    /// <summary>The inode of the namespace at <paramref name="path"/>, or null when it cannot be opened.</summary>
    public static ulong? TryGetInode(string path)
    {
        try
        {
            using var ns = Open(path);
            return ns.Inode;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="path"/> opens and, if given, still has <paramref name="expectedInode"/>.</summary>
    public static bool Exists(string path, ulong? expectedInode = null)
    {
        ulong? inode = TryGetInode(path);
        return inode is not null && (expectedInode is null || expectedInode == 0 || inode == expectedInode);
    }

    public void Dispose() => Handle.Dispose();

    public override string ToString() => $"{Path} (inode {Inode})";

    private static unsafe ulong InodeOf(int fd, string path)
    {
        stat st;
        if (LibC.fstat(fd, &st) != 0)
        {
            throw new IOException($"cannot stat network namespace '{path}': {Errno.Describe(LibC.errno)}");
        }
        return (ulong)st.st_ino;
    }

    internal static byte[] NullTerminated(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
