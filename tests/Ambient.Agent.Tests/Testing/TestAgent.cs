using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Ambient.Agent.Admin;
using Ambient.Agent.Hosting;
using Ambient.Agent.InPod;
using Ambient.Net.Cni;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Tests.Testing;

/// <summary>
/// The real agent host in-process, with fakes behind the State/ seams, its CNI and admin endpoints on Unix
/// sockets in a per-test temp directory, and a CNI client speaking <see cref="PodHandoff"/>.
/// </summary>
public sealed class TestAgent : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private TestAgent(WebApplication app, string dir, FakeEnrollment enrollment, FakeResolver resolver, RecordingReporter reporter, LogCollector logs)
    {
        _app = app;
        Dir = dir;
        Enrollment = enrollment;
        Resolver = resolver;
        Reporter = reporter;
        Logs = logs;
        Cni = UnixClient(Path.Combine(dir, "cni.sock"));
        Admin = UnixClient(Path.Combine(dir, "admin.sock"));
    }

    public string Dir { get; }
    public FakeEnrollment Enrollment { get; }
    public FakeResolver Resolver { get; }
    public RecordingReporter Reporter { get; }
    public LogCollector Logs { get; }
    public HttpClient Cni { get; }
    public HttpClient Admin { get; }
    public IServiceProvider Services => _app.Services;
    public PodCaptureManager Manager => _app.Services.GetRequiredService<PodCaptureManager>();
    public AgentMetrics Metrics => _app.Services.GetRequiredService<AgentMetrics>();

    /// <summary>Starts an agent. Pass <paramref name="dir"/> of an earlier agent to restart on its state.</summary>
    public static async Task<TestAgent> StartAsync(string? dir = null, FakeEnrollment? enrollment = null, FakeResolver? resolver = null)
    {
        Root.Require();
        dir ??= Directory.CreateTempSubdirectory("amb-agent-").FullName;
        enrollment ??= new FakeEnrollment();
        resolver ??= new FakeResolver();
        var reporter = new RecordingReporter();
        var logs = new LogCollector();
        var options = new AgentOptions
        {
            Node = "test-node",
            CniSocket = Path.Combine(dir, "cni.sock"),
            StateDir = Path.Combine(dir, "state"),
            AdminAddress = null,
            AdminSocket = Path.Combine(dir, "admin.sock"),
            LogLevel = LogLevel.Debug,
        };
        var app = AgentHost.Build(options, services =>
        {
            services.AddSingleton<IEnrollment>(enrollment);
            services.AddSingleton<IDestinationResolver>(resolver);
            services.AddSingleton<IRedirectionReporter>(reporter);
            services.AddSingleton(new InPodOptions { EnrollmentWait = TimeSpan.FromMilliseconds(500), AdoptionVerifyWait = TimeSpan.FromSeconds(2) });
            services.AddSingleton(new Agent.Proxy.ProxyOptions { ConnectTimeout = TimeSpan.FromSeconds(3) });
        }, logging => logging.AddProvider(logs));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(cts.Token);
        var agent = new TestAgent(app, dir, enrollment, resolver, reporter, logs);
        await agent.Manager.Adopted.WaitAsync(TimeSpan.FromSeconds(30));
        return agent;
    }

    public Task<HttpResponseMessage> AddAsync(string netns, string ns, string name, IPAddress ip, string containerId = "c1") =>
        Cni.PostAsync(PodHandoff.AddPath, JsonContent.Create(new PodAddRequest
        {
            ContainerId = containerId,
            Netns = TestNetwork.PathOf(netns),
            PodName = name,
            PodNamespace = ns,
            Ips = [new PodIp(ip + "/24", null, "eth0")],
        }, PodHandoffJson.Default.PodAddRequest));

    public Task<HttpResponseMessage> DelAsync(string netns, string ns, string name, string containerId = "c1") =>
        Cni.PostAsync(PodHandoff.DelPath, JsonContent.Create(new PodRequest { ContainerId = containerId, Netns = TestNetwork.PathOf(netns), PodName = name, PodNamespace = ns }, PodHandoffJson.Default.PodRequest));

    public Task<HttpResponseMessage> CheckAsync(string netns, string ns, string name, string containerId = "c1") =>
        Cni.PostAsync(PodHandoff.CheckPath, JsonContent.Create(new PodRequest { ContainerId = containerId, Netns = TestNetwork.PathOf(netns), PodName = name, PodNamespace = ns }, PodHandoffJson.Default.PodRequest));

    public static async Task<string> ResultOf(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"CNI answered {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize(body, PodHandoffJson.Default.PodAddResponse)!.Result;
    }

    /// <summary>Enrolls the pod in the fake, sends ADD, asserts "captured".</summary>
    public async Task CaptureAsync(string netns, string ns, string name, IPAddress ip)
    {
        Enrollment.Set(ns, name, enrolled: true, uid: "uid-" + name);
        Assert.Equal(PodHandoff.ResultCaptured, await ResultOf(await AddAsync(netns, ns, name, ip)));
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }

    /// <summary>Leave <see cref="Dir"/> (state, sockets) for a restarted agent; the last one deletes it.</summary>
    public bool KeepDirectory { get; set; }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Cni.Dispose();
        Admin.Dispose();
        if (!KeepDirectory)
        {
            try
            {
                Directory.Delete(Dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static HttpClient UnixClient(string path) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                return new NetworkStream(s, ownsSocket: true);
            }
            catch
            {
                s.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = new Uri("http://localhost"), Timeout = TimeSpan.FromSeconds(15) };
}
