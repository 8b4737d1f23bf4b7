namespace Ambient.Cni.Plugin;

internal sealed partial class CniPlugin
{
    /// <summary>
    /// STATUS (1.1): ready when the agent answers HTTP on its socket. With failPolicy open ADD succeeds
    /// without the agent, so the plugin stays "available" (a warning only): reporting 50 would make the
    /// runtime mark the node's network not ready, which is what failPolicy open asked not to happen.
    /// </summary>
    private async Task<int> StatusAsync(PluginConfig config, CancellationToken ct)
    {
        using var agent = new AgentClient(config.AgentSocket, Min(config.AgentTimeout, BestEffortTimeout));
        try
        {
            await agent.ProbeAsync(ct).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (AgentClient.IsUnreachable(e))
        {
            var message = $"ambient agent at {agent.SocketPath} did not answer: {agent.Describe(e)}";
            if (config.FailPolicy == FailPolicy.Open)
            {
                _log.Warn($"{message}; failPolicy is open, so new pods start outside the mesh");
                return 0;
            }

            throw new CniException(CniErrorCode.PluginNotAvailable, $"{message}; new pods cannot be captured", AgentHint);
        }
    }
}
