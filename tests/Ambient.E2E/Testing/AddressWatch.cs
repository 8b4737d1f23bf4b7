using System.Collections.Concurrent;
using Ambient.Xds;
using Ambient.Xds.Client;
using Ambient.Xds.Protos.Workload;

namespace Ambient.E2E.Testing;

/// <summary>
/// The control plane's WDS view, as a ztunnel would see it: a Delta ADS wildcard subscription to Address over the mesh's
/// TCP ADS port. Used to check what the control plane tells every node about a pod (its tunnel protocol).
/// </summary>
public sealed class AddressWatch : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Address> _addresses = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _cts = new();
    private readonly DeltaAdsClient _client;
    private readonly Task _run;

    private AddressWatch(string xdsAddress)
    {
        _client = new DeltaAdsClient(new DeltaAdsClientOptions
        {
            Address = xdsAddress,
            NodeId = "ztunnel~127.0.0.1~e2e-probe.istio-system~istio-system.svc.cluster.local",
            NodeMetadata = new Dictionary<string, string> { ["NAME"] = "e2e-probe", ["NAMESPACE"] = "istio-system" },
        });
        _client.Subscribe<Address>(TypeUrls.Address, update =>
        {
            foreach (var r in update.Updated)
            {
                _addresses[r.Name] = r.Resource;
            }
            foreach (var name in update.Removed)
            {
                _addresses.TryRemove(name, out _);
            }
        });
        _run = _client.RunAsync(_cts.Token);
    }

    public static AddressWatch Start(LocalMesh mesh) => new(mesh.XdsAddress);

    public Workload? Workload(string ns, string name) =>
        _addresses.Values.Where(a => a.TypeCase == Address.TypeOneofCase.Workload).Select(a => a.Workload)
            .FirstOrDefault(w => w.Namespace == ns && w.Name == name);

    public string Describe(string ns, string name) =>
        Workload(ns, name) is { } w ? $"workload {w.Uid}: tunnel {w.TunnelProtocol}" : $"no workload {ns}/{name} among {_addresses.Count} addresses (synced: {_client.Synced.IsCompleted})";

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }
        await _client.DisposeAsync();
        _cts.Dispose();
    }
}
