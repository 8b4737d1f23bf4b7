using System.Text.Json;

namespace Ambient.Agent.InPod;

/// <summary>
/// Pods by "namespace/name", persisted to <c>pods.json</c> in the state directory after every change.
/// Writes are atomic (temp file, fsync, rename) so a crash leaves the old or the new file, never a torn one.
/// Mutations are serialized by the caller (<see cref="PodCaptureManager"/> holds one lock); reads are lock-free snapshots.
/// </summary>
public sealed class PodRegistry
{
    public const string FileName = "pods.json";

    private readonly string? _path;
    private readonly object _gate = new();
    private Dictionary<string, PodEntry> _pods = new(StringComparer.Ordinal);

    /// <param name="stateDir">Directory for <c>pods.json</c>; null keeps the registry in memory only.</param>
    public PodRegistry(string? stateDir)
    {
        if (stateDir is not null)
        {
            Directory.CreateDirectory(stateDir);
            _path = Path.Combine(stateDir, FileName);
        }
    }

    public string? FilePath => _path;

    public IReadOnlyList<PodEntry> Snapshot()
    {
        lock (_gate)
        {
            return _pods.Values.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
        }
    }

    public PodEntry? Get(string key)
    {
        lock (_gate)
        {
            return _pods.GetValueOrDefault(key);
        }
    }

    public int Count(PodState state)
    {
        lock (_gate)
        {
            return _pods.Values.Count(p => p.State == state);
        }
    }

    public void Upsert(PodEntry entry)
    {
        lock (_gate)
        {
            _pods[entry.Key] = entry;
            Save();
        }
    }

    public bool Remove(string key)
    {
        lock (_gate)
        {
            bool removed = _pods.Remove(key);
            if (removed)
            {
                Save();
            }
            return removed;
        }
    }

    /// <summary>Loads <c>pods.json</c>; a missing file is an empty registry. A corrupt file throws (the message names it).</summary>
    public IReadOnlyList<PodEntry> Load()
    {
        if (_path is null || !File.Exists(_path))
        {
            return [];
        }
        PodRegistryFile? file;
        try
        {
            file = JsonSerializer.Deserialize(File.ReadAllBytes(_path), PodRegistryJson.Default.PodRegistryFile);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"pod registry '{_path}' is not valid JSON ({e.Message}); move it away to start without re-adoption", e);
        }
        if (file is null || file.Version != PodRegistryFile.CurrentVersion)
        {
            throw new InvalidDataException($"pod registry '{_path}' has version {file?.Version}, expected {PodRegistryFile.CurrentVersion}");
        }
        lock (_gate)
        {
            _pods = file.Pods.ToDictionary(p => p.Key, StringComparer.Ordinal);
        }
        return file.Pods;
    }

    public void Replace(IEnumerable<PodEntry> entries)
    {
        lock (_gate)
        {
            _pods = entries.ToDictionary(p => p.Key, StringComparer.Ordinal);
            Save();
        }
    }

    private void Save()
    {
        if (_path is null)
        {
            return;
        }
        var file = new PodRegistryFile(PodRegistryFile.CurrentVersion, _pods.Values.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray());
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(file, PodRegistryJson.Default.PodRegistryFile);
        string tmp = _path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(json);
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true); // rename(2): atomic on one filesystem
    }
}
