using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ambient.Net.Netns;

namespace Ambient.Agent.Tests.Testing;

/// <summary>
/// Real network namespaces for one test, named after it (plus a unique suffix), connected by veth pairs:
/// <code>
///   netns "{name}-a" (pod A, 10.X.Y.2/24, default route via its veth) ══veth══ netns "{name}-b" (pod B, 10.X.Y.3/24)
/// </code>
/// Every namespace, and every process started through <see cref="StartProcess"/> (tracked by PID), is removed in
/// <see cref="DisposeAsync"/>, also when the test fails.
/// </summary>
public sealed class TestNetwork : IAsyncDisposable
{
    private static int s_counter;
    private readonly List<string> _namespaces = [];
    private readonly List<Process> _processes = [];

    private TestNetwork(string prefix, int subnet)
    {
        Prefix = prefix;
        Subnet = subnet;
    }

    public string Prefix { get; }

    /// <summary>Third/second octet pair for 10.{Subnet>>8}.{Subnet&amp;255}.0/24, unique per test in this run.</summary>
    public int Subnet { get; }

    public string PodA => Prefix + "-a";
    public string PodB => Prefix + "-b";
    public IPAddress IpA => Ip(2);
    public IPAddress IpB => Ip(3);

    public static string PathOf(string netns) => "/var/run/netns/" + netns;

    public IPAddress Ip(int host) => IPAddress.Parse($"10.{200 + (Subnet >> 8) % 50}.{Subnet & 255}.{host}");

    /// <summary>Creates pods A and B joined by a veth pair. <paramref name="testName"/> names them (truncated).</summary>
    public static async Task<TestNetwork> CreateAsync(string testName)
    {
        Root.Require();
        int n = Interlocked.Increment(ref s_counter);
        int subnet = (Environment.ProcessId * 31 + n * 7) & 0x3fff;
        string shortName = new string(testName.Where(char.IsLetterOrDigit).Take(18).ToArray()).ToLowerInvariant();
        var net = new TestNetwork($"amb-{shortName}-{Environment.ProcessId % 10000}-{n}", subnet);
        try
        {
            await net.AddNamespaceAsync(net.PodA);
            await net.AddNamespaceAsync(net.PodB);
            // Interface names are limited to 15 bytes: keep them short and unique per process/test.
            string va = $"va{Environment.ProcessId % 10000}x{n}";
            string vb = $"vb{Environment.ProcessId % 10000}x{n}";
            await Sh.RunAsync("ip", "link", "add", va, "netns", net.PodA, "type", "veth", "peer", "name", vb, "netns", net.PodB);
            await Sh.RunAsync("ip", "-n", net.PodA, "addr", "add", $"{net.IpA}/24", "dev", va);
            await Sh.RunAsync("ip", "-n", net.PodB, "addr", "add", $"{net.IpB}/24", "dev", vb);
            await Sh.RunAsync("ip", "-n", net.PodA, "link", "set", va, "up");
            await Sh.RunAsync("ip", "-n", net.PodB, "link", "set", vb, "up");
            await Sh.RunAsync("ip", "-n", net.PodA, "route", "add", "default", "dev", va);
            await Sh.RunAsync("ip", "-n", net.PodB, "route", "add", "default", "dev", vb);
            return net;
        }
        catch
        {
            await net.DisposeAsync();
            throw;
        }
    }

    public async Task AddNamespaceAsync(string name)
    {
        await Sh.RunAsync("ip", "netns", "add", name);
        _namespaces.Add(name);
        await Sh.RunAsync("ip", "-n", name, "link", "set", "lo", "up");
    }

    public async Task DeleteNamespaceAsync(string name)
    {
        await Sh.RunAsync("ip", "netns", "del", name);
        _namespaces.Remove(name);
    }

    /// <summary>Starts a process inside <paramref name="netns"/> (nsenter execs it: same PID), tracked for cleanup.</summary>
    public Process StartProcess(string netns, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--net=" + PathOf(netns));
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(file);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    /// <summary>Starts Python's http.server on <paramref name="ip"/>:<paramref name="port"/> in <paramref name="netns"/> and waits until it listens.</summary>
    public async Task<Process> StartHttpServerAsync(string netns, IPAddress ip, int port, string directory)
    {
        var p = StartProcess(netns, "/usr/bin/python3", "-m", "http.server", port.ToString(), "--bind", ip.ToString(), "--directory", directory);
        await Wait.UntilAsync(async () => (await ListeningPortsAsync(netns)).Contains(port), TimeSpan.FromSeconds(10), $"http.server to listen on {ip}:{port} in {netns}");
        return p;
    }

    /// <summary>TCP ports in LISTEN state inside <paramref name="netns"/> (ss).</summary>
    public static async Task<IReadOnlySet<int>> ListeningPortsAsync(string netns)
    {
        string output = await Sh.RunAsync("nsenter", "--net=" + PathOf(netns), "--", "ss", "-Hltn");
        var ports = new HashSet<int>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cols.Length >= 4)
            {
                var local = cols[3];
                if (int.TryParse(local.AsSpan(local.LastIndexOf(':') + 1), out int port))
                {
                    ports.Add(port);
                }
            }
        }
        return ports;
    }

    /// <summary>Runs curl inside <paramref name="netns"/>; returns exit code and body.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> CurlAsync(string netns, string url) =>
        Sh.TryRunAsync("nsenter", "--net=" + PathOf(netns), "--", "curl", "-sS", "--max-time", "10", url);

    /// <summary>A socket created inside <paramref name="netns"/> (its traffic goes through that netns's rules).</summary>
    public static async Task<Socket> SocketInAsync(NetNsExecutor executor, string netns)
    {
        using var ns = NetNs.Open(PathOf(netns));
        return await executor.CreateSocketAsync(ns, AddressFamily.InterNetwork);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
            }
            p.Dispose();
        }
        foreach (var ns in _namespaces.ToArray())
        {
            await Sh.TryRunAsync("ip", "netns", "del", ns); // deleting the netns also deletes its veth end and all its rules
        }
    }
}
