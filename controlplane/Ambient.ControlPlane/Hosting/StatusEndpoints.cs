using System.Text.Json;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ambient.ControlPlane.Hosting;

/// <summary>Readiness, metrics and debug views, on the status port only (never on the xDS port).</summary>
public static class StatusEndpoints
{
    public static void MapStatusEndpoints(this IEndpointRouteBuilder app, string host)
    {
        app.MapGet("/ready", (SnapshotCache cache) => Ready(cache)).RequireHost(host);
        app.MapGet("/healthz/ready", (SnapshotCache cache) => Ready(cache)).RequireHost(host);
        app.MapGet("/metrics", (ControlPlaneMetrics m) => Results.Text(m.Render(), "text/plain; version=0.0.4")).RequireHost(host);
        app.MapGet("/debug/snapshot", (SnapshotCache cache) =>
        {
            var s = cache.Current;
            var body = new
            {
                version = s.Version,
                types = s.Types.ToDictionary(t => t.Key, t => t.Value.Items.Values.OrderBy(r => r.Name, StringComparer.Ordinal)
                    .Select(r => new { name = r.Name, version = r.Version })),
            };
            return Results.Json(body, JsonOptions);
        }).RequireHost(host);
        app.MapGet("/debug/config_errors", (IServiceProvider sp) =>
        {
            var files = sp.GetService(typeof(FileSource)) as FileSource;
            var errors = files?.Errors.SelectMany(kv => kv.Value).Select(e => new { file = e.File, line = e.Line, field = e.Field, reason = e.Reason });
            return Results.Json(errors ?? [], JsonOptions);
        }).RequireHost(host);
        app.MapGet("/debug/policy_warnings", (SnapshotBuilder b) => Results.Json(b.Warnings, JsonOptions)).RequireHost(host);
    }

    private static IResult Ready(SnapshotCache cache) =>
        cache.HasSnapshot ? Results.Text("ready\n") : Results.Text("waiting for the first full config load\n", statusCode: 503);

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
