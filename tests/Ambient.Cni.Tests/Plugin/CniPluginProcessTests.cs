using System.Text.Json.Nodes;
using Ambient.Cni.Tests.Testing;
using Ambient.Net.Cni;
using Xunit;
using Xunit.Abstractions;

namespace Ambient.Cni.Tests.Plugin;

/// <summary>
/// The published native binary, run as the runtime runs it: CNI_* environment, config on stdin, a fake
/// agent (Kestrel) on a Unix socket in a temp dir.
/// </summary>
[Collection(NativeCniCollection.Name)]
public sealed class CniPluginProcessTests(NativeCniBinary binary, ITestOutputHelper output) : IDisposable
{
    // Deliberately odd formatting: ADD must print exactly these bytes back.
    private const string PrevResult = """{"cniVersion":"1.0.0", "interfaces":[{"name":"veth1a2b"},{"name":"eth0","mac":"0a:58:0a:63:01:05","sandbox":"/var/run/netns/cni-77"}],"ips":[ {"address":"10.99.1.5/24","gateway":"10.99.1.1","interface":1}, {"address":"fd00:99::5/64","interface":1}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.96.0.10"]}}""";

    private readonly TempDir _dir = new(nameof(CniPluginProcessTests));

    private string Socket => _dir.Combine("agent.sock");

    private static Dictionary<string, string> PodEnv(string? cniArgs = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=7d3c9a3e-1111-2222-3333-444455556666")
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_CONTAINERID"] = "c0ffee0123456789",
            ["CNI_NETNS"] = "/var/run/netns/cni-77",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = "/opt/cni/bin",
        };
        if (cniArgs is not null)
        {
            env["CNI_ARGS"] = cniArgs;
        }

