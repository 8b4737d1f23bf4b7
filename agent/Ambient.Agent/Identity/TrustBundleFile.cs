using System.Security.Cryptography;
using Ambient.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ambient.Agent.Identity;

/// <summary>
/// The roots of <c>--ca-root-cert</c>, kept current: a <see cref="FileSystemWatcher"/> on the file's directory (renames
/// and rewrites) plus a periodic re-read (watchers miss a symlink swap, as Kubernetes updates ConfigMap volumes).
/// A file that does not parse to at least one certificate keeps the last good bundle and logs an error naming it.
/// The first load happens in the constructor and throws: a bad root file fails startup.
/// </summary>
public sealed class TrustBundleFile : IDisposable
{
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer _poll;
    private TrustBundle _current;
    private byte[] _hash;
    private byte[]? _lastBadHash;

    public TrustBundleFile(string path, TimeProvider time, TimeSpan pollInterval, ILogger? logger = null)
    {
        Path = System.IO.Path.GetFullPath(path);
        _logger = logger ?? NullLogger.Instance;
        byte[] content;
        try
        {
            content = File.ReadAllBytes(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"--ca-root-cert '{path}': cannot read it: {e.Message}", e);
        }
        if (!TryParse(content, out var bundle, out var error))
            throw new InvalidDataException($"--ca-root-cert '{path}': {error}");
        _current = bundle;
        _hash = SHA256.HashData(content);
        try
        {
            _watcher = new FileSystemWatcher(System.IO.Path.GetDirectoryName(Path)!, System.IO.Path.GetFileName(Path))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += (_, _) => Reload();
            _watcher.Created += (_, _) => Reload();
            _watcher.Renamed += (_, _) => Reload();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            _watcher?.Dispose();
            _watcher = null; // inotify limits: the poll still notices changes
            IdentityLog.RootWatchUnavailable(_logger, Path, e.Message);
        }
        _poll = time.CreateTimer(_ => Reload(), null, pollInterval, pollInterval);
    }

    public string Path { get; }

    public TrustBundle Current => Volatile.Read(ref _current);

    /// <summary>Raised (outside the lock) after a new, valid bundle replaced the current one.</summary>
    public event Action<TrustBundle>? Changed;

    /// <summary>Re-reads the file; swaps the bundle when its content changed and parses. Safe from any thread.</summary>
    public void Reload()
    {
        TrustBundle? changed = null;
        lock (_lock)
        {
            byte[] content;
            try
            {
                content = File.ReadAllBytes(Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Removed or being replaced: keep the last good roots; the next event or poll reads it again.
                IdentityLog.RootUnreadable(_logger, Path, e.Message);
                return;
            }
            var hash = SHA256.HashData(content);
            if (hash.AsSpan().SequenceEqual(_hash))
                return;
            if (!TryParse(content, out var bundle, out var error))
            {
                if (_lastBadHash is null || !hash.AsSpan().SequenceEqual(_lastBadHash))
                    IdentityLog.RootRejected(_logger, Path, error, _current.Roots.Count);
                _lastBadHash = hash;
                return;
            }
            _current = bundle;
            _hash = hash;
            _lastBadHash = null;
            changed = bundle;
            IdentityLog.RootChanged(_logger, Path, bundle.Roots.Count, string.Join(", ", bundle.Roots.Select(r => r.Subject)));
        }
        Changed?.Invoke(changed);
    }

    private static bool TryParse(byte[] content, out TrustBundle bundle, out string error)
    {
        bundle = null!;
        try
        {
            var roots = PemCertificates.Read(System.Text.Encoding.UTF8.GetString(content));
            if (roots.Count == 0)
            {
                error = "it holds no PEM certificate";
                return false;
            }
            bundle = new TrustBundle(roots);
            error = "";
            return true;
        }
        catch (Exception e) when (e is CryptographicException or FormatException or ArgumentException)
        {
            error = $"it is not a PEM certificate list: {e.Message}";
            return false;
        }
    }

    public void Dispose()
    {
        _poll.Dispose();
        _watcher?.Dispose();
    }
}
