using System.Text.Json;
using Ambient.Net.Cni;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.InPod;

/// <summary>
/// The CNI plugin → agent handoff (<see cref="PodHandoff"/>): HTTP/1.1 on the agent's Unix socket.
/// ADD answers only after capture (or "not-enrolled"); errors are <see cref="PodErrorResponse"/> with a 4xx/5xx,
/// which makes the plugin fail the ADD (fail closed). DEL always answers 200.
/// </summary>
public static partial class CniEndpoints
{
    public static async Task HandleAsync(HttpContext context, PodCaptureManager manager, ILogger logger)
    {
        var ct = context.RequestAborted;
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await WriteErrorAsync(context, 405, "CNI endpoints take POST").ConfigureAwait(false);
            return;
        }
        try
        {
            switch (context.Request.Path.Value)
            {
                case PodHandoff.AddPath:
                {
                    var request = await ReadAsync(context, PodHandoffJson.Default.PodAddRequest).ConfigureAwait(false);
                    var response = await manager.AddAsync(request, ct).ConfigureAwait(false);
                    await WriteAsync(context, 200, response).ConfigureAwait(false);
                    break;
                }
                case PodHandoff.CheckPath:
                {
                    var request = await ReadAsync(context, PodHandoffJson.Default.PodRequest).ConfigureAwait(false);
                    var (status, ok, error) = await manager.CheckAsync(request, ct).ConfigureAwait(false);
                    if (ok is not null)
                    {
                        await WriteAsync(context, status, ok).ConfigureAwait(false);
                    }
                    else
                    {
                        await WriteErrorAsync(context, status, error ?? "not captured").ConfigureAwait(false);
                    }
                    break;
                }
                case PodHandoff.DelPath:
                {
                    PodRequest? request = null;
                    try
                    {
                        request = await ReadAsync(context, PodHandoffJson.Default.PodRequest).ConfigureAwait(false);
                        await manager.DelAsync(request, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // DEL never fails: a pod that cannot be torn down must still be deletable.
                        DelFailed(logger, request is null ? "?" : request.PodNamespace + "/" + request.PodName, e);
                    }
                    context.Response.StatusCode = 200;
                    break;
                }
                default:
                    await WriteErrorAsync(context, 404, $"unknown CNI path {context.Request.Path}").ConfigureAwait(false);
                    break;
            }
        }
        catch (CniRequestException e)
        {
            await WriteErrorAsync(context, e.StatusCode, e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or BadHttpRequestException or InvalidDataException)
        {
            await WriteErrorAsync(context, 400, "malformed CNI request: " + e.Message).ConfigureAwait(false);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : PodRequest
    {
        var value = await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted).ConfigureAwait(false);
        if (value is null || string.IsNullOrEmpty(value.PodName) || string.IsNullOrEmpty(value.PodNamespace))
        {
            throw new InvalidDataException("podName and podNamespace are required");
        }
        return value;
    }

    private static Task WriteAsync(HttpContext context, int status, PodAddResponse response)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, response, PodHandoffJson.Default.PodAddResponse, context.RequestAborted);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new PodErrorResponse(error), PodHandoffJson.Default.PodErrorResponse, context.RequestAborted);
    }

    [LoggerMessage(EventId = 330, Level = LogLevel.Warning, Message = "CNI DEL for pod {Pod} failed; answered 200 anyway")]
    private static partial void DelFailed(ILogger logger, string pod, Exception e);
}
