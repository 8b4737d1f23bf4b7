namespace Ambient.Net.Redirection;

/// <summary>
/// Programs, inspects and removes the in-pod traffic redirection (protocol-facts §b) inside one pod network
/// namespace, named by path. Implementations: <see cref="IptablesBackend"/> (iptables-nft, the default);
/// nftables and eBPF backends can follow behind the same contract.
/// <list type="bullet">
/// <item><see cref="ApplyAsync"/> is idempotent: applying twice gives the same state, and applying over a
/// partial or stale state repairs it.</item>
/// <item><see cref="RemoveAsync"/> removes everything the backend may have installed (also partial
/// leftovers) and succeeds when there is nothing to remove.</item>
/// </list>
/// </summary>
public interface IRedirectionBackend
{
    /// <summary>Short name for logs and /pods ("iptables").</summary>
    string Name { get; }

    Task ApplyAsync(string netnsPath, InPodRuleOptions options, CancellationToken cancellationToken);

    Task<RedirectionInspection> InspectAsync(string netnsPath, InPodRuleOptions options, CancellationToken cancellationToken);

    Task RemoveAsync(string netnsPath, CancellationToken cancellationToken);
}
