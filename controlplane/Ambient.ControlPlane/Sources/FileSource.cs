using Ambient.ControlPlane.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ambient.ControlPlane.Sources;

public sealed class FileSourceOptions
{
    /// <summary>
    /// Directories of multi-document YAML manifests, each read recursively and watched (e.g. the manifests, plus the
    /// node agent's status directory in local mode). Every file is its own origin, whichever directory holds it.
    /// </summary>
    public List<string> Directories { get; set; } = [];

    /// <summary>The single directory (the first one); setting it replaces <see cref="Directories"/> with it.</summary>
    public string Directory
    {
        get => Directories.Count > 0 ? Directories[0] : "";
        set => Directories = [value];
    }

    /// <summary>Safety-net rescan period; change notifications usually arrive much sooner.</summary>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a file that had objects must stay empty before it counts as emptied. An in-place save truncates
    /// the file before writing it; a scan in between must not withdraw the file's objects.
    /// </summary>
    public TimeSpan EmptyFileSettle { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The default config source: a watched directory of Kubernetes YAML. Each file is one origin in the
/// <see cref="ConfigStore"/>. A file that fails to parse or validate is reported with file, line and field,
/// and its last good content stays in force; other files are unaffected.
/// </summary>
public sealed partial class FileSource(ConfigStore store, ControlPlaneMetrics metrics, IOptions<FileSourceOptions> options, ILogger<FileSource> logger)
    : BackgroundService
{
    public const string SourceName = "files";
    private readonly Dictionary<string, (DateTime Mtime, long Length)> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<ManifestException>> _errors = new(StringComparer.Ordinal);
    private readonly Lock _errorsLock = new();
    private readonly HashSet<string> _hasObjects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _emptySince = new(StringComparer.Ordinal);

    /// <summary>Files whose current content is rejected, with why.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ManifestException>> Errors
    {
        get
        {
            lock (_errorsLock)
                return new Dictionary<string, IReadOnlyList<ManifestException>>(_errors);
        }
    }

    /// <summary>The watched directories, full paths, duplicates dropped; a missing one is an error.</summary>
    private List<string> Dirs()
    {
        var dirs = options.Value.Directories.Count == 0 ? [""] : options.Value.Directories;
        var result = new List<string>();
        foreach (var dir in dirs)
        {
            if (!System.IO.Directory.Exists(dir))
                throw new DirectoryNotFoundException($"--config-dir '{dir}' does not exist or is not a directory");
            var full = Path.GetFullPath(dir);
            if (!result.Contains(full, StringComparer.Ordinal))
                result.Add(full);
        }
        return result;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Dirs(); // fail start-up on a missing directory
        store.RegisterSource(SourceName);
        Rescan();
        store.MarkSynced(SourceName);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dirs = Dirs();
        using var wake = new SemaphoreSlim(0, 1);
        FileSystemEventHandler onChange = (_, _) => { try { wake.Release(); } catch (SemaphoreFullException) { } };
        var watchers = new List<FileSystemWatcher>(dirs.Count);
        foreach (var d in dirs)
        {
            var watcher = new FileSystemWatcher(d) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.DirectoryName };
            watcher.Changed += onChange;
            watcher.Created += onChange;
            watcher.Deleted += onChange;
            watcher.Renamed += (s, e) => onChange(s, e);
            watcher.EnableRaisingEvents = true;
            watchers.Add(watcher);
        }
        using var disposeWatchers = new WatcherList(watchers);
        var dir = string.Join(", ", dirs);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await wake.WaitAsync(options.Value.RescanInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            // Editors write in several steps: let a save settle before reading it.
            await Task.Delay(20, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                Rescan();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogScanFailed(logger, dir, e.Message);
            }
        }
    }

    /// <summary>Reads every new or changed manifest and drops files that disappeared.</summary>
    public void Rescan()
    {
        var dirs = Dirs();
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in dirs)
        {
            foreach (var path in System.IO.Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                if (!IsManifest(path) || !present.Add(path))
                    continue; // not a manifest, or already seen through an enclosing directory
                var info = new FileInfo(path);
                if (!info.Exists)
                    continue;
                var stamp = (info.LastWriteTimeUtc, info.Length);
                if (_seen.TryGetValue(path, out var old) && old == stamp)
                    continue;
                _seen[path] = stamp;
                Load(Display(dirs, dir, path), path);
            }
        }
        foreach (var gone in _seen.Keys.Where(p => !present.Contains(p)).ToList())
        {
            _seen.Remove(gone);
            _hasObjects.Remove(gone);
            _emptySince.Remove(gone);
            lock (_errorsLock)
                _errors.Remove(gone);
            store.RemoveOrigin(Origin(gone));
            LogRemoved(logger, dirs.Count == 1 ? Path.GetRelativePath(dirs[0], gone) : gone);
        }
        lock (_errorsLock)
            metrics.Set("ambient_config_files_rejected", _errors.Count);
    }

