using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Ambient.Net.Cni;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ambient.Cni.Tests.Testing;

/// <summary>
/// The node agent's side of <see cref="PodHandoff"/>: Kestrel on a Unix socket serving the three
/// endpoints with scripted answers, recording every request body.
/// </summary>
public sealed class FakeAgent : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeAgent(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>(path, JSON body) of every request, in arrival order.</summary>
    public ConcurrentQueue<(string Path, string Body)> Requests { get; } = new();

    public int AddStatus { get; set; } = 200;
    public string AddBody { get; set; } = """{"result":"captured"}""";
    public int CheckStatus { get; set; } = 200;
    public string CheckBody { get; set; } = """{"result":"captured"}""";

    /// <summary>When set, ADD never answers (until the agent is disposed).</summary>
    public bool HangOnAdd { get; set; }

    public static async Task<FakeAgent> StartAsync(string socketPath)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath));
        var app = builder.Build();
        var agent = new FakeAgent(app, socketPath);
        app.MapPost(PodHandoff.AddPath, async ctx =>
        {
            await agent.RecordAsync(ctx);
            if (agent.HangOnAdd)
            {
                await agent._release.Task.WaitAsync(ctx.RequestAborted);
            }

            await Reply(ctx, agent.AddStatus, agent.AddBody);
        });
        app.MapPost(PodHandoff.CheckPath, async ctx =>
        {
            await agent.RecordAsync(ctx);
            await Reply(ctx, agent.CheckStatus, agent.CheckBody);
        });
        app.MapPost(PodHandoff.DelPath, async ctx =>
        {
            await agent.RecordAsync(ctx);
            await Reply(ctx, 200, "{}");
        });
        await app.StartAsync();
        return agent;
    }

    /// <summary>The single ADD request received, decoded with the contract's own JSON context.</summary>
    public PodAddRequest SingleAdd()
    {
        var adds = Requests.Where(r => r.Path == PodHandoff.AddPath).ToList();
        Xunit.Assert.Single(adds);
        return JsonSerializer.Deserialize(adds[0].Body, PodHandoffJson.Default.PodAddRequest)!;
    }

    public async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task RecordAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        Requests.Enqueue((ctx.Request.Path.Value ?? "", await reader.ReadToEndAsync(ctx.RequestAborted)));
    }

    private static async Task Reply(HttpContext ctx, int status, string body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body, ctx.RequestAborted);
    }
}
