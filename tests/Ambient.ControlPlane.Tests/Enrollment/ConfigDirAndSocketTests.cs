using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ambient.ControlPlane.Hosting;
using Ambient.ControlPlane.Tests.AdsClient;
using Ambient.Xds;
using Ambient.Xds.Client;
using Ambient.Xds.Protos.Enrollment;
using Ambient.Xds.Protos.Workload;

namespace Ambient.ControlPlane.Tests.Enrollment;

/// <summary>Repeatable <c>--config-dir</c> (one origin per file, every directory watched) and the <c>--xds-socket</c> listener.</summary>
public sealed class ConfigDirAndSocketTests
{
    private static ControlPlaneCommand.Settings Parse(params string[] args)
    {
        ControlPlaneCommand.Settings? settings = null;
        var exit = ControlPlaneCommand.Create((s, _) =>
        {
            settings = s;
            return Task.FromResult(0);
        }).Parse(args).Invoke();
        Assert.Equal(0, exit);
        return settings ?? throw new InvalidOperationException("the command did not run");
    }

    [Fact]
    public void ControlPlaneCommand_ConfigDirGivenTwice_OptionsListBothInOrder()
    {
        var s = Parse("--config-dir", "/etc/ambient/manifests", "--config-dir", "/run/ambient/status");

        Assert.Equal(["/etc/ambient/manifests", "/run/ambient/status"], s.Options.ConfigDirs);
        Assert.Equal("/etc/ambient/manifests", s.Options.ConfigDir);
    }

    [Fact]
    public void ControlPlaneCommand_SingleConfigDir_OneDirectoryAsBefore()
    {
        var s = Parse("--config-dir", "/srv/manifests");

        Assert.Equal(["/srv/manifests"], s.Options.ConfigDirs);
        Assert.Equal("/srv/manifests", s.Options.ConfigDir);
        Assert.Null(s.Options.XdsSocket);
    }

    [Fact]
    public void ControlPlaneCommand_XdsSocket_ParsedIntoOptionsAndRoutedByLocalhostAuthority()
    {
        var s = Parse("--config-dir", "/srv/manifests", "--xds-socket", "/run/ambient/xds.sock", "--xds-address", "127.0.0.1:16010");

        Assert.Equal("/run/ambient/xds.sock", s.Options.XdsSocket);
        Assert.Equal(["*:16010", "localhost"], XdsListeners.XdsHosts(s.Options));
        Assert.Equal(["*:16010"], XdsListeners.XdsHosts(s.Options with { XdsSocket = null }));
    }

    [Fact]
    public async Task FileSource_TwoDirectoriesWithTheSameFileName_ServesBothAndWatchesEach()
    {
        using var tmp = new TempDir();
        tmp.Write("one/pods.yaml", Manifests.Docs(Manifests.Namespace("shop", "ambient"), Manifests.Pod("shop", "a", "10.244.1.1")));
        tmp.Write("two/pods.yaml", Manifests.Pod("shop", "b", "10.244.1.2"));
        await using var cp = await SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("one"), tmp.Sub("two"));

        Assert.Equal(["shop/a", "shop/b"], cp.Cache.Current.Get(TypeUrls.PodEnrollment).Items.Keys.Order(StringComparer.Ordinal));

        await cp.WriteFileAndWaitAsync("more.yaml", Manifests.Pod("shop", "c", "10.244.1.3"), dir: 1);
        Assert.Contains("shop/c", cp.Cache.Current.Get(TypeUrls.PodEnrollment).Items.Keys);

        // Each file is its own origin: removing two/pods.yaml withdraws b only, not one/pods.yaml's objects.
        await cp.DeleteFileAndWaitAsync("pods.yaml", dir: 1);
        Assert.Equal(["shop/a", "shop/c"], cp.Cache.Current.Get(TypeUrls.PodEnrollment).Items.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FileSource_OneDirectoryMissing_StartFailsNamingIt()
    {
        using var tmp = new TempDir();
        var missing = Path.Combine(tmp.Path, "absent");

        var e = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => SocketControlPlane.StartAsync(tmp.File("xds.sock"), tmp.Sub("one"), missing));

        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public async Task XdsSocket_StaleSocketFileLeftBehind_ReplacedAndServesAds()
    {
        using var tmp = new TempDir();
        tmp.Write("config/pods.yaml", Manifests.Docs(Manifests.Namespace("shop", "ambient"), Manifests.Pod("shop", "a")));
        var path = tmp.File("xds.sock");
        // A socket file whose owner is gone (.NET unlinks its own on close, so let another runtime leave one behind).
        using (var p = Process.Start("/usr/bin/python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]))
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(File.Exists(path), "python3 did not leave a socket file behind");

        await using var cp = await SocketControlPlane.StartAsync(path, tmp.Sub("config"));
        var enrollments = new UpdateCollector<PodEnrollment>();
        await using var run = new ClientRun(cp.CreateClient().Subscribe<PodEnrollment>(TypeUrls.PodEnrollment, enrollments.Handle));

        await run.WaitSyncedAsync();
        Assert.Equal(["shop/a"], enrollments.Names);
    }

    [Fact]
    public void XdsSocket_AnotherProcessListening_RefusesToStealIt()
    {
        using var tmp = new TempDir();
        var path = tmp.File("xds.sock");
        using var owner = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        owner.Bind(new UnixDomainSocketEndPoint(path));
        owner.Listen();

        var e = Assert.Throws<IOException>(() => XdsListeners.PrepareSocketPath(path));

        Assert.Contains("in use", e.Message);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task ControlPlaneProgram_XdsSocketAndTwoConfigDirs_ServesBothDirectoriesOverTheSocket()
    {
        using var tmp = new TempDir();
        tmp.Write("manifests/mesh.yaml", Manifests.Docs(Manifests.Namespace("shop", "ambient"), Manifests.Pod("shop", "a", "10.244.1.1")));
        tmp.Write("status/shop.a.yaml", Manifests.Redirected("shop", "a"));
        var socket = tmp.File("xds.sock");
        var exe = Path.Combine(AppContext.BaseDirectory, "ambient-controlplane");
        Assert.True(File.Exists(exe), $"{exe} is missing: the test project references the control plane, whose apphost should be copied here");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--config-dir", tmp.Sub("manifests"), "--config-dir", tmp.Sub("status"), "--xds-socket", socket,
                "--xds-address", $"127.0.0.1:{FreePort()}", "--status-address", $"127.0.0.1:{FreePort()}",
                "--secure-address", $"127.0.0.1:{FreePort()}", "--ca-dir", tmp.Sub("ca"),
            },
        };
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        try
        {
            var addresses = new UpdateCollector<Address>();
            await using var run = new ClientRun(new DeltaAdsClient(new DeltaAdsClientOptions { Address = socket, MaxBackoff = TimeSpan.FromMilliseconds(200) })
                .Subscribe<Address>(TypeUrls.Address, addresses.Handle));

            try
            {
                await run.WaitSyncedAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                Assert.Fail($"no sync over {socket}; exited: {process.HasExited}; stderr: {(process.HasExited ? await stderr : "(running)")}");
            }
            // The status directory's PodAnnotations reached the pod from the manifests directory.
            Assert.Equal(TunnelProtocol.Hbone, addresses.State["Kubernetes//Pod/shop/a"].Workload.TunnelProtocol);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