        return env;
    }

    private string Config(string extra = "", string? prevResult = PrevResult, string version = "1.0.0") =>
        $$"""{"cniVersion":"{{version}}","name":"k8s-pod-network","type":"ambient-cni","agentSocket":"{{Socket}}"{{extra}}{{(prevResult is null ? "" : $",\"prevResult\":{prevResult}")}}}""";

    private Task<CniRun> RunAsync(string command, string? stdin, Dictionary<string, string>? env = null) =>
        CniProcess.RunPluginAsync(binary.Path, command, stdin, env ?? PodEnv());

    private static JsonNode ErrorObject(CniRun run)
    {
        Assert.True(run.ExitCode != 0, run.ToString());
        var error = JsonNode.Parse(run.Stdout)!.AsObject();
        Assert.True(error.ContainsKey("cniVersion") && error.ContainsKey("code") && error.ContainsKey("msg"), run.Stdout);
        Assert.DoesNotContain("   at ", run.Stdout); // never a stack trace
        return error;
    }

    private static void AssertSucceeded(CniRun run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain(" ERROR ", run.Stderr);
    }

    [Fact]
    public async Task Version_ConfigVersion_EchoedWithSupportedVersions()
    {
        var run = await RunAsync("VERSION", """{"cniVersion":"1.0.0"}""", []);

        AssertSucceeded(run);
        Assert.Equal("""{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}""", run.Stdout);
    }

    [Fact]
    public async Task Version_EmptyStdin_LatestVersion()
    {
        var run = await RunAsync("VERSION", "", []);

        AssertSucceeded(run);
        Assert.Equal("1.1.0", (string?)JsonNode.Parse(run.Stdout)!["cniVersion"]);
    }

    [Fact]
    public async Task Add_AgentCaptures_PrevResultUnchangedAndAgentGotThePod()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);

        var run = await RunAsync("ADD", Config());

        AssertSucceeded(run);
        Assert.Equal(PrevResult, run.Stdout);
        var add = agent.SingleAdd();
        Assert.Equal("c0ffee0123456789", add.ContainerId);
        Assert.Equal("/var/run/netns/cni-77", add.Netns);
        Assert.Equal("shop", add.PodNamespace);
        Assert.Equal("web-0", add.PodName);
        Assert.Equal("7d3c9a3e-1111-2222-3333-444455556666", add.PodUid);
        Assert.Equal("eth0", add.IfName);
        Assert.Equal([new PodIp("10.99.1.5/24", "10.99.1.1", "eth0"), new PodIp("fd00:99::5/64", null, "eth0")], add.Ips);
        Assert.Contains("captured", run.Stderr);
    }

    [Fact]
    public async Task Add_AgentSaysNotEnrolled_PrevResultUnchanged()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);
        agent.AddBody = """{"result":"not-enrolled","message":"namespace shop has no dataplane-mode label"}""";

        var run = await RunAsync("ADD", Config());

        AssertSucceeded(run);
        Assert.Equal(PrevResult, run.Stdout);
        Assert.Single(agent.Requests);
    }

    [Fact]
    public async Task Add_AgentAnswersError_Code11WithAgentsReason()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);
        agent.AddStatus = 503;
        agent.AddBody = """{"error":"no ztunnel connection"}""";

        var run = await RunAsync("ADD", Config());

        var error = ErrorObject(run);
        Assert.Equal(11, (int)error["code"]!);
        Assert.Equal("1.0.0", (string?)error["cniVersion"]);
        Assert.Equal($"ambient agent at {Socket} could not capture pod shop/web-0 (HTTP 503): no ztunnel connection; " +
            "the pod stays uncaptured and the runtime will retry", (string?)error["msg"]);
    }

    [Fact]
    public async Task Add_AgentAnswersUnknownResult_Code11()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);
        agent.AddBody = """{"result":"maybe"}""";

        var error = ErrorObject(await RunAsync("ADD", Config()));

        Assert.Equal(11, (int)error["code"]!);
        Assert.Contains("unexpected answer", (string?)error["msg"]);
    }

    [Fact]
    public async Task Add_AgentDownFailClosed_Code11NamingSocketAndWhatToCheck()
    {
        var run = await RunAsync("ADD", Config());

        var error = ErrorObject(run);
        Assert.Equal(11, (int)error["code"]!);
        Assert.Equal($"ambient agent at {Socket} did not answer: the socket does not exist; the pod stays uncaptured and the runtime will retry",
            (string?)error["msg"]);
        Assert.Contains("agentSocket", (string?)error["details"]);
    }

    [Fact]
    public async Task Add_SocketWithoutListenerFailClosed_Code11ConnectionRefused()
    {
        // A socket bound but not listening, like one a wedged or crashed agent leaves: the kernel refuses.
        // (Kept open: .NET unlinks the path when a bound Unix socket is disposed.)
        using var bound = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        bound.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Socket));

        var error = ErrorObject(await RunAsync("ADD", Config()));

        Assert.Equal(11, (int)error["code"]!);
        Assert.Contains("connection refused", (string?)error["msg"]);
    }

    [Fact]
    public async Task Add_AgentDownFailOpen_PrevResultPassedThroughWithWarning()
    {
        var run = await RunAsync("ADD", Config(""","failPolicy":"open" """));

        AssertSucceeded(run);
        Assert.Equal(PrevResult, run.Stdout);
        Assert.Contains("WARN", run.Stderr);
        Assert.Contains("failPolicy is open", run.Stderr);
    }

    [Fact]
    public async Task Add_AgentErrorFailOpen_PrevResultPassedThrough()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);
        agent.AddStatus = 500;
        agent.AddBody = """{"error":"iptables-restore failed"}""";

        var run = await RunAsync("ADD", Config(""","failPolicy":"open" """));

        AssertSucceeded(run);
        Assert.Equal(PrevResult, run.Stdout);
        Assert.Contains("iptables-restore failed", run.Stderr);
    }

    [Fact]
    public async Task Add_AgentHangs_TimesOutWithCode11()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);
        agent.HangOnAdd = true;

        var run = await RunAsync("ADD", Config(""","agentTimeoutSeconds":0.5"""));

        var error = ErrorObject(run);
        Assert.Equal(11, (int)error["code"]!);
        Assert.Contains("no answer within 0.5 s", (string?)error["msg"]);
        Assert.InRange(run.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Add_WithoutPrevResult_Code7ChainedPluginOnly()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);

        var error = ErrorObject(await RunAsync("ADD", Config(prevResult: null)));

        Assert.Equal(7, (int)error["code"]!);
        Assert.Contains("prevResult", (string?)error["msg"]);
        Assert.Empty(agent.Requests);
    }

    [Fact]
    public async Task Add_NotAKubernetesPod_PassesThroughWithoutAskingAgent()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);

        var run = await RunAsync("ADD", Config(), PodEnv(cniArgs: null));

        AssertSucceeded(run);
        Assert.Equal(PrevResult, run.Stdout);
        Assert.Empty(agent.Requests);
    }

    [Fact]
    public async Task Add_MalformedPrevResult_Code7()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);

        var error = ErrorObject(await RunAsync("ADD", Config(prevResult: """{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]}""")));

        Assert.Equal(7, (int)error["code"]!);
        Assert.Contains("ips[0].address", (string?)error["msg"]);
        Assert.Empty(agent.Requests);
    }

    [Fact]
    public async Task Del_AgentDown_SucceedsWithNoOutput()
    {
        var env = PodEnv();
        env.Remove("CNI_NETNS"); // the netns is often gone by DEL time

        var run = await RunAsync("DEL", Config(), env);

        AssertSucceeded(run);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Del_AgentUp_AgentToldWhichPod()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);

        var run = await RunAsync("DEL", Config());

        AssertSucceeded(run);
        Assert.Equal("", run.Stdout);
        var (path, body) = Assert.Single(agent.Requests);
        Assert.Equal(PodHandoff.DelPath, path);
        var request = System.Text.Json.JsonSerializer.Deserialize(body, PodHandoffJson.Default.PodRequest)!;
        Assert.Equal(("shop", "web-0", "c0ffee0123456789"), (request.PodNamespace, request.PodName, request.ContainerId));
    }

    [Fact]
    public async Task Check_AgentDown_Succeeds()
    {
        var run = await RunAsync("CHECK", Config());

        AssertSucceeded(run);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Check_AgentSaysCaptured_Succeeds()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);

        var run = await RunAsync("CHECK", Config());

        AssertSucceeded(run);
        Assert.Equal(PodHandoff.CheckPath, Assert.Single(agent.Requests).Path);
    }

    [Fact]
    public async Task Check_AgentSaysEnrolledNotCaptured_Code100()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);
        agent.CheckStatus = 409;
        agent.CheckBody = """{"error":"redirection rules missing in netns"}""";

        var error = ErrorObject(await RunAsync("CHECK", Config()));

        Assert.Equal(100, (int)error["code"]!);
        Assert.Contains("shop/web-0 is enrolled in the ambient mesh but its traffic is not captured: redirection rules missing in netns",
            (string?)error["msg"]);
    }

    [Fact]
    public async Task Status_AgentUp_Succeeds()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);

        var run = await RunAsync("STATUS", Config(version: "1.1.0", prevResult: null), []);

        AssertSucceeded(run);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Status_AgentDown_Code50()
    {
        var error = ErrorObject(await RunAsync("STATUS", Config(version: "1.1.0", prevResult: null), []));

        Assert.Equal(50, (int)error["code"]!);
        Assert.Contains(Socket, (string?)error["msg"]);
    }

    [Fact]
    public async Task Status_ConfigOlderThan110_Code1()
    {
        var error = ErrorObject(await RunAsync("STATUS", Config(prevResult: null), []));

        Assert.Equal(1, (int)error["code"]!);
    }

    [Fact]
    public async Task Gc_Succeeds()
    {
        var run = await RunAsync("GC", Config(version: "1.1.0", prevResult: null), []);

        AssertSucceeded(run);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Config_BadJson_Code6()
    {
        var error = ErrorObject(await RunAsync("ADD", """{"cniVersion":"1.0.0","name":"""));

        Assert.Equal(6, (int)error["code"]!);
    }

    [Fact]
    public async Task Env_MissingCommand_Code4()
    {
        var run = await CniProcess.RunAsync(binary.Path, [], PodEnv(), Config());

        var error = ErrorObject(run);
        Assert.Equal(4, (int)error["code"]!);
        Assert.Contains("CNI_COMMAND", (string?)error["msg"]);
    }

    [Fact]
    public async Task Config_UnsupportedVersion_Code1()
    {
        var error = ErrorObject(await RunAsync("ADD", Config(version: "0.3.1")));

        Assert.Equal(1, (int)error["code"]!);
        Assert.Equal("1.1.0", (string?)error["cniVersion"]);
        Assert.Contains("0.3.1", (string?)error["details"]);
    }

    [Fact]
    public async Task Timing_VersionAndAdd_WallTimePrinted()
    {
        await using var agent = await FakeAgent.StartAsync(Socket);
        const int runs = 15;
        var version = new List<double>();
        var add = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var v = await RunAsync("VERSION", """{"cniVersion":"1.1.0"}""", []);
            AssertSucceeded(v);
            version.Add(v.Elapsed.TotalMilliseconds);

            var a = await RunAsync("ADD", Config());
            AssertSucceeded(a);
            add.Add(a.Elapsed.TotalMilliseconds);
        }

        Assert.Equal(runs, agent.Requests.Count);
        var line = $"ambient-cni wall time over {runs} runs (process start to exit, ms): " +
            $"VERSION {Summary(version)}; ADD with agent round trip {Summary(add)}; binary {new FileInfo(binary.Path).Length / 1024} KiB";
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    private static string Summary(List<double> ms)
    {
        ms.Sort();
        return $"min {ms[0]:0.0} median {ms[ms.Count / 2]:0.0} max {ms[^1]:0.0}";
    }

    public void Dispose() => _dir.Dispose();
}
