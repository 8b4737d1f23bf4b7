using System.Net;
using System.Threading.Channels;
using Ambient.Agent.Hosting;
using Ambient.Agent.InPod;
using Ambient.Agent.State;
using Ambient.Xds.Client;
using k8s;
using k8s.Autorest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Tests.State;

public sealed class RedirectionReporterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("amb-status-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task FileRedirectionReporter_Enabled_WritesThePodAnnotationsManifestTheControlPlaneReads()
    {
        var reporter = new FileRedirectionReporter(_dir);

        await reporter.ReportAsync(new PodRef("shop", "web-1.v2"), RedirectionStatus.Enabled, CancellationToken.None);

        var path = Path.Combine(_dir, "shop_web-1.v2.yaml");
        Assert.Equal(path, reporter.PathOf(new PodRef("shop", "web-1.v2")));
        // The exact contract Ambient.ControlPlane's parser accepts (tests/Ambient.ControlPlane.Tests/Enrollment).
        Assert.Equal("""
            # Written by ambient-agent: the pod's capture state, merged into the pod by the control plane.
            apiVersion: ambient.dev/v1alpha1
            kind: PodAnnotations
            metadata:
              name: web-1.v2
              namespace: shop
              annotations:
                ambient.istio.io/redirection: "enabled"

            """.ReplaceLineEndings("\n"), await File.ReadAllTextAsync(path));
        Assert.Equal(["shop_web-1.v2.yaml"], Directory.GetFiles(_dir).Select(Path.GetFileName)); // no temp file left
    }

    [Fact]
    public async Task FileRedirectionReporter_PendingThenDisabled_RewritesThenRemovesTheFile()
    {
        var reporter = new FileRedirectionReporter(Path.Combine(_dir, "created-on-demand"));
        var pod = new PodRef("shop", "a");

        await reporter.ReportAsync(pod, RedirectionStatus.Enabled, CancellationToken.None);
        await reporter.ReportAsync(pod, RedirectionStatus.Pending, CancellationToken.None);
        Assert.Contains("ambient.istio.io/redirection: \"pending\"", await File.ReadAllTextAsync(reporter.PathOf(pod)));

        await reporter.ReportAsync(pod, RedirectionStatus.Disabled, CancellationToken.None);
        Assert.False(File.Exists(reporter.PathOf(pod)));
        await reporter.ReportAsync(pod, RedirectionStatus.Disabled, CancellationToken.None); // idempotent
        Assert.Empty(Directory.GetFiles(reporter.StatusDirectory));
    }

    [Theory]
    [InlineData(RedirectionStatus.Enabled, """{"metadata":{"annotations":{"ambient.istio.io/redirection":"enabled"}}}""")]
    [InlineData(RedirectionStatus.Pending, """{"metadata":{"annotations":{"ambient.istio.io/redirection":"pending"}}}""")]
    [InlineData(RedirectionStatus.Disabled, """{"metadata":{"annotations":{"ambient.istio.io/redirection":null}}}""")]
    public async Task KubernetesRedirectionReporter_Status_MergePatchesPodStatusSubresource(RedirectionStatus status, string body)
    {
        await using var api = await FakeApiServer.StartAsync(HttpStatusCode.OK);
        var reporter = new KubernetesRedirectionReporter(api.Client());

        await reporter.ReportAsync(new PodRef("shop", "a"), status, CancellationToken.None);

        var request = await api.NextAsync();
        Assert.Equal("PATCH", request.Method);
        Assert.Equal("/api/v1/namespaces/shop/pods/a/status", request.Path);
        Assert.StartsWith("application/merge-patch+json", request.ContentType);
        Assert.Equal(body, request.Body);
    }

    [Fact]
    public async Task KubernetesRedirectionReporter_PodGone_RemovalIsFineButEnablingFails()
    {
        await using var api = await FakeApiServer.StartAsync(HttpStatusCode.NotFound);
        var reporter = new KubernetesRedirectionReporter(api.Client());

        await reporter.ReportAsync(new PodRef("shop", "gone"), RedirectionStatus.Disabled, CancellationToken.None);
        await Assert.ThrowsAsync<HttpOperationException>(() => reporter.ReportAsync(new PodRef("shop", "gone"), RedirectionStatus.Enabled, CancellationToken.None));
    }

    [Fact]
    public void AddWorkloadStore_XdsConfigured_RegistersTheDataPathSeamsAndTheClient()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var options = new AgentOptions { Node = "node-a", XdsSocket = "/run/ambient/xds.sock" };

        services.AddWorkloadStore(options, new WorkloadStateOptions { StatusDirectory = _dir });
        using var sp = services.BuildServiceProvider();

        Assert.IsType<EnrollmentAdapter>(sp.GetRequiredService<IEnrollment>());
        Assert.IsType<DestinationResolverAdapter>(sp.GetRequiredService<IDestinationResolver>());
        Assert.Equal(_dir, Assert.IsType<FileRedirectionReporter>(sp.GetRequiredService<IRedirectionReporter>()).StatusDirectory);
        Assert.Equal("/run/ambient/xds.sock", sp.GetRequiredService<DeltaAdsClient>().SocketPath);
        Assert.Contains(sp.GetServices<IHostedService>(), h => h is WorkloadStateService);
        var client = WorkloadStateServiceCollectionExtensions.ClientOptions(options, new WorkloadStateOptions());
        Assert.StartsWith("ztunnel~", client.NodeId);
        Assert.Equal("node-a", client.NodeMetadata["NODE_NAME"]);
    }

    [Fact]
    public void AddWorkloadStore_NoXdsAddress_RegistersNothing()
    {
        var services = new ServiceCollection();

        services.AddWorkloadStore(new AgentOptions(), new WorkloadStateOptions { StatusDirectory = _dir });

        Assert.Empty(services);
    }

    /// <summary>An in-test Kubernetes API endpoint that records requests and answers every one with one status.</summary>
    private sealed class FakeApiServer : IAsyncDisposable
    {
        public sealed record Recorded(string Method, string Path, string? ContentType, string Body);

        private readonly WebApplication _app;
        private readonly Channel<Recorded> _requests;

        private FakeApiServer(WebApplication app, Channel<Recorded> requests)
        {
            _app = app;
            _requests = requests;
        }

        public static async Task<FakeApiServer> StartAsync(HttpStatusCode status)
        {
            var requests = Channel.CreateUnbounded<Recorded>();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.Run(async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                requests.Writer.TryWrite(new Recorded(context.Request.Method, context.Request.Path, context.Request.ContentType, body));
                context.Response.StatusCode = (int)status;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(status == HttpStatusCode.OK
                    ? """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"shop"}}"""
                    : """{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}""");
            });
            await app.StartAsync();
            return new FakeApiServer(app, requests);
        }

        public IKubernetes Client() => new Kubernetes(new KubernetesClientConfiguration
        {
            Host = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(),
        });

        public async Task<Recorded> NextAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _requests.Reader.ReadAsync(cts.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
