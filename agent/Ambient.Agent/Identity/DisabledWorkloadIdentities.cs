using Ambient.Identity;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ambient.Agent.Identity;

/// <summary>No CA configured: no identity is available, and the agent says so loudly when it starts.</summary>
public sealed class DisabledWorkloadIdentities(ILogger<DisabledWorkloadIdentities>? logger = null) : IWorkloadIdentities, IHostedService
{
    public bool Enabled => false;

    public TrustBundle TrustBundle =>
        throw new InvalidOperationException("no trust bundle: no CA is configured (--ca-address or --ca-socket with --ca-root-cert)");

    public ValueTask<WorkloadCertificate> GetAsync(SpiffeId id, CancellationToken ct) =>
        ValueTask.FromException<WorkloadCertificate>(new IdentityUnavailableException(id, CaFetchReason.Disabled,
            $"no certificate for {id}: no CA is configured (--ca-address or --ca-socket)"));

    public bool TryGetCached(SpiffeId id, out WorkloadCertificate cert)
    {
        cert = null!;
        return false;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        IdentityLog.Disabled(logger ?? (ILogger)NullLogger.Instance);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
