using System.Collections.Immutable;
using System.Net;
using Ambient.Xds.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Address = Ambient.Xds.Protos.Workload.Address;
using ProtoAuthorization = Ambient.Xds.Protos.Security.Authorization;

namespace Ambient.Agent.State;

/// <summary>What one applied update changed (resource names), and the snapshot version it produced.</summary>
public sealed record WorkloadStoreChange(long Version, IReadOnlySet<string> Workloads, IReadOnlySet<string> Services, IReadOnlySet<string> Policies);

/// <summary>
/// The agent's workloads, services and policies, fed by <see cref="DeltaAdsClient"/> (types Address and
/// Authorization). Each update is converted and validated first — a bad one throws <see cref="XdsRejectedException"/>
/// and changes nothing (the client NACKs) — then applied to a copy of the indexes and published as a new
/// <see cref="WorkloadSnapshot"/> in one reference swap. Readers (the data path, per connection) never lock.
/// </summary>
public sealed partial class WorkloadStore(ILogger<WorkloadStore>? logger = null)
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;
    private readonly Lock _write = new();
    private WorkloadSnapshot _current = WorkloadSnapshot.Empty;

    public WorkloadSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Raised after each applied update, outside the store's lock. Handlers must not block.</summary>
    public event Action<WorkloadStoreChange>? Changed;

    /// <summary>The handler for <c>istio.workload.Address</c> responses.</summary>
    public void ApplyAddresses(DeltaUpdate<Address> update)
    {
        var items = new List<(string Name, Workload? Workload, Service? Service)>(update.Updated.Count);
        foreach (var r in update.Updated)
        {
            items.Add(r.Resource.TypeCase switch
            {
                Address.TypeOneofCase.Workload => (r.Name, WdsConversion.ToWorkload(r.Name, r.Resource.Workload), null),
                Address.TypeOneofCase.Service => (r.Name, null, WdsConversion.ToService(r.Name, r.Resource.Service)),
                _ => throw new XdsRejectedException($"address {r.Name} is neither a workload nor a service"),
            });
        }

        WorkloadStoreChange change;
        lock (_write)
        {
            var b = new Builder(_current);
            foreach (var name in update.Removed)
            {
                b.RemoveWorkload(name);
                b.RemoveService(name);
            }
            foreach (var (name, workload, service) in items)
            {
                b.RemoveWorkload(name);
                b.RemoveService(name);
                if (workload is not null)
                    b.AddWorkload(name, workload);
                else
                    b.AddService(name, service!);
            }
            var next = b.Build();
            Volatile.Write(ref _current, next);
            change = new WorkloadStoreChange(next.Version, b.ChangedWorkloads, b.ChangedServices, new HashSet<string>());
        }
        Log.Applied(_logger, change.Workloads.Count, change.Services.Count, change.Policies.Count, change.Version);
        Changed?.Invoke(change);
    }

    /// <summary>The handler for <c>istio.security.Authorization</c> responses.</summary>
    public void ApplyAuthorizations(DeltaUpdate<ProtoAuthorization> update)
    {
        var items = update.Updated.Select(r => (r.Name, Policy: WdsConversion.ToPolicy(r.Name, r.Resource))).ToList();
        WorkloadStoreChange change;
        lock (_write)
        {
            var b = new Builder(_current);
            foreach (var name in update.Removed)
                b.RemovePolicy(name);
            foreach (var (name, policy) in items)
                b.SetPolicy(name, policy);
            var next = b.Build();
            Volatile.Write(ref _current, next);
            change = new WorkloadStoreChange(next.Version, new HashSet<string>(), new HashSet<string>(), b.ChangedPolicies);
        }
        Log.Applied(_logger, 0, 0, change.Policies.Count, change.Version);
        Changed?.Invoke(change);
    }

    /// <summary>Copy-on-write edit of a snapshot's maps and indexes.</summary>
    private sealed class Builder(WorkloadSnapshot from)
    {
        private readonly ImmutableDictionary<string, Workload>.Builder _workloads = from.Workloads.ToBuilder();
        private readonly ImmutableDictionary<string, Service>.Builder _services = from.Services.ToBuilder();
        private readonly ImmutableDictionary<string, AuthorizationPolicy>.Builder _policies = from.Policies.ToBuilder();
        private readonly ImmutableDictionary<IPAddress, ImmutableArray<string>>.Builder _byIp = from.WorkloadsByIp.ToBuilder();
        private readonly ImmutableDictionary<IPAddress, string>.Builder _byVip = from.ServicesByVip.ToBuilder();
        private readonly ImmutableDictionary<string, ImmutableSortedDictionary<string, Workload>>.Builder _endpoints = from.Endpoints.ToBuilder();
        private readonly ImmutableDictionary<string, string>.Builder _pods = from.PodWorkloads.ToBuilder();

        public HashSet<string> ChangedWorkloads { get; } = new(StringComparer.Ordinal);
        public HashSet<string> ChangedServices { get; } = new(StringComparer.Ordinal);
        public HashSet<string> ChangedPolicies { get; } = new(StringComparer.Ordinal);

        public void RemoveWorkload(string name)
        {
            if (!_workloads.TryGetValue(name, out var old))
                return;
            _workloads.Remove(name);
            ChangedWorkloads.Add(name);
            if (!old.HostNetwork)
            {
                foreach (var ip in old.Addresses)
                {
                    var key = WorkloadSnapshot.Normalize(ip);
                    if (_byIp.TryGetValue(key, out var names))
                    {
                        names = names.Remove(name);
                        if (names.IsEmpty)
                            _byIp.Remove(key);
                        else
                            _byIp[key] = names;
                    }
                }
            }
            foreach (var svc in old.Services.Keys)
            {
                if (_endpoints.TryGetValue(svc, out var eps))
                {
                    eps = eps.Remove(old.Uid);
                    if (eps.IsEmpty)
                        _endpoints.Remove(svc);
                    else
                        _endpoints[svc] = eps;
                }
            }
            var pod = $"{old.Namespace}/{old.Name}";
            if (_pods.TryGetValue(pod, out var owner) && owner == name)
                _pods.Remove(pod);
        }

        public void AddWorkload(string name, Workload w)
        {
            _workloads[name] = w;
            ChangedWorkloads.Add(name);
            if (!w.HostNetwork)
            {
                foreach (var ip in w.Addresses)
                {
                    var key = WorkloadSnapshot.Normalize(ip);
                    // The most recent holder of an address wins lookups; an earlier one takes over if it leaves.
                    _byIp[key] = _byIp.TryGetValue(key, out var names) ? names.Remove(name).Add(name) : [name];
                }
            }
            foreach (var svc in w.Services.Keys)
            {
                var eps = _endpoints.TryGetValue(svc, out var e) ? e : ImmutableSortedDictionary.Create<string, Workload>(StringComparer.Ordinal);
                _endpoints[svc] = eps.SetItem(w.Uid, w);
            }
            if (w.Uid.Contains("//Pod/", StringComparison.Ordinal))
                _pods[$"{w.Namespace}/{w.Name}"] = name;
        }

        public void RemoveService(string name)
        {
            if (!_services.TryGetValue(name, out var old))
                return;
            _services.Remove(name);
            ChangedServices.Add(name);
            foreach (var a in old.Addresses)
            {
                var key = WorkloadSnapshot.Normalize(a.Address);
                if (_byVip.TryGetValue(key, out var owner) && owner == name)
                    _byVip.Remove(key);
            }
        }

        public void AddService(string name, Service s)
        {
            _services[name] = s;
            ChangedServices.Add(name);
            foreach (var a in s.Addresses)
            {
                // A CIDR (prefix shorter than the address) is a range, not a VIP: not indexed.
                if (a.PrefixLength is null || a.PrefixLength == a.Address.GetAddressBytes().Length * 8)
                    _byVip[WorkloadSnapshot.Normalize(a.Address)] = name;
            }
        }

        public void RemovePolicy(string name)
        {
            if (_policies.Remove(name))
                ChangedPolicies.Add(name);
        }

        public void SetPolicy(string name, AuthorizationPolicy policy)
        {
            _policies[name] = policy;
            ChangedPolicies.Add(name);
        }

        public WorkloadSnapshot Build() => new(from.Version + 1, _workloads.ToImmutable(), _services.ToImmutable(), _policies.ToImmutable(),
            _byIp.ToImmutable(), _byVip.ToImmutable(), _endpoints.ToImmutable(), _pods.ToImmutable());
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 600, Level = LogLevel.Debug, Message = "Workload store v{Version}: {Workloads} workloads, {Services} services, {Policies} policies changed")]
        public static partial void Applied(ILogger logger, int workloads, int services, int policies, long version);
    }
}
