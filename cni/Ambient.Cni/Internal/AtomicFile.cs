namespace Ambient.Cni.Internal;

/// <summary>
/// Replace-by-rename: readers (the container runtime watching /etc/cni/net.d, kubelet exec'ing
/// /opt/cni/bin) see the old file or the new one, never a half-written one. The temp file lives in the
/// target's directory (rename(2) is atomic only within one file system) and its name ends in ".tmp",
/// which no runtime loads as a CNI config.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode)
    {
        var temp = TempPath(path);
        try
        {
            using (var file = Create(temp, mode))
            {
                file.Write(content);
                file.Flush(flushToDisk: true);
            }

            Publish(temp, path, mode);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void Copy(string source, string path, UnixFileMode mode)
    {
        var temp = TempPath(path);
        try
        {
            using (var from = File.OpenRead(source))
            using (var file = Create(temp, mode))
            {
                from.CopyTo(file);
                file.Flush(flushToDisk: true);
            }

            Publish(temp, path, mode);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static string TempPath(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");

    private static FileStream Create(string temp, UnixFileMode mode) => new(temp, new FileStreamOptions
    {
        Mode = FileMode.Create,
        Access = FileAccess.Write,
        Share = FileShare.None,
        UnixCreateMode = mode,
    });

    private static void Publish(string temp, string path, UnixFileMode mode)
    {
        File.SetUnixFileMode(temp, mode); // the process umask narrowed UnixCreateMode
        File.Move(temp, path, overwrite: true);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray *.tmp is ignored by every CNI runtime.
        }
    }
}