    /// <summary>How errors and logs name a file: relative to its directory with one directory, its full path with several.</summary>
    private static string Display(List<string> dirs, string dir, string path) =>
        dirs.Count == 1 ? Path.GetRelativePath(dir, path) : path;

    private sealed class WatcherList(List<FileSystemWatcher> watchers) : IDisposable
    {
        public void Dispose()
        {
            foreach (var w in watchers)
                w.Dispose();
        }
    }

    private void Load(string display, string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            LogScanFailed(logger, display, e.Message);
            _seen.Remove(path); // try again on the next scan
            return;
        }
        // A scan between the truncate and the write of an in-place save (most editors, File.WriteAllText) read an
        // empty file and withdrew all its objects from every client until the write was seen; had the new content
        // then been rejected, the empty read would have stayed in force as the "last good" content. So an empty
        // file that had objects is applied only once we have seen it empty for EmptyFileSettle (timed from our
        // first empty read: the truncate does not reliably move the mtime); until then the next scan (a change
        // event or the rescan timer) looks again.
        if (text.Length == 0 && _hasObjects.Contains(path))
        {
            var now = DateTime.UtcNow;
            if (!_emptySince.TryGetValue(path, out var since))
                _emptySince[path] = since = now;
            if (now - since < options.Value.EmptyFileSettle)
            {
                _seen.Remove(path);
                return;
            }
        }
        _emptySince.Remove(path);
        var result = ManifestParser.Parse(display, text);
        if (!result.Ok)
        {
            lock (_errorsLock)
                _errors[path] = result.Errors;
            metrics.Increment("ambient_config_errors_total", ControlPlaneMetrics.Label("source", SourceName));
            foreach (var e in result.Errors)
                LogRejected(logger, e.Message);
            return;
        }
        lock (_errorsLock)
            _errors.Remove(path);
        store.ReplaceOrigin(Origin(path), result.Objects);
        if (result.Objects.Count > 0)
            _hasObjects.Add(path);
        else
            _hasObjects.Remove(path);
        foreach (var o in result.Objects)
        {
            var origins = store.OriginsOf(o.Key);
            if (origins.Count > 1)
                LogDuplicate(logger, o.Key.ToString(), string.Join(", ", origins), origins[^1]);
        }
        LogLoaded(logger, display, result.Objects.Count);
    }

    private static string Origin(string path) => "file:" + path;

    private static bool IsManifest(string path) =>
        Path.GetExtension(path) is ".yaml" or ".yml" or ".json" && !Path.GetFileName(path).StartsWith('.');

    [LoggerMessage(30, LogLevel.Information, "Loaded {File}: {Count} objects")]
    private static partial void LogLoaded(ILogger logger, string file, int count);

    [LoggerMessage(31, LogLevel.Error, "Rejected manifest, keeping the file's last good content: {Error}")]
    private static partial void LogRejected(ILogger logger, string error);

    [LoggerMessage(32, LogLevel.Information, "Removed {File}: its objects are withdrawn")]
    private static partial void LogRemoved(ILogger logger, string file);

    [LoggerMessage(33, LogLevel.Warning, "Cannot read {Path}: {Reason}")]
    private static partial void LogScanFailed(ILogger logger, string path, string reason);

    [LoggerMessage(34, LogLevel.Warning, "{Key} is defined in several places ({Origins}); using {Winner}")]
    private static partial void LogDuplicate(ILogger logger, string key, string origins, string winner);
}
