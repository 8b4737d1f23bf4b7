using Ambient.Agent.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

// ambient-agent: CNI socket (pod ADD/CHECK/DEL) → PodCaptureManager (rules + in-pod listeners, persisted registry)
// → Outbound (15001) / Inbound (15006) handlers → SocketCopier; admin (/metrics, /healthz/ready, /pods) on --admin-address.
var command = AgentCommand.Create(RunAsync);
return await command.Parse(args).InvokeAsync();

static async Task<int> RunAsync(AgentOptions options, CancellationToken ct)
{
    var app = AgentHost.Build(options, services =>
    {
        // State/ seam: the ADS client (lib/Ambient.Xds/Client, options.XdsAddress / options.XdsSocket, options.Node) and
        // the WorkloadStore register IEnrollment, IDestinationResolver and IRedirectionReporter here, e.g.
        //   services.AddWorkloadStore(options);
        _ = services;
    });
    try
    {
        await app.StartAsync(ct);
    }
    catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"ambient-agent: {e.Message}");
        return 1;
    }
    app.Logger.LogInformation("ambient-agent on node {Node}: CNI on unix:{Cni}, admin on {Admin}{AdminSocket}, state in {StateDir}",
        options.Node, options.CniSocket, options.AdminAddress, options.AdminSocket is null ? "" : " and unix:" + options.AdminSocket, options.StateDir);
    await app.WaitForShutdownAsync(ct);
    return 0;
}
