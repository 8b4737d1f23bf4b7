using Ambient.Agent.Identity;
using Ambient.Agent.State;
using Ambient.Agent.Tests.State;
using Ambient.Agent.Tests.Testing;
using Ambient.Identity;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Tests.Identity;

/// <summary>
/// A <see cref="WorkloadCertificateManager"/> for node-a over virtual time, a <see cref="FakeCaClient"/>, a real
/// <see cref="WorkloadStore"/> and a root file in a temporary directory.
/// </summary>
public sealed class ManagerHarness : IAsyncDisposable
{
    public const string Node = "node-a";
    public static readonly TimeSpan Ttl = TimeSpan.FromHours(24);

    private readonly ILoggerFactory _loggers;
    private int _nextIp = 1;

    private ManagerHarness(int maxConcurrentFetches)
    {
        Dir = Directory.CreateTempSubdirectory("ambient-identity-test-").FullName;
        File.WriteAllText(RootPath, Certs.RootPem);
        _loggers = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        Ca = new FakeCaClient(Time);
        Options = new IdentityOptions { CaSocket = "/unused", CaRootCert = RootPath, CaTokenFile = "/unused", MaxConcurrentFetches = maxConcurrentFetches };
        Trust = new TrustBundleFile(RootPath, Time, Options.RootCertPollInterval, _loggers.CreateLogger<TrustBundleFile>());
        Manager = new WorkloadCertificateManager(Options, Node, Ca, Trust, Time, Metrics, Store, _loggers.CreateLogger<WorkloadCertificateManager>());
    }

    /// <summary>Whole seconds, as X.509 validity is.</summary>
    public ManualTimeProvider Time { get; } = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public FakeCaClient Ca { get; }
    public TestCertificates Certs { get; } = new();
    public WorkloadStore Store { get; } = new();
    public LogCollector Logs { get; } = new();
    public IdentityMetrics Metrics { get; } = new();
    public IdentityOptions Options { get; }
    public string Dir { get; }
    public string RootPath => Path.Combine(Dir, "root-cert.pem");
    public TrustBundleFile Trust { get; }
    public WorkloadCertificateManager Manager { get; }

    public static async Task<ManagerHarness> StartAsync(int maxConcurrentFetches = 4)
    {
        var h = new ManagerHarness(maxConcurrentFetches);
        await h.Manager.StartAsync(CancellationToken.None);
        return h;
    }

    public static SpiffeId Id(string sa, string ns = "shop") => SpiffeId.Create("cluster.local", ns, sa);

    public WorkloadCertificate Issue(SpiffeId id) => Certs.Issue(id, Time.GetUtcNow(), Ttl);

    /// <summary>Adds (or replaces) pod <paramref name="name"/> of account <paramref name="sa"/> in namespace shop.</summary>
    public void SetWorkload(string name, string sa, string node = Node, bool hbone = true)
    {
        var w = Wds.Workload("shop", name, $"10.244.1.{Interlocked.Increment(ref _nextIp)}", node, hbone: hbone);
        w.ServiceAccount = sa;
        Store.ApplyAddresses(Wds.Update(Wds.Res(w)));
    }

    public void RemoveWorkload(string name) => Store.ApplyAddresses(Wds.Remove(Wds.Uid("shop", name)));

    public CertificateStatus? Status(SpiffeId id) => Manager.Status().SingleOrDefault(s => s.Identity == id.ToString());

    public Task WaitAsync(Func<bool> condition, string what) => Wait.UntilAsync(condition, TimeSpan.FromSeconds(10), what);

    /// <summary>Waits until the manager holds exactly <paramref name="cert"/> for its identity.</summary>
    public Task WaitCachedAsync(WorkloadCertificate cert) =>
        WaitAsync(() => Manager.TryGetCached(cert.Identity, out var c) && ReferenceEquals(c, cert), $"{cert.Identity} to be cached (serial {cert.Leaf.SerialNumber})");

    /// <summary>An Error log means our bug (or, where a test expects one, exactly what it asserts).</summary>
    public void AssertNoErrors() => Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error);

    public async ValueTask DisposeAsync()
    {
        await Manager.StopAsync(CancellationToken.None);
        Manager.Dispose();
        Trust.Dispose();
        Certs.Dispose();
        _loggers.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
