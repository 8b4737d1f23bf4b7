using System.Net;
using System.Text;
using System.Text.Json;
using Ambient.Net.Cni;

namespace Ambient.Cni.Plugin;

internal sealed partial class CniPlugin
{
    private const string AgentHint =
        "check that the ambient agent pod on this node is running and ready, and that agentSocket in the ambient-cni " +
        "entry of the CNI config is the socket it serves";

    /// <summary>
    /// ADD: hand the pod to the agent and pass prevResult through. The agent answers only once the pod is
    /// captured or known not to be enrolled, so a success here means no traffic escapes the mesh.
    /// </summary>
    private async Task<int> AddAsync(CniEnvironment env, PluginConfig config, CancellationToken ct)
    {
        if (config.PrevResult is not { } prev)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                "ambient-cni must be chained after the primary CNI: the config has no prevResult",
                "put ambient-cni after the primary plugin in the plugins list of a .conflist (`ambient-cni install` does this); it does not create interfaces itself");
        }

        var ips = PrevResult.ReadIps(prev);
        var output = PrevResult.Render(prev, config.CniVersion);
        if (!env.Args.IsKubernetesPod)
        {
            _log.Info("not a Kubernetes pod (no K8S_POD_NAME/K8S_POD_NAMESPACE in CNI_ARGS): passing prevResult through");
            WriteStdout(output);
            return 0;
        }

        var request = new PodAddRequest
        {
            ContainerId = env.ContainerId,
            Netns = env.Netns,
            PodName = env.Args.PodName!,
            PodNamespace = env.Args.PodNamespace!,
            PodUid = env.Args.PodUid ?? "",
            IfName = env.IfName,
            Ips = ips,
        };

        using var agent = new AgentClient(config.AgentSocket, config.AgentTimeout);
        if (await HandOffAsync(agent, request, ct).ConfigureAwait(false) is { } failure)
        {
            var message = $"ambient agent at {agent.SocketPath} {failure.What}";
            if (config.FailPolicy != FailPolicy.Open)
            {
                throw new CniException(CniErrorCode.TryAgainLater,
                    $"{message}; the pod stays uncaptured and the runtime will retry", failure.Details);
            }

            _log.Warn($"{message}; failPolicy is open, so the pod starts outside the mesh");
        }

        WriteStdout(output);
        return 0;
    }

    /// <summary>POST /v1/cni/add; null when the agent confirmed, else what went wrong and what to check.</summary>
    private async Task<(string What, string Details)?> HandOffAsync(AgentClient agent, PodAddRequest request, CancellationToken ct)
    {
        var pod = $"{request.PodNamespace}/{request.PodName}";
        AgentReply reply;
        try
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(request, PodHandoffJson.Default.PodAddRequest);
            reply = await agent.PostAsync(PodHandoff.AddPath, body, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (AgentClient.IsUnreachable(e))
        {
            return ($"did not answer: {agent.Describe(e)}", AgentHint);
        }

        if (reply.Status == HttpStatusCode.OK)
        {
            var answer = TryRead(reply.Body, PodHandoffJson.Default.PodAddResponse);
            switch (answer?.Result)
            {
                case PodHandoff.ResultCaptured:
                    _log.Info($"captured by the ambient agent{Suffix(answer.Message)}");
                    return null;
                case PodHandoff.ResultNotEnrolled:
                    _log.Info($"not enrolled in the mesh: passing through{Suffix(answer.Message)}");
                    return null;
                default:
                    return ($"gave an unexpected answer to ADD: {Excerpt(reply.Body)}",
                        "the agent and ambient-cni disagree on the pod handoff protocol; check that both come from the same release");
            }
        }

        var error = TryRead(reply.Body, PodHandoffJson.Default.PodErrorResponse)?.Error ?? Excerpt(reply.Body);
        return ($"could not capture pod {pod} (HTTP {(int)reply.Status}): {error}",
            "check the ambient agent's log for this pod");
    }

    private static T? TryRead<T>(byte[] body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return body.Length == 0 ? null : JsonSerializer.Deserialize(body, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A bounded, printable piece of a body we did not understand.</summary>
    private static string Excerpt(byte[] body)
    {
        if (body.Length == 0)
        {
            return "(empty body)";
        }

        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200)).ReplaceLineEndings(" ");
        return body.Length > 200 ? text + "…" : text;
    }

    private static string Suffix(string? message) => string.IsNullOrEmpty(message) ? "" : $" ({message})";
}
