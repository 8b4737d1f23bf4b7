using System.Net;
using System.Runtime.CompilerServices;
using Ambient.Agent.Policy;
using Ambient.Agent.State;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;
using Ambient.Xds;
using Ambient.Xds.Client;
using Proto = Ambient.Xds.Protos.Workload;
using ProtoSecurity = Ambient.Xds.Protos.Security;

namespace Ambient.Agent.Tests.Policy;

/// <summary>
/// Istio YAML run through the real control plane (<c>ManifestParser</c> → <c>SnapshotBuilder</c>), giving the
/// <c>istio.workload.Address</c> and <c>istio.security.Authorization</c> resources it would serve to node agents.
/// Tests built on it go YAML → control plane conversion → agent store → agent evaluation.
/// The fixtures are the control plane's own (<c>tests/Ambient.ControlPlane.Tests/Fixtures/&lt;case&gt;/*.yaml</c>).
/// </summary>
public sealed class IstioConfig
{
    private IstioConfig(string name, IReadOnlyList<(string Name, Proto.Address Address)> addresses,
        IReadOnlyDictionary<string, ProtoSecurity.Authorization> policies, IReadOnlyList<string> warnings)
    {
        Name = name;
        Addresses = addresses;
        Policies = policies;
        Warnings = warnings;
    }

    public string Name { get; }
    public IReadOnlyList<(string Name, Proto.Address Address)> Addresses { get; }

    /// <summary>By resource name, <c>ns/name</c>.</summary>
    public IReadOnlyDictionary<string, ProtoSecurity.Authorization> Policies { get; }

    /// <summary>The control plane's warnings (rules only a waypoint can enforce).</summary>
    public IReadOnlyList<string> Warnings { get; }

