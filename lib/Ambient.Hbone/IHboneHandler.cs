namespace Ambient.Hbone;

/// <summary>Serves one inbound CONNECT. Should not throw; if it does, the server resets the stream.</summary>
public interface IHboneHandler
{
    Task HandleAsync(HboneInboundRequest request, CancellationToken ct);
}
