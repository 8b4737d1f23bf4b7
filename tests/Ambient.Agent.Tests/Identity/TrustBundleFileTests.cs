using Ambient.Agent.Identity;
using Ambient.Agent.Tests.Testing;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Tests.Identity;

/// <summary><c>--ca-root-cert</c>: loaded at start (or startup fails), swapped live on change, a bad edit ignored loudly.</summary>
public sealed class TrustBundleFileTests : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("ambient-trust-test-").FullName;
    private readonly ManualTimeProvider _time = new(DateTimeOffset.UnixEpoch.AddYears(60));
    private readonly LogCollector _logs = new();
    private readonly ILoggerFactory _loggers;
    private readonly TestCertificates _first = new("first-root");
    private readonly TestCertificates _second = new("second-root");

    public TrustBundleFileTests() => _loggers = LoggerFactory.Create(b => b.AddProvider(_logs));

    private string RootPath => Path.Combine(_dir, "root-cert.pem");

    /// <summary>Write then rename, as a real root rotation does: readers never see half a file.</summary>
    internal static void WriteAtomically(string path, string content)
    {
        File.WriteAllText(path + ".tmp", content);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    [Fact]
    public async Task TrustBundleFile_NewRootWritten_PickedUpByThePeriodicCheck()
    {
        WriteAtomically(RootPath, _first.RootPem);
        using var file = new TrustBundleFile(RootPath, _time, Poll, _loggers.CreateLogger<TrustBundleFile>());
        var changes = 0;
        file.Changed += _ => Interlocked.Increment(ref changes);

        WriteAtomically(RootPath, _second.RootPem);
        _time.Advance(Poll);

        Assert.Equal(_second.Root.Thumbprint, Assert.Single(file.Current.Roots).Thumbprint);
        // The watcher may have swapped it first and raise its event a moment later (events are raised outside the lock).
        await Wait.UntilAsync(() => Volatile.Read(ref changes) == 1, TimeSpan.FromSeconds(10), "the Changed event");
        _time.Advance(Poll); // unchanged content: no new event
        Assert.Equal(1, Volatile.Read(ref changes));
    }

    [Fact]
    public async Task TrustBundleFile_NewRootWritten_PickedUpByTheWatcherWithoutThePoll()
    {
        WriteAtomically(RootPath, _first.RootPem);
        using var file = new TrustBundleFile(RootPath, _time, Poll, _loggers.CreateLogger<TrustBundleFile>());

        WriteAtomically(RootPath, _first.RootPem + _second.RootPem);

        await Wait.UntilAsync(() => file.Current.Roots.Count == 2, TimeSpan.FromSeconds(10), "the file watcher to load both roots");
        Assert.Equal([_first.Root.Thumbprint, _second.Root.Thumbprint], file.Current.Roots.Select(r => r.Thumbprint));
    }

    [Theory]
    [InlineData("not a certificate at all")]
    [InlineData("-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n")]
    [InlineData("")]
    public void TrustBundleFile_GarbageWritten_KeepsLastGoodAndLogsErrorNamingFile(string garbage)
    {
        WriteAtomically(RootPath, _first.RootPem);
        using var file = new TrustBundleFile(RootPath, _time, Poll, _loggers.CreateLogger<TrustBundleFile>());
        var good = file.Current;

        WriteAtomically(RootPath, garbage);
        _time.Advance(Poll);

        Assert.Same(good, file.Current);
        var error = Assert.Single(_logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains(RootPath, error.Message);
        Assert.Contains("keeping the previous 1 roots", error.Message);
        _time.Advance(Poll); // the same bad content is reported once
        Assert.Single(_logs.Entries, e => e.Level == LogLevel.Error);

        WriteAtomically(RootPath, _second.RootPem); // fixed: picked up again
        _time.Advance(Poll);
        Assert.Equal(_second.Root.Thumbprint, Assert.Single(file.Current.Roots).Thumbprint);
    }

    [Fact]
    public void TrustBundleFile_BadAtStart_ThrowsNamingFlagAndFile()
    {
        File.WriteAllText(RootPath, "garbage");

        var e = Assert.Throws<InvalidDataException>(() => new TrustBundleFile(RootPath, _time, Poll));

        Assert.Contains("--ca-root-cert", e.Message);
        Assert.Contains(RootPath, e.Message);
    }

    public void Dispose()
    {
        _loggers.Dispose();
        _first.Dispose();
        _second.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
