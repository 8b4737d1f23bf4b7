using System.Net;
using Ambient.Agent.Inbound;
using Ambient.Identity;

namespace Ambient.Agent.InPod.Defaults;

/// <summary>The seam's default until State/ is wired (unit tests of the data path): no policies, so everything is allowed.</summary>
public sealed class AllowAllAuthorizer : IInboundAuthorizer
{
    public InboundVerdict Check(CapturedPod pod, IPEndPoint destination, IPEndPoint? source, SpiffeId? principal) => InboundVerdict.AllowedNoPolicy;

    public IDisposable Track(CapturedPod pod, IPEndPoint destination, IPEndPoint? source, SpiffeId? principal, Action<string> abort) => NoTracking.Instance;

    private sealed class NoTracking : IDisposable
    {
        public static readonly NoTracking Instance = new();

        public void Dispose()
        {
        }
    }
}
