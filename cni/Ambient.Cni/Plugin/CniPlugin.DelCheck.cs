using System.Net;
using System.Text.Json;
using Ambient.Net.Cni;

namespace Ambient.Cni.Plugin;

internal sealed partial class CniPlugin
{
    /// <summary>
    /// DEL: tell the agent, best effort. It always succeeds: the netns may be gone and the agent may be
    /// down (it reconciles from its pod informer when it is back), and a failing DEL would wedge the
    /// runtime's sandbox teardown.
    /// </summary>
    private async Task<int> DelAsync(CniEnvironment env, PluginConfig config, CancellationToken ct)
    {
        if (!env.Args.IsKubernetesPod)
        {
            _log.Debug("not a Kubernetes pod: nothing to tell the agent");
            return 0;
        }

        using var agent = new AgentClient(config.AgentSocket, Min(config.AgentTimeout, BestEffortTimeout));
        try
        {
            var reply = await agent.PostAsync(PodHandoff.DelPath, PodRequestJson(env), ct).ConfigureAwait(false);
            if (reply.Status == HttpStatusCode.OK)
            {
                _log.Info("released by the ambient agent");
            }
            else
            {
                _log.Warn($"ambient agent at {agent.SocketPath} answered DEL with HTTP {(int)reply.Status}: " +
                    $"{TryRead(reply.Body, PodHandoffJson.Default.PodErrorResponse)?.Error ?? Excerpt(reply.Body)}; it reconciles the pod on its own");
            }
        }
        catch (Exception e) when (AgentClient.IsUnreachable(e))
        {
            _log.Info($"ambient agent at {agent.SocketPath} did not answer DEL ({agent.Describe(e)}); it cleans up from its pod informer");
        }

        return 0;
    }

    /// <summary>
    /// CHECK: fails only when the agent says the pod is enrolled but not captured (409), the one state in
    /// which the pod's traffic bypasses the mesh. Agent down or any other answer: succeed (nothing known
    /// to be wrong). With failPolicy open even a 409 is only a warning, as it would have been at ADD.
    /// </summary>
    private async Task<int> CheckAsync(CniEnvironment env, PluginConfig config, CancellationToken ct)
    {
        if (!env.Args.IsKubernetesPod)
        {
            return 0;
        }

        using var agent = new AgentClient(config.AgentSocket, Min(config.AgentTimeout, BestEffortTimeout));
        AgentReply reply;
        try
        {
            reply = await agent.PostAsync(PodHandoff.CheckPath, PodRequestJson(env), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (AgentClient.IsUnreachable(e))
        {
            _log.Info($"ambient agent at {agent.SocketPath} did not answer CHECK ({agent.Describe(e)}); nothing known to be wrong");
            return 0;
        }

        var error = TryRead(reply.Body, PodHandoffJson.Default.PodErrorResponse)?.Error ?? Excerpt(reply.Body);
        if (reply.Status == HttpStatusCode.Conflict)
        {
            var message = $"pod {env.Args.PodNamespace}/{env.Args.PodName} is enrolled in the ambient mesh but its traffic is not captured: {error}";
            if (config.FailPolicy != FailPolicy.Open)
            {
                throw new CniException(CniErrorCode.PodNotCaptured, message,
                    "the ambient agent has not programmed redirection in the pod's netns; check its log for this pod");
            }

            _log.Warn($"{message}; failPolicy is open, so CHECK passes");
        }
        else if (reply.Status != HttpStatusCode.OK)
        {
            _log.Warn($"ambient agent at {agent.SocketPath} answered CHECK with HTTP {(int)reply.Status}: {error}");
        }

        return 0;
    }

    private static byte[] PodRequestJson(CniEnvironment env) => JsonSerializer.SerializeToUtf8Bytes(new PodRequest
    {
        ContainerId = env.ContainerId,
        Netns = env.Netns,
        PodName = env.Args.PodName!,
        PodNamespace = env.Args.PodNamespace!,
        PodUid = env.Args.PodUid ?? "",
        IfName = env.IfName,
    }, PodHandoffJson.Default.PodRequest);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
