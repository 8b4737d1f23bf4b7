using System.Text;
using System.Text.Json;
using Ambient.Agent.Identity;
using Ambient.Agent.InPod;
using Microsoft.AspNetCore.Http;

namespace Ambient.Agent.Admin;

/// <summary>
/// Admin, metrics and readiness on <c>--admin-address</c> (and <c>--admin-socket</c>), off the data plane:
/// <code>
///   GET /metrics, /stats/prometheus  Prometheus text (istio_tcp_*, ambient_agent_captured_pods)
///   GET /healthz/ready               200 when ready, 503 with the pending tasks otherwise
///   GET /pods                        the pod registry with live listeners and connection counts (JSON)
///   GET /certs                       workload certificates held or being fetched (JSON; [] without a CA)
/// </code>
/// </summary>
public static class AdminEndpoints
{
    public static async Task HandleAsync(HttpContext context, AgentMetrics metrics, Readiness readiness, PodCaptureManager manager,
        WorkloadCertificateManager? certificates = null)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = 405;
            return;
        }
        var ct = context.RequestAborted;
        switch (context.Request.Path.Value)
        {
            case "/metrics":
            case "/stats/prometheus":
                context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                var page = metrics.Render();
                if (certificates is not null)
                {
                    var sb = new StringBuilder(page, page.Length + 1024);
                    certificates.WriteMetrics(sb);
                    page = sb.ToString();
                }
                await context.Response.WriteAsync(page, ct).ConfigureAwait(false);
                break;
            case "/healthz/ready":
                var pending = readiness.Pending;
                context.Response.StatusCode = pending.Count == 0 ? 200 : 503;
                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body, new ReadinessReport(pending.Count == 0, pending), AdminJson.Default.ReadinessReport, ct).ConfigureAwait(false);
                break;
            case "/pods":
                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body, manager.Status(), AdminJson.Default.IReadOnlyListPodStatus, ct).ConfigureAwait(false);
                break;
            case "/certs":
                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body, certificates?.Status() ?? [], AdminJson.Default.IReadOnlyListCertificateStatus, ct).ConfigureAwait(false);
                break;
            default:
                context.Response.StatusCode = 404;
                await context.Response.WriteAsync("endpoints: /metrics /stats/prometheus /healthz/ready /pods /certs\n", ct).ConfigureAwait(false);
                break;
        }
    }
}
