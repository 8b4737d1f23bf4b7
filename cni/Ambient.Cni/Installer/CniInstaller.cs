using System.Text.Json.Nodes;
using Ambient.Cni.Internal;

namespace Ambient.Cni.Installer;

/// <summary>
/// Installs ambient-cni on a node, as Istio's install-cni does (protocol-facts (d)):
/// <code>
///   install:   this binary ─copy+rename─► {bin}/ambient-cni (0755)
///              wait for the first valid config in {conf} ─► append our entry ─write+rename─► same file
///                                                          (a .conf becomes {base}.conflist)
///   uninstall: drop our entry from every conflist (a converted one becomes its .conf again),
///              then delete {bin}/ambient-cni
/// </code>
/// Both are idempotent: a second run finds nothing to change and rewrites nothing.
/// </summary>
internal sealed class CniInstaller(InstallerOptions options, TextWriter output, TimeProvider time)
{
    public const string BinaryName = "ambient-cni";

    /// <summary>How often install looks for the primary CNI's config while waiting.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private const UnixFileMode Executable = (UnixFileMode)0b111_101_101; // 0755
    private const UnixFileMode ConfigMode = (UnixFileMode)0b110_100_100; // 0644, for files we create

    public async Task InstallAsync(CancellationToken ct)
    {
        InstallBinary();
        var (name, config) = await WaitForPrimaryAsync(ct).ConfigureAwait(false);
        var change = ConfListPatcher.Patch(name, config, options.PluginEntry());
        if (change.RemoveFileName is not null && File.Exists(ConfPath(change.FileName)))
        {
            throw new InstallerException(
                $"cannot turn {ConfPath(name)} into a conflist: {ConfPath(change.FileName)} already exists; remove one of them");
        }

        var written = Apply(change, modeFrom: ConfPath(name));
        output.WriteLine(written
            ? change.RemoveFileName is null
                ? $"ambient-cni: chained into {ConfPath(change.FileName)}"
                : $"ambient-cni: chained into {ConfPath(change.FileName)} (converted from {change.RemoveFileName})"
            : $"ambient-cni: {ConfPath(change.FileName)} already chains ambient-cni; unchanged");
    }

    public void Uninstall()
    {
        var changed = 0;
        foreach (var name in CniConfDirectory.ConfigFiles(options.CniConfDir))
        {
            if (CniConfDirectory.TryLoad(options.CniConfDir, name, out _) is not { } config
                || ConfListPatcher.Unpatch(name, config) is not { } change)
            {
                continue;
            }

            if (change.RemoveFileName is not null && File.Exists(ConfPath(change.FileName)))
            {
                // Someone wrote the .conf again meanwhile: keep theirs, keep the list without our entry.
                change = new ConfWrite(name, RemainingList(config), RemoveFileName: null);
            }

            Apply(change, modeFrom: ConfPath(name));
            changed++;
            output.WriteLine(change switch
            {
                { Content: null } => $"ambient-cni: removed {ConfPath(name)} (it held only ambient-cni)",
                { RemoveFileName: not null } => $"ambient-cni: restored {ConfPath(change.FileName)} from {name}",
                _ => $"ambient-cni: removed the ambient-cni entry from {ConfPath(name)}",
            });
        }

        var binary = Path.Combine(options.CniBinDir, BinaryName);
        if (File.Exists(binary))
        {
            File.Delete(binary);
            output.WriteLine($"ambient-cni: removed {binary}");
        }
        else if (changed == 0)
        {
            output.WriteLine("ambient-cni: not installed; nothing to remove");
        }
    }

    /// <summary>Copies the running executable (the published native binary) into the bin dir.</summary>
    private void InstallBinary()
    {
        var source = Environment.ProcessPath
            ?? throw new InstallerException("cannot tell where this executable is (no /proc/self/exe?)");
        var target = Path.Combine(options.CniBinDir, BinaryName);
        Directory.CreateDirectory(options.CniBinDir);
        if (SameFile(source, target) || (File.Exists(target) && SameContent(source, target) && HasMode(target, Executable)))
        {
            output.WriteLine($"ambient-cni: {target} is up to date");
            return;
        }

        AtomicFile.Copy(source, target, Executable);
        output.WriteLine($"ambient-cni: installed {target}");
    }

