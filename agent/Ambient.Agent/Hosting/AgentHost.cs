using Ambient.Agent.Admin;
using Ambient.Agent.Identity;
using Ambient.Agent.InPod;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Hosting;

/// <summary>Builds the agent's host: Kestrel (CNI socket + admin), the capture manager, the enrollment watcher.</summary>
public static class AgentHost
{
    /// <param name="configureServices">Runs before the agent's registrations: register State/ implementations here (tests: fakes).</param>
    /// <param name="configureLogging">Replaces the console logging setup (tests capture logs).</param>
    public static WebApplication Build(AgentOptions options, Action<IServiceCollection>? configureServices = null, Action<ILoggingBuilder>? configureLogging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        }
        else
        {
            configureLogging(builder.Logging);
        }
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => AgentListeners.Configure(k, options));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

        configureServices?.Invoke(builder.Services);
        builder.Services.AddAmbientAgent(options);

        var app = builder.Build();
        // Resolved on first use, like the rest of the data path: a bad --ca-root-cert must fail StartAsync with its
        // message, not Build (the capture manager depends on the identities, which read the root file).
        var manager = new Lazy<PodCaptureManager>(() => app.Services.GetRequiredService<PodCaptureManager>());
        var metrics = app.Services.GetRequiredService<AgentMetrics>();
        var readiness = app.Services.GetRequiredService<Readiness>();
        var cniLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Ambient.Agent.InPod.Cni");
        app.Run(context => AgentListeners.ListenerOf(context) switch
        {
            AgentListeners.Cni => CniEndpoints.HandleAsync(context, manager.Value, cniLogger),
            AgentListeners.Admin => AdminEndpoints.HandleAsync(context, metrics, readiness, manager.Value,
                app.Services.GetService<WorkloadCertificateManager>()), // resolved on use: a bad root file fails StartAsync, not Build
            _ => Reject(context),
        });
        app.Lifetime.ApplicationStarted.Register(() => AgentListeners.RestrictSocket(options.CniSocket));
        return app;
    }

    private static Task Reject(HttpContext context)
    {
        context.Response.StatusCode = 404;
        return Task.CompletedTask;
    }
}
