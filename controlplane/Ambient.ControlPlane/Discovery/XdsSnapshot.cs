using System.Collections.Frozen;

namespace Ambient.ControlPlane.Discovery;

/// <summary>Every resource of one type in a snapshot, by name.</summary>
public sealed class XdsResourceSet(IReadOnlyDictionary<string, XdsResource> items)
{
    public static readonly XdsResourceSet Empty = new(new Dictionary<string, XdsResource>());
    public IReadOnlyDictionary<string, XdsResource> Items { get; } = items;
}

/// <summary>
/// An immutable, consistent set of resources of every type. Each snapshot also records which names
/// changed since the one before it, so a stream that is up to date pushes only those.
/// </summary>
public sealed class XdsSnapshot
{
    public XdsSnapshot(long sequence, string version, IReadOnlyDictionary<string, XdsResourceSet> types,
        IReadOnlyDictionary<string, IReadOnlySet<string>>? changesSincePrevious)
    {
        Sequence = sequence;
        Version = version;
        Types = types;
        ChangesSincePrevious = changesSincePrevious;
    }

    public static readonly XdsSnapshot Empty = new(0, "0", new Dictionary<string, XdsResourceSet>(), null);

    /// <summary>Monotonic within one control-plane process.</summary>
    public long Sequence { get; }

    /// <summary>The SotW <c>version_info</c>.</summary>
    public string Version { get; }

    public IReadOnlyDictionary<string, XdsResourceSet> Types { get; }

    /// <summary>Names changed (added, updated or removed) per type since snapshot <c>Sequence - 1</c>; null when unknown.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>>? ChangesSincePrevious { get; }

    public XdsResourceSet Get(string typeUrl) => Types.TryGetValue(typeUrl, out var s) ? s : XdsResourceSet.Empty;

    public int ResourceCount => Types.Values.Sum(t => t.Items.Count);

    private static readonly IReadOnlySet<string> NoChanges = new HashSet<string>(StringComparer.Ordinal).ToFrozenSet(StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, IReadOnlySet<string>> Diff(XdsSnapshot previous, IReadOnlyDictionary<string, XdsResourceSet> next)
    {
        var changes = new Dictionary<string, IReadOnlySet<string>>();
        foreach (var type in previous.Types.Keys.Union(next.Keys))
        {
            var before = previous.Get(type).Items;
            var after = next.TryGetValue(type, out var n) ? n.Items : XdsResourceSet.Empty.Items;
            if (ReferenceEquals(before, after))
            {
                changes[type] = NoChanges; // perf: the builder reused the whole set
                continue;
            }
            var changed = new HashSet<string>(StringComparer.Ordinal);
            var kept = 0;
            foreach (var (name, r) in after)
            {
                if (!before.TryGetValue(name, out var old))
                {
                    changed.Add(name);
                    continue;
                }
                kept++;
                if (!ReferenceEquals(old, r) && old.Version != r.Version)
                    changed.Add(name);
            }
            // Perf: when every name of before is still in after, nothing was removed; skip the second pass.
            if (kept != before.Count)
            {
                foreach (var name in before.Keys)
                {
                    if (!after.ContainsKey(name))
                        changed.Add(name);
                }
            }
            changes[type] = changed.ToFrozenSet(StringComparer.Ordinal);
        }
        return changes;
    }
}