    public static string FixturesRoot =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SourceFile())!, "..", "..", "Ambient.ControlPlane.Tests", "Fixtures"));

    /// <summary>One of the control plane's fixture folders (every <c>*.yaml</c> in it).</summary>
    public static IstioConfig Fixture(string name)
    {
        var dir = Path.Combine(FixturesRoot, name);
        Assert.True(Directory.Exists(dir), $"control plane fixture {dir} is missing");
        var files = Directory.EnumerateFiles(dir, "*.yaml").Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllText(f)));
        return Build(name, files);
    }

    public static IstioConfig Yaml(string yaml, [CallerMemberName] string name = "") => Build(name, [(name + ".yaml", yaml)]);

    private static IstioConfig Build(string name, IEnumerable<(string File, string Text)> files)
    {
        var objects = new List<KubeObject>();
        foreach (var (file, text) in files)
        {
            var result = ManifestParser.Parse(file, text);
            Assert.True(result.Ok, $"{name}/{file} does not parse:\n{string.Join("\n", result.Errors.Select(e => e.Message))}");
            objects.AddRange(result.Objects);
        }
        var builder = new SnapshotBuilder(new MeshOptions());
        var snapshot = builder.Build(new ClusterState(objects));
        var addresses = snapshot.Get(TypeUrls.Address).Items.Values.OrderBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => (r.Name, r.Any.Unpack<Proto.Address>())).ToList();
        var policies = snapshot.Get(TypeUrls.Authorization).Items.Values
            .ToDictionary(r => r.Name, r => r.Any.Unpack<ProtoSecurity.Authorization>(), StringComparer.Ordinal);
        return new IstioConfig(name, addresses, policies, builder.Warnings);
    }

    /// <summary>
    /// A store holding every workload and service, and the policies named in <paramref name="only"/> (all when empty).
    /// Workloads keep their full policy lists; keys the store lacks are skipped by the evaluator, as by ztunnel.
    /// </summary>
    public WorkloadStore Store(params string[] only)
    {
        var store = WorkloadsOnly();
        foreach (var key in only)
            Assert.True(Policies.ContainsKey(key), $"{Name}: the control plane serves no policy {key} (it serves {string.Join(", ", Policies.Keys)})");
        var chosen = only.Length == 0 ? Policies.Keys.ToArray() : only;
        if (chosen.Length > 0)
            ApplyPolicies(store, [.. chosen.Select(k => (k, Policies[k]))]);
        return store;
    }

    /// <summary>The workloads and services only: no policy served.</summary>
    public WorkloadStore WorkloadsOnly()
    {
        var store = new WorkloadStore();
        store.ApplyAddresses(new DeltaUpdate<Proto.Address>(TypeUrls.Address,
            [.. Addresses.Select(a => new DeltaResource<Proto.Address>(a.Name, "v1", a.Address))], [], "1", false));
        return store;
    }

    /// <summary>A copy of a served policy, to edit (e.g. isolate one of its matches).</summary>
    public ProtoSecurity.Authorization Policy(string key) =>
        Policies.TryGetValue(key, out var p) ? p.Clone() : throw new InvalidOperationException($"{Name}: no policy {key}");

    /// <summary>A copy of a served workload, to edit and re-apply.</summary>
    public Proto.Workload Workload(string ns, string name) =>
        Addresses.Single(a => a.Name == $"Kubernetes//Pod/{ns}/{name}").Address.Workload.Clone();

    /// <summary>Applies this configuration's policies (all, or those named) to <paramref name="store"/>.</summary>
    public void ServeTo(WorkloadStore store, params string[] only) =>
        ApplyPolicies(store, [.. (only.Length == 0 ? Policies.Keys.ToArray() : only).Select(k => (k, Policies[k]))]);

    public static void ApplyPolicies(WorkloadStore store, params (string Key, ProtoSecurity.Authorization Policy)[] policies) =>
        store.ApplyAuthorizations(new DeltaUpdate<ProtoSecurity.Authorization>(TypeUrls.Authorization,
            [.. policies.Select(p => new DeltaResource<ProtoSecurity.Authorization>(p.Key, "v1", p.Policy))], [], "1", false));

    public static void ApplyWorkload(WorkloadStore store, Proto.Workload w) =>
        store.ApplyAddresses(new DeltaUpdate<Proto.Address>(TypeUrls.Address, [new(w.Uid, "v2", new Proto.Address { Workload = w })], [], "2", false));

    public static void RemovePolicies(WorkloadStore store, params string[] keys) =>
        store.ApplyAuthorizations(new DeltaUpdate<ProtoSecurity.Authorization>(TypeUrls.Authorization, [], keys, "1", false));

    private static string SourceFile([CallerFilePath] string path = "") => path;
}

/// <summary>Connections to a configuration's workloads, as the inbound handler would describe them.</summary>
public static class Conn
{
    /// <summary>
    /// To pod <paramref name="ns"/>/<paramref name="pod"/> (first address) on <paramref name="port"/>, from
    /// <paramref name="sourceIp"/> with identity <paramref name="principal"/> (<c>td/ns/N/sa/S</c> or a SPIFFE URI;
    /// null: plaintext).
    /// </summary>
    public static ConnectionFacts To(WorkloadSnapshot snapshot, string ns, string pod, int port = 8080, string? principal = null, string sourceIp = "10.244.5.5")
    {
        var w = snapshot.FindPodWorkload(ns, pod) ?? throw new InvalidOperationException($"no workload {ns}/{pod}");
        return new ConnectionFacts(w, w.Addresses[0], port, IPAddress.Parse(sourceIp), Identity(principal));
    }

    public static PeerIdentity? Identity(string? principal) =>
        principal is null ? null : PeerIdentity.Parse(principal.StartsWith("spiffe://", StringComparison.Ordinal) ? principal : "spiffe://" + principal);

    /// <summary><c>cluster.local/ns/<paramref name="ns"/>/sa/<paramref name="sa"/></c>.</summary>
    public static string Sa(string ns, string sa) => $"cluster.local/ns/{ns}/sa/{sa}";
}
