using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Ambient.Bench.Mesh;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;

namespace Ambient.Bench.Scenario;

/// <summary>
/// Guards the builder's caches (the point of the benchmark is to make them faster, never different): applies a
/// long random sequence of changes to a mesh and checks after each that a warm <see cref="SnapshotBuilder"/>
/// produces exactly what a fresh one produces from the same state (same names, same versions, same order), and
/// that its change list is exactly the difference to the previous snapshot.
/// </summary>
public static class CacheVerifier
{
    public static int Run(IReadOnlyList<string> args)
    {
        var steps = args.Count > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 400;
        var seed = args.Count > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 12345;
        var mesh = new MeshOptions();
        var objects = MeshGenerator.Generate(new MeshSpec(Namespaces: 25, PodsPerNamespace: 20, ServicesPerNamespace: 4), mesh);
        var rng = new Random(seed);
        var warm = new SnapshotBuilder(mesh);
        var previous = warm.Build(new ClusterState(objects));
        var kinds = new Dictionary<string, int>();
        var failures = 0;
        for (var step = 0; step < steps; step++)
        {
            var what = Mutate(objects, rng, mesh);
            kinds[what] = kinds.GetValueOrDefault(what) + 1;
            // Sometimes several changes between builds, as a debounced burst does.
            if (rng.Next(4) == 0)
                what += " + " + Mutate(objects, rng, mesh);
            var state = new ClusterState(objects);
            var got = warm.Build(state);
            var expected = new SnapshotBuilder(mesh).Build(state);
            var problem = Compare(expected, got) ?? CompareChanges(previous, got);
            if (problem is not null)
            {
                failures++;
                Console.WriteLine($"step {step} ({what}): {problem}");
                if (failures > 10)
                    break;
            }
            previous = got;
        }
        failures += VerifyStore(steps, seed);
        Console.WriteLine($"cache verification: {steps} steps (seed {seed}; {string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}): "
            + (failures == 0 ? "warm builds identical to fresh builds" : $"{failures} MISMATCHES"));
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// ConfigStore keeps its merged view between snapshots: after any sequence of writes to overlapping origins, its
    /// <see cref="ConfigStore.Snapshot"/> must hold the very objects, in the very order, of a merge from scratch.
    /// </summary>
    private static int VerifyStore(int steps, int seed)
    {
        var rng = new Random(seed);
        var mesh = new MeshOptions();
        var pool = MeshGenerator.Generate(new MeshSpec(Namespaces: 4, PodsPerNamespace: 10, ServicesPerNamespace: 2), mesh);
        var store = new ConfigStore();
        var mirror = new Dictionary<string, Dictionary<ObjectKey, KubeObject>>(StringComparer.Ordinal);
        string[] names = ["files/a.yaml", "files/b.yaml", "kubernetes/pods", "kubernetes/services", "z"];
        KubeObject Variant(KubeObject o) => o switch
        {
            PodObject p => p with { Ready = !p.Ready },
            ServiceObject s => s with { PublishNotReadyAddresses = !s.PublishNotReadyAddresses },
            _ => o with { },
        };
        var failures = 0;
        for (var step = 0; step < steps * 4 && failures < 5; step++)
        {
            var origin = names[rng.Next(names.Length)];
            var what = rng.Next(10);
            if (what < 6)
            {
                // Mostly updates of keys the origin (or another one) already defines: the patched path.
                var obj = Variant(pool[rng.Next(pool.Count)]);
                store.Upsert(origin, obj);
                if (!mirror.TryGetValue(origin, out var m))
                    mirror[origin] = m = [];
                m[obj.Key] = obj;
            }
            else if (what < 8)
            {
                var key = pool[rng.Next(pool.Count)].Key;
                store.Delete(origin, key);
                if (mirror.TryGetValue(origin, out var m))
                    m.Remove(key);
            }
            else if (what < 9)
            {
                var subset = pool.Where(_ => rng.Next(3) == 0).Select(Variant).ToList();
                store.ReplaceOrigin(origin, subset);
                mirror[origin] = subset.GroupBy(o => o.Key).ToDictionary(g => g.Key, g => g.Last());
            }
            else
            {
                store.RemoveOrigin(origin);
                mirror.Remove(origin);
            }
            if (rng.Next(3) != 0)
                continue; // several writes between snapshots, too
            var merged = new Dictionary<ObjectKey, KubeObject>();
            foreach (var o in mirror.Keys.Order(StringComparer.Ordinal))
            {
                foreach (var (k, v) in mirror[o])
                    merged[k] = v;
            }
            var expected = new ClusterState(merged.Values);
            var got = store.Snapshot();
            // The very objects (by reference), not merely equal ones.
            if (!SameObjects(expected.Pods, got.Pods) || !SameObjects(expected.Services, got.Services)
                || !SameObjects(expected.ServiceAccounts, got.ServiceAccounts)
                || !SameObjects(expected.AuthorizationPolicies, got.AuthorizationPolicies)
                || !SameObjects(expected.PeerAuthentications, got.PeerAuthentications)
                || !expected.Namespaces.Keys.Order(StringComparer.Ordinal).SequenceEqual(got.Namespaces.Keys.Order(StringComparer.Ordinal))
                || expected.Namespaces.Any(kv => !ReferenceEquals(kv.Value, got.Namespaces[kv.Key])))
            {
                failures++;
                Console.WriteLine($"store step {step}: ConfigStore.Snapshot() differs from a merge from scratch");
            }
        }
        Console.WriteLine($"store verification: {steps * 4} writes (seed {seed}): " + (failures == 0 ? "merged view identical to a merge from scratch" : $"{failures} MISMATCHES"));
        return failures;
    }

    private static bool SameObjects<T>(ImmutableArray<T> a, ImmutableArray<T> b) where T : class =>
        a.Length == b.Length && a.Zip(b).All(p => ReferenceEquals(p.First, p.Second));

    private static string? Compare(XdsSnapshot expected, XdsSnapshot got)
    {
        foreach (var type in expected.Types.Keys.Union(got.Types.Keys))
        {
            var e = expected.Get(type).Items.Select(kv => (kv.Key, kv.Value.Version)).ToArray();
            var g = got.Get(type).Items.Select(kv => (kv.Key, kv.Value.Version)).ToArray();
            if (!e.SequenceEqual(g))
            {
                var diff = e.Except(g).Concat(g.Except(e)).Take(3).Select(x => $"{x.Key}@{x.Version}");
                return $"{type}: warm build differs from a fresh build ({e.Length} vs {g.Length} resources; e.g. {string.Join(", ", diff)}{(e.Length == g.Length && !diff.Any() ? "; order differs" : "")})";
            }
        }
        return null;
    }

    private static string? CompareChanges(XdsSnapshot previous, XdsSnapshot got)
    {
        if (got.ChangesSincePrevious is not { } changes)
            return "no change list";
        foreach (var type in previous.Types.Keys.Union(got.Types.Keys))
        {
            var before = previous.Get(type).Items;
            var after = got.Get(type).Items;
            var expected = before.Keys.Union(after.Keys)
                .Where(n => !before.TryGetValue(n, out var b) || !after.TryGetValue(n, out var a) || a.Version != b.Version)
                .ToHashSet(StringComparer.Ordinal);
            var listed = changes.TryGetValue(type, out var c) ? c : new HashSet<string>();
            if (!expected.SetEquals(listed))
                return $"{type}: change list [{string.Join(", ", listed.Take(5))}] but [{string.Join(", ", expected.Take(5))}] changed";
        }
        return null;
    }

    private static string Mutate(List<KubeObject> objects, Random rng, MeshOptions mesh)
    {
        int Pick<T>() where T : KubeObject
        {
            var idx = Enumerable.Range(0, objects.Count).Where(i => objects[i] is T).ToArray();
            return idx.Length == 0 ? -1 : idx[rng.Next(idx.Length)];
        }
        var apps = Enumerable.Range(0, 5).Select(MeshGenerator.AppName).ToArray();
        switch (rng.Next(14))
        {
            case 0:
            case 1:
            {
                var i = Pick<PodObject>();
                var p = (PodObject)objects[i];
                objects[i] = p with { Ready = !p.Ready };
                return "ready";
            }
            case 2:
            {
                var i = Pick<PodObject>();
                var p = (PodObject)objects[i];
                objects[i] = p with { Meta = p.Meta with { Labels = p.Meta.Labels.SetItem("app", apps[rng.Next(apps.Length)]) } };
                return "relabel";
            }
            case 3:
            {
                var i = Pick<PodObject>();
                objects.RemoveAt(i);
                return "delete pod";
            }
            case 4:
            {
                var i = Pick<PodObject>();
                var p = (PodObject)objects[i];
                var n = rng.Next(1_000_000);
                objects.Insert(rng.Next(objects.Count + 1), p with
                {
                    Meta = p.Meta with { Name = $"extra-{n}" },
                    PodIPs = [new IPAddress([10, 200, (byte)(n / 256 % 256), (byte)(n % 256)])],
                });
                return "add pod";
            }
            case 5:
            {
                var i = Pick<PodObject>();
                var p = (PodObject)objects[i];
                objects[i] = p with { Phase = p.Phase == "Running" ? "Succeeded" : "Running" };
                return "phase";
            }
            case 6:
            {
                var i = Pick<ServiceObject>();
                var s = (ServiceObject)objects[i];
                objects[i] = s with { Selector = rng.Next(5) == 0 ? null : ImmutableDictionary.Create<string, string>(StringComparer.Ordinal).Add("app", apps[rng.Next(apps.Length)]) };
                return "selector";
            }
            case 7:
            {
                var i = Pick<ServiceObject>();
                var s = (ServiceObject)objects[i];
                objects.RemoveAt(i);
                if (rng.Next(2) == 0)
                    objects.Add(s with { Meta = s.Meta with { Name = s.Meta.Name + "-x" } });
                return "service";
            }
            case 8:
            {
                var i = Pick<AuthorizationPolicyObject>();
                if (i >= 0 && rng.Next(2) == 0)
                {
                    objects.RemoveAt(i);
                    return "policy delete";
                }
                var ns = MeshGenerator.NamespaceName(rng.Next(25));
                objects.Add(new AuthorizationPolicyObject(
                    new ObjectMeta($"p-{rng.Next(1_000_000)}", rng.Next(5) == 0 ? mesh.RootNamespace : ns, "", ImmutableDictionary<string, string>.Empty, ImmutableDictionary<string, string>.Empty),
                    ImmutableDictionary.Create<string, string>(StringComparer.Ordinal).Add("app", apps[rng.Next(apps.Length)]),
                    [], AuthorizationAction.Allow, [], HasRules: false, DryRun: false));
                return "policy add";
            }
            case 9:
            {
                // An equal but new object (a relist): must not change anything.
                if (rng.Next(2) == 0)
                {
                    var s = Pick<ServiceObject>();
                    objects[s] = (ServiceObject)objects[s] with { };
                    return "same service, new object";
                }
                var i = Pick<PodObject>();
                objects[i] = (PodObject)objects[i] with { };
                return "same pod, new object";
            }
            case 10:
            {
                var i = Pick<PodObject>();
                var p = (PodObject)objects[i];
                var n = rng.Next(65536);
                objects[i] = p with { PodIPs = rng.Next(6) == 0 ? [] : [new IPAddress([10, 201, (byte)(n / 256), (byte)(n % 256)])] };
                return "pod ip";
            }
            case 12:
            {
                var i = Pick<NamespaceObject>();
                var n = (NamespaceObject)objects[i];
                var mode = n.Meta.Label(Selectors.DataplaneModeLabel) == "ambient" ? "none" : "ambient";
                objects[i] = n with { Meta = n.Meta with { Labels = n.Meta.Labels.SetItem(Selectors.DataplaneModeLabel, mode) } };
                return "namespace";
            }
            case 13:
            {
                var i = Pick<PeerAuthenticationObject>();
                if (i >= 0 && rng.Next(2) == 0)
                {
                    objects.RemoveAt(i);
                    return "peerauth delete";
                }
                var ns = MeshGenerator.NamespaceName(rng.Next(25));
                var selector = rng.Next(3) == 0 ? null : ImmutableDictionary.Create<string, string>(StringComparer.Ordinal).Add("app", apps[rng.Next(apps.Length)]);
                var portLevel = selector is null ? ImmutableDictionary<int, MutualTlsMode>.Empty : ImmutableDictionary<int, MutualTlsMode>.Empty.Add(8080, MutualTlsMode.Disable);
                objects.Add(new PeerAuthenticationObject(
                    new ObjectMeta($"pa-{rng.Next(1_000_000)}", ns, "", ImmutableDictionary<string, string>.Empty, ImmutableDictionary<string, string>.Empty),
                    selector, rng.Next(2) == 0 ? MutualTlsMode.Strict : MutualTlsMode.Permissive, portLevel));
                return "peerauth add";
            }
            default:
            {
                var i = Pick<ServiceObject>();
                var s = (ServiceObject)objects[i];
                objects[i] = s with { Ports = s.Ports.Length > 1 ? s.Ports.RemoveAt(0) : s.Ports.Add(new ServicePort("tcp", 7000, new TargetPort(7000, null), "TCP", null)) };
                return "ports";
            }
        }
    }
}
