using Ambient.Agent.Hosting;
using Ambient.Agent.Policy;
using Ambient.Agent.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

// ambient-agent: CNI socket (pod ADD/CHECK/DEL) → PodCaptureManager (rules + in-pod listeners, persisted registry)
// → Outbound (15001: plain TCP or HBONE) / Inbound (15006 plaintext, 15008 HBONE; L4 policy) handlers; admin (/metrics, /healthz/ready, /pods) on --admin-address.
// Socket completions run their continuation on the epoll thread instead of waking a pool thread for it: every relayed read
// was an epoll-thread → pool-thread hop (two context switches on each agent per request on a keep-alive tunnel). The data
// path only awaits in those continuations (no sync-over-async). Read once, when the first socket is created, so this must
// come before anything opens one; an explicit setting in the environment wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

var command = AgentCommand.Create(RunAsync);
return await command.Parse(args).InvokeAsync();

static async Task<int> RunAsync(AgentOptions options, CancellationToken ct)
{
    // The state pipeline (Delta ADS → WorkloadStore, PodEnrollmentView, LoadBalancer, redirection reporter) registers
    // IEnrollment, IDestinationResolver and IRedirectionReporter before the data path's TryAdd defaults.
    var app = AgentHost.Build(options, services => services.AddWorkloadStore(options, new WorkloadStateOptions
    {
        StatusDirectory = options.PodStatusDir,
        Kubeconfig = options.Kubeconfig,
        InCluster = options.InCluster,
        RequireLocalNode = options.Kubeconfig is not null || options.InCluster,
    }).AddPolicyEnforcement());
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
