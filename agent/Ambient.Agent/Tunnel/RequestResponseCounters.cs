using Ambient.Agent.Admin;
using Ambient.Hbone;

namespace Ambient.Agent.Tunnel;

/// <summary>
/// Maps <see cref="HboneRelay"/>'s socket→stream / stream→socket byte counts onto Istio's request/response counters.
/// Outbound the socket is the app (socket→stream = request); inbound it is the upstream app (socket→stream = response).
/// </summary>
internal sealed class RequestResponseCounters(TcpCounters counters, bool socketIsClient = true) : IRelayCounters
{
    public void Sent(long bytes)
    {
        if (socketIsClient)
            counters.AddReceived(bytes);
        else
            counters.AddSent(bytes);
    }

    public void Received(long bytes)
    {
        if (socketIsClient)
            counters.AddSent(bytes);
        else
            counters.AddReceived(bytes);
    }
}
