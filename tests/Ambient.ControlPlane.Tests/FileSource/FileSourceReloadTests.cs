using System.Diagnostics;
using Ambient.ControlPlane.Discovery;
using Ambient.ControlPlane.Tests.Testing;
using Ambient.Xds;
using Ambient.Xds.Protos.Discovery;
using Microsoft.Extensions.DependencyInjection;
using Ads = Ambient.Xds.Protos.Discovery.AggregatedDiscoveryService;
using SourcesFileSource = Ambient.ControlPlane.Sources.FileSource;
using WdsAddress = Ambient.Xds.Protos.Workload.Address;

// Not "…Tests.FileSource": a namespace of that name would hide the FileSource type from every test namespace.
namespace Ambient.ControlPlane.Tests.FileSourceReload;

/// <summary>
/// The file source against real files and the real watcher, through a control plane on a real socket:
/// additions, edits and deletions reach clients quickly; a bad edit is reported with file, line and field while
/// the file's last good content stays in force and other files keep updating.
/// </summary>
public sealed class FileSourceReloadTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(10);

    private static string ServiceYaml(string name, int port, string ns = "demo") => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          selector:
            app: {name}
          clusterIP: 10.96.7.{name.Length}
          ports:
          - name: http
            port: {port}

        """;

    private static string Key(string name, string ns = "demo") => $"{ns}/{name}.{ns}.svc.cluster.local";

    private static XdsResource? Resource(TestControlPlane cp, string name) =>
        cp.Cache.Current.Get(TypeUrls.Address).Items.GetValueOrDefault(Key(name));

    private static uint? FirstPort(TestControlPlane cp, string name) =>
        Resource(cp, name)?.Any.Unpack<WdsAddress>().Service.Ports[0].ServicePort;

    private static SourcesFileSource Files(TestControlPlane cp) => cp.Services.GetRequiredService<SourcesFileSource>();

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
                Assert.Fail($"timed out after {timeout.TotalSeconds:F1}s waiting for {what}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task NewFile_Written_ServedWithinASecond()
    {
        await using var cp = await TestControlPlane.StartAsync();
        Assert.Null(Resource(cp, "fresh"));
        var sw = Stopwatch.StartNew();
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "fresh.yaml"), ServiceYaml("fresh", 80));
        await WaitUntilAsync(() => Resource(cp, "fresh") is not null, TimeSpan.FromSeconds(1), "the new file's Service to be served");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"served after {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task NewFileInSubdirectory_Written_Served()
    {
        await using var cp = await TestControlPlane.StartAsync();
        Directory.CreateDirectory(Path.Combine(cp.ConfigDir, "team-a"));
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "team-a", "svc.yml"), ServiceYaml("nested", 80));
        await WaitUntilAsync(() => Resource(cp, "nested") is not null, Bounded, "a Service from a subdirectory");
    }

    [Fact]
    public async Task ExistingFile_Edited_ChangePushedToSubscribedClient()
    {
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string> { ["svc.yaml"] = ServiceYaml("edited", 80) });
        await using var watch = await AddressWatch.OpenAsync(cp);
        Assert.Contains(Key("edited"), (await watch.NextAsync(Bounded)).Resources.Select(r => r.Name));

        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "svc.yaml"), ServiceYaml("edited", 8080));
        // The edit arrives as an update, never as a removal in between (e.g. from reading a half-written file).
        await watch.UntilAsync(p => p.Resources.Any(r => r.Name == Key("edited") && r.Resource_.Unpack<WdsAddress>().Service.Ports[0].ServicePort == 8080),
            Key("edited"), Bounded);
    }

    [Fact]
    public async Task File_Deleted_ObjectsWithdrawnFromClients()
    {
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string>
        {
            ["gone.yaml"] = ServiceYaml("gone", 80),
            ["kept.yaml"] = ServiceYaml("kept", 80),
        });
        await using var watch = await AddressWatch.OpenAsync(cp);
        Assert.Equal([Key("gone"), Key("kept")], (await watch.NextAsync(Bounded)).Resources.Select(r => r.Name).Order(StringComparer.Ordinal));

        File.Delete(Path.Combine(cp.ConfigDir, "gone.yaml"));
        var push = await watch.NextAsync(Bounded);
        Assert.Equal([Key("gone")], push.RemovedResources);
        Assert.Empty(push.Resources);
        Assert.NotNull(Resource(cp, "kept"));
    }

    [Fact]
    public async Task InPlaceSave_ScannedWhileEmpty_ObjectsNeverWithdrawn()
    {
        // An in-place save truncates, then writes. A scan in between used to withdraw the file's objects from
        // every client (seen as a flaky removal under load in the edit test above).
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string> { ["a.yaml"] = ServiceYaml("alpha", 80) });
        await using var watch = await AddressWatch.OpenAsync(cp);
        Assert.Contains(Key("alpha"), (await watch.NextAsync(Bounded)).Resources.Select(r => r.Name));

        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "a.yaml"), ""); // the truncate, then a stall
        // Sync point: files are scanned in name order in one pass, so once z.yaml is served the empty a.yaml was read.
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "z.yaml"), ServiceYaml("zulu", 80));
        await watch.UntilAsync(p => p.Resources.Any(r => r.Name == Key("zulu")), Key("alpha"), Bounded);
        Assert.NotNull(Resource(cp, "alpha"));

        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "a.yaml"), ServiceYaml("alpha", 81)); // the write
        await watch.UntilAsync(p => p.Resources.Any(r => r.Name == Key("alpha") && r.Resource_.Unpack<WdsAddress>().Service.Ports[0].ServicePort == 81),
            Key("alpha"), Bounded);
    }

    [Fact]
    public async Task File_EmptiedForGood_ObjectsWithdrawnAfterSettling()
    {
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string> { ["a.yaml"] = ServiceYaml("alpha", 80) });
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "a.yaml"), "");
        await WaitUntilAsync(() => Resource(cp, "alpha") is null, Bounded, "the emptied file's Service to be withdrawn");
        Assert.Empty(Files(cp).Errors);
    }

    [Fact]
    public async Task BadEdit_KeepsLastGoodContentWhileOtherFilesUpdate()
    {
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string>
        {
            ["a.yaml"] = ServiceYaml("alpha", 80),
            ["b.yaml"] = ServiceYaml("beta", 80),
        });
        var good = Resource(cp, "alpha");
        Assert.NotNull(good);

        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "a.yaml"), ServiceYaml("alpha", 99999));
        await WaitUntilAsync(() => Files(cp).Errors.Keys.Any(k => k.EndsWith("a.yaml", StringComparison.Ordinal)), Bounded, "a.yaml to be rejected");

        // Another file still updates, and the rejected file's objects are exactly as before.
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "b.yaml"), ServiceYaml("beta", 81));
        await WaitUntilAsync(() => FirstPort(cp, "beta") == 81, Bounded, "b.yaml's edit to be served");
        Assert.Same(good, Resource(cp, "alpha"));
        Assert.Equal(80u, FirstPort(cp, "alpha"));
        Assert.Single(Files(cp).Errors);
    }

    [Fact]
    public async Task BadFile_Fixed_AppliedAndErrorCleared()
    {
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string> { ["a.yaml"] = ServiceYaml("alpha", 80) });
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "a.yaml"), "apiVersion: v1\nkind: Service\nmetadata: [\n");
        await WaitUntilAsync(() => Files(cp).Errors.Count == 1, Bounded, "the malformed edit to be rejected");
        Assert.Equal(80u, FirstPort(cp, "alpha"));

        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "a.yaml"), ServiceYaml("alpha", 9090));
        await WaitUntilAsync(() => FirstPort(cp, "alpha") == 9090, Bounded, "the fixed file to be applied");
        Assert.Empty(Files(cp).Errors);
    }

    [Fact]
    public async Task Errors_BadFile_NameFileLineAndField()
    {
        await using var cp = await TestControlPlane.StartAsync();
        Directory.CreateDirectory(Path.Combine(cp.ConfigDir, "team"));
        // ServiceYaml: the port is on line 12.
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "team", "svc.yaml"), ServiceYaml("broken", 0));
        await WaitUntilAsync(() => Files(cp).Errors.Count == 1, Bounded, "the file to be rejected");

        var (path, errors) = Assert.Single(Files(cp).Errors);
        Assert.Equal(Path.Combine(cp.ConfigDir, "team", "svc.yaml"), path);
        var e = Assert.Single(errors);
        Assert.Equal((Path.Combine("team", "svc.yaml"), 12L, "spec.ports[0].port", "0 is out of range 1-65535"), (e.File, e.Line, e.Field, e.Reason));
        Assert.Equal($"{Path.Combine("team", "svc.yaml")}:12: spec.ports[0].port: 0 is out of range 1-65535", e.Message);
        Assert.Null(Resource(cp, "broken")); // a new file that never parsed serves nothing
    }

    [Fact]
    public async Task BadFile_Deleted_ErrorCleared()
    {
        await using var cp = await TestControlPlane.StartAsync(new Dictionary<string, string> { ["bad.yaml"] = "kind: [\n" });
        Assert.Single(Files(cp).Errors);
        File.Delete(Path.Combine(cp.ConfigDir, "bad.yaml"));
        await WaitUntilAsync(() => Files(cp).Errors.Count == 0, Bounded, "the deleted file's error to be cleared");
    }

    [Fact]
    public async Task PolicyWithBadConditionValue_Rejected_ControlPlaneKeepsPublishing()
    {
        // Such a value used to pass the parser and throw in SnapshotBuilder.Build, stopping the publisher for good.
        await using var cp = await TestControlPlane.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "policy.yaml"), """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: p
              namespace: demo
            spec:
              rules:
              - when:
                - key: destination.port
                  values: [http]
            """);
        await WaitUntilAsync(() => Files(cp).Errors.Count == 1, Bounded, "the policy to be rejected");
        Assert.Equal("spec.rules[0].when[0].values[0]", Assert.Single(Assert.Single(Files(cp).Errors).Value).Field);

        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "svc.yaml"), ServiceYaml("after", 80));
        await WaitUntilAsync(() => Resource(cp, "after") is not null, Bounded, "a later file to be served");
    }

    [Fact]
    public async Task NonManifestFiles_Written_Ignored()
    {
        await using var cp = await TestControlPlane.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "README.md"), "# Notes\n\nkind: [ not yaml at all\n");
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "notes.txt"), ServiceYaml("from-txt", 80));
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, ".draft.yaml"), ServiceYaml("from-dotfile", 80));
        // Written last: once it is served, the scan that found it has passed over the files above.
        await File.WriteAllTextAsync(Path.Combine(cp.ConfigDir, "real.yaml"), ServiceYaml("real", 80));
        await WaitUntilAsync(() => Resource(cp, "real") is not null, Bounded, "real.yaml to be served");

        Assert.Empty(Files(cp).Errors);
        Assert.Null(Resource(cp, "from-txt"));
        Assert.Null(Resource(cp, "from-dotfile"));
    }

    /// <summary>A Delta ADS client subscribed to every Address, acking each response.</summary>
    private sealed class AddressWatch : IAsyncDisposable
    {
        private readonly Grpc.Net.Client.GrpcChannel _channel;
        private readonly Grpc.Core.AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> _call;

        private AddressWatch(Grpc.Net.Client.GrpcChannel channel, Grpc.Core.AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> call)
        {
            _channel = channel;
            _call = call;
        }

        public static async Task<AddressWatch> OpenAsync(TestControlPlane cp)
        {
            var channel = cp.CreateChannel();
            var call = new Ads.AggregatedDiscoveryServiceClient(channel).DeltaAggregatedResources();
            await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Address });
            return new AddressWatch(channel, call);
        }

        /// <summary>The next response (acked), or a failure after <paramref name="timeout"/>.</summary>
        public async Task<DeltaDiscoveryResponse> NextAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                Assert.True(await _call.ResponseStream.MoveNext(cts.Token), "the stream ended");
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Cancelled && cts.IsCancellationRequested)
            {
                Assert.Fail($"no push within {timeout.TotalSeconds:F1}s");
            }
            var response = _call.ResponseStream.Current;
            await _call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce });
            return response;
        }

        /// <summary>Reads pushes until one satisfies <paramref name="done"/>; fails if any withdraws <paramref name="mustStay"/>.</summary>
        public async Task UntilAsync(Func<DeltaDiscoveryResponse, bool> done, string mustStay, TimeSpan timeout)
        {
            var sw = Stopwatch.StartNew();
            var seen = new List<string>();
            while (true)
            {
                var push = await NextAsync(timeout - sw.Elapsed);
                seen.Add($"+[{string.Join(", ", push.Resources.Select(r => r.Name))}] -[{string.Join(", ", push.RemovedResources)}]");
                Assert.False(push.RemovedResources.Contains(mustStay), $"{mustStay} was withdrawn; pushes so far:\n{string.Join("\n", seen)}");
                if (done(push))
                    return;
            }
        }

        public ValueTask DisposeAsync()
        {
            _call.Dispose();
            _channel.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