    private async Task<(string Name, JsonObject Config)> WaitForPrimaryAsync(CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + options.WaitTimeout;
        var reported = new HashSet<string>(StringComparer.Ordinal);
        var waiting = false;
        while (true)
        {
            var primary = CniConfDirectory.FindPrimary(options.CniConfDir, message =>
            {
                if (reported.Add(message))
                {
                    output.WriteLine($"ambient-cni: {message}");
                }
            });
            if (primary is { } found)
            {
                return found;
            }

            if (time.GetUtcNow() >= deadline)
            {
                throw new InstallerException(
                    $"no valid CNI config (.conf, .conflist or .json) in {options.CniConfDir} after {options.WaitTimeout.TotalSeconds:0.###} s; " +
                    "install the primary CNI first, or raise --wait-timeout");
            }

            if (!waiting)
            {
                waiting = true;
                output.WriteLine($"ambient-cni: waiting up to {options.WaitTimeout.TotalSeconds:0.###} s for the primary CNI to write its config into {options.CniConfDir}");
            }

            await Task.Delay(PollInterval, time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Applies one change; false when the file already had exactly this content.</summary>
    private bool Apply(ConfWrite change, string modeFrom)
    {
        var target = ConfPath(change.FileName);
        var written = false;
        if (change.Content is null)
        {
            File.Delete(target);
            written = true;
        }
        else
        {
            var bytes = Serialize(change.Content);
            if (!File.Exists(target) || !File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes))
            {
                var mode = File.Exists(modeFrom) ? File.GetUnixFileMode(modeFrom) : ConfigMode;
                AtomicFile.Write(target, bytes, mode);
                written = true;
            }
        }

        if (change.RemoveFileName is { } old && old != change.FileName && File.Exists(ConfPath(old)))
        {
            File.Delete(ConfPath(old));
            written = true;
        }

        return written;
    }

    /// <summary>Indented, with a final newline: the same tree always gives the same bytes.</summary>
    internal static byte[] Serialize(JsonObject content)
    {
        var json = JsonSerializerHelpers.ToUtf8(content, indented: true);
        var bytes = new byte[json.Length + 1];
        json.CopyTo(bytes, 0);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    private static JsonObject RemainingList(JsonObject config)
    {
        var list = config.DeepClone().AsObject();
        var plugins = (JsonArray)list["plugins"]!;
        for (var i = plugins.Count - 1; i >= 0; i--)
        {
            if (plugins[i] is JsonObject p && p["type"]?.GetValue<string>() == ConfListPatcher.PluginType)
            {
                plugins.RemoveAt(i);
            }
        }

        return list;
    }

    private string ConfPath(string name) => Path.Combine(options.CniConfDir, name);

    private static bool SameFile(string a, string b) =>
        File.Exists(b) && string.Equals(Path.GetFullPath(ResolveLinks(a)), Path.GetFullPath(ResolveLinks(b)), StringComparison.Ordinal);

    private static string ResolveLinks(string path) =>
        File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;

    private static bool HasMode(string path, UnixFileMode mode) => File.GetUnixFileMode(path) == mode;

    private static bool SameContent(string a, string b)
    {
        using var fa = File.OpenRead(a);
        using var fb = File.OpenRead(b);
        if (fa.Length != fb.Length)
        {
            return false;
        }

        var ba = new byte[64 * 1024];
        var bb = new byte[64 * 1024];
        int n;
        while ((n = fa.ReadAtLeast(ba, ba.Length, throwOnEndOfStream: false)) > 0)
        {
            if (fb.ReadAtLeast(bb, n, throwOnEndOfStream: false) != n || !ba.AsSpan(0, n).SequenceEqual(bb.AsSpan(0, n)))
            {
                return false;
            }
        }

        return true;
    }
}
