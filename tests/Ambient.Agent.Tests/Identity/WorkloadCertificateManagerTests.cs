using System.Text;
using Ambient.Agent.Identity;
using Microsoft.Extensions.Logging;

namespace Ambient.Agent.Tests.Identity;

/// <summary>
/// The certificate manager against a CA the test answers by hand, in virtual time: prefetch, sharing, renewal at
/// half-life, backoff, priorities, forgetting, live roots. No test sleeps; waits are bounded sync points.
/// </summary>
public sealed class WorkloadCertificateManagerTests
{
    private static readonly Ambient.Identity.SpiffeId Web = ManagerHarness.Id("web");
    private static readonly Ambient.Identity.SpiffeId Db = ManagerHarness.Id("db");

    [Fact]
    public async Task GetAsync_ConcurrentCallersSameIdentity_ShareOneFetch()
    {
        await using var h = await ManagerHarness.StartAsync();

        var gets = Enumerable.Range(0, 8).Select(_ => h.Manager.GetAsync(Web, CancellationToken.None).AsTask()).ToArray();
        var call = await h.Ca.NextAsync();
        Assert.All(gets, g => Assert.False(g.IsCompleted));
        Assert.Equal("fetching", h.Status(Web)?.State);
        var cert = h.Issue(Web);
        call.Succeed(cert);
        var results = await Task.WhenAll(gets);

        Assert.Equal(Web, call.Id);
        Assert.All(results, r => Assert.Same(cert, r));
        Assert.Equal(1, h.Ca.Count);
        Assert.True(h.Ca.Idle);
        Assert.Same(cert, await h.Manager.GetAsync(Web, CancellationToken.None)); // cached now: no second fetch
        Assert.Equal(1, h.Ca.Count);
        h.AssertNoErrors();
    }

    [Fact]
    public async Task LocalHboneWorkload_Appears_PrefetchedOncePerServiceAccount()
    {
        await using var h = await ManagerHarness.StartAsync();

        h.SetWorkload("web-1", "web");
        h.SetWorkload("web-2", "web");
        var call = await h.Ca.NextAsync("the warm-up fetch");
        var cert = h.Issue(Web);
        call.Succeed(cert);
        await h.WaitCachedAsync(cert);

        Assert.Equal(Web, call.Id);
        Assert.Equal(1, h.Ca.Count); // one certificate per identity, not per pod
        var status = h.Status(Web)!;
        Assert.Equal(("valid", true, cert.RenewAt), (status.State, status.Local, status.NextAttempt));
    }

    [Fact]
    public async Task Workloads_OtherNodeOrNotHbone_NotPrefetchedUntilCapturedHere()
    {
        await using var h = await ManagerHarness.StartAsync();

        h.SetWorkload("db-1", "db", node: "node-b");
        h.SetWorkload("web-1", "web", hbone: false);

        Assert.Empty(h.Manager.Status()); // decided synchronously on the store's change: nothing queued
        h.SetWorkload("web-1", "web", hbone: true);
        var call = await h.Ca.NextAsync("the fetch once web-1 is HBONE");
        Assert.Equal(Web, call.Id);
        Assert.True(h.Ca.Idle);
    }

    [Fact]
    public async Task Renewal_AtHalfLife_NewCertFetchedWhileOldStillReturned()
    {
        await using var h = await ManagerHarness.StartAsync();
        h.SetWorkload("web-1", "web");
        var old = h.Issue(Web);
        (await h.Ca.NextAsync()).Succeed(old);
        await h.WaitCachedAsync(old);

        h.Time.Advance(old.RenewAt - h.Time.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.True(h.Ca.Idle, "nothing is fetched before half-life");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var renewal = await h.Ca.NextAsync("the renewal at half-life");

        Assert.Equal(old.RenewAt, renewal.At);
        Assert.Equal(old.NotBefore + ManagerHarness.Ttl / 2, renewal.At);
        Assert.Same(old, await h.Manager.GetAsync(Web, CancellationToken.None)); // renewal never blocks a caller
        Assert.Equal("renewing", h.Status(Web)?.State);
        var fresh = h.Issue(Web);
        renewal.Succeed(fresh);
        await h.WaitCachedAsync(fresh);
        Assert.Same(fresh, await h.Manager.GetAsync(Web, CancellationToken.None));
        Assert.Equal(fresh.RenewAt, h.Status(Web)?.NextAttempt);
        Assert.Equal(2, h.Ca.Count);
        h.AssertNoErrors();
    }

    [Fact]
    public async Task Renewal_NotBeforeBackdatedPastHalfLife_RenewsHalfwayThroughWhatIsLeft()
    {
        await using var h = await ManagerHarness.StartAsync();
        h.SetWorkload("web-1", "web");
        // A 20 s certificate back-dated by a minute (the CA's clock-skew allowance): its half-life point has passed.
        var now = h.Time.GetUtcNow();
        var shortLived = h.Certs.Issue(Web, now - TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(80));
        Assert.True(shortLived.RenewAt < now);

        (await h.Ca.NextAsync()).Succeed(shortLived);
        await h.WaitCachedAsync(shortLived);

        Assert.Equal(now + TimeSpan.FromSeconds(10), h.Status(Web)?.NextAttempt);
        Assert.True(h.Ca.Idle, "not re-fetched at once");
        h.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(now + TimeSpan.FromSeconds(10), (await h.Ca.NextAsync("the renewal")).At);
    }

    [Fact]
    public async Task Renewal_CaFails_BackoffDoublesAndOldCertKept()
    {
        await using var h = await ManagerHarness.StartAsync();
        h.SetWorkload("web-1", "web");
        var old = h.Issue(Web);
        (await h.Ca.NextAsync()).Succeed(old);
        await h.WaitCachedAsync(old);
        h.Time.Advance(old.RenewAt - h.Time.GetUtcNow());

        var expected = new[] { 0.5, 1, 2, 4 }.Select(TimeSpan.FromSeconds).ToArray();
        FakeCaClient.Call? call = null;
        foreach (var delay in expected)
        {
            call = await h.Ca.NextAsync("a renewal attempt");
            call.Fail(CaFetchReason.Unavailable, "connection refused");
            var retryAt = call.At + delay;
            await h.WaitAsync(() => h.Status(Web) is { State: "backoff" } s && s.NextAttempt == retryAt, $"a retry scheduled {delay} after {call.At:o}");
            Assert.Same(old, await h.Manager.GetAsync(Web, CancellationToken.None));
            Assert.Contains("connection refused", h.Status(Web)!.LastError);
            h.Time.Advance(delay);
        }
        var last = await h.Ca.NextAsync("the attempt after the last backoff");
        Assert.Equal(call!.At + expected[^1], last.At);
        var fresh = h.Issue(Web);
        last.Succeed(fresh);
        await h.WaitCachedAsync(fresh);

        var status = h.Status(Web)!;
        Assert.Equal(("valid", (string?)null, (DateTimeOffset?)fresh.RenewAt), (status.State, status.LastError, status.NextAttempt));
        Assert.Equal((2L, 4L), (h.Metrics.FetchesOk, h.Metrics.FetchesFailed(CaFetchReason.Unavailable)));
        var metrics = new StringBuilder();
        h.Manager.WriteMetrics(metrics);
        Assert.Contains("ambient_agent_certificates 1\n", metrics.ToString());
        Assert.Contains("ambient_agent_certificate_fetches_total{result=\"failed\",reason=\"unavailable\"} 4\n", metrics.ToString());
        Assert.Contains(h.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(Web.ToString()) && e.Message.Contains("keeping the current certificate"));
        h.AssertNoErrors();
    }

    [Fact]
    public async Task Backoff_CaKeepsFailing_DoublesUpTo150Seconds()
    {
        await using var h = await ManagerHarness.StartAsync();
        h.SetWorkload("web-1", "web");

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 12; i++)
        {
            var call = await h.Ca.NextAsync($"attempt {i + 1}");
            call.Fail();
            await h.WaitAsync(() => h.Status(Web) is { State: "backoff", NextAttempt: { } at } && at > call.At, "a retry to be scheduled");
            var delay = h.Status(Web)!.NextAttempt!.Value - call.At;
            delays.Add(delay);
            h.Time.Advance(delay);
        }

        Assert.Equal(new[] { 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 150, 150, 150 }.Select(TimeSpan.FromSeconds), delays);
        Assert.False(h.Manager.TryGetCached(Web, out _));
    }

    [Fact]
    public async Task GetAsync_CaRefusesAndNothingCached_ThrowsNamingIdentityAndReasonThenForgets()
    {
        await using var h = await ManagerHarness.StartAsync();

        var get = h.Manager.GetAsync(Db, CancellationToken.None).AsTask();
        (await h.Ca.NextAsync()).Fail(CaFetchReason.PermissionDenied, $"the CA refused {Db} to node node-a (PermissionDenied)");
        var e = await Assert.ThrowsAsync<IdentityUnavailableException>(() => get);

        Assert.Equal((Db, CaFetchReason.PermissionDenied), (e.Identity, e.Reason));
        Assert.Contains(Db.ToString(), e.Message);
        Assert.Contains("PermissionDenied", e.Message);
        await h.WaitAsync(() => h.Manager.Status().Count == 0, "the failed, unused identity to be forgotten");
        h.Time.Advance(TimeSpan.FromHours(1));
        Assert.True(h.Ca.Idle, "an identity no workload here uses is not retried");
    }

    [Fact]
    public async Task Workloads_LastLocalWorkloadLeaves_CertDroppedAndNotRenewed()
    {
        await using var h = await ManagerHarness.StartAsync();
        h.SetWorkload("web-1", "web");
        h.SetWorkload("web-2", "web");
        var cert = h.Issue(Web);
        (await h.Ca.NextAsync()).Succeed(cert);
        await h.WaitCachedAsync(cert);

        h.RemoveWorkload("web-1");
        Assert.True(h.Manager.TryGetCached(Web, out _), "web-2 still uses the identity");
        h.RemoveWorkload("web-2");

        Assert.False(h.Manager.TryGetCached(Web, out _));
        Assert.Empty(h.Manager.Status());
        h.Time.Advance(ManagerHarness.Ttl);
        Assert.True(h.Ca.Idle, "a forgotten certificate is not renewed");
        Assert.Equal(1, h.Ca.Count);
    }

    [Fact]
    public async Task Queue_OneSlotBusy_RealTimeRunsBeforeWarmup()
    {
        await using var h = await ManagerHarness.StartAsync(maxConcurrentFetches: 1);
        var busy = h.Manager.GetAsync(ManagerHarness.Id("first"), CancellationToken.None).AsTask();
        var first = await h.Ca.NextAsync();

        h.SetWorkload("b-1", "b");
        h.SetWorkload("c-1", "c");
        var urgent = h.Manager.GetAsync(Db, CancellationToken.None).AsTask();
        Assert.True(h.Ca.Idle, "one slot: nothing else runs while the first fetch does");
        first.Succeed(h.Issue(first.Id));
        var order = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var call = await h.Ca.NextAsync();
            order.Add(call.Id.ServiceAccount);
            call.Succeed(h.Issue(call.Id));
        }

        Assert.Equal(["db", "b", "c"], order);
        await busy;
        await urgent;
    }

    [Fact]
    public async Task GetAsync_ForeignTrustDomain_RefusedWithoutAskingTheCa()
    {
        await using var h = await ManagerHarness.StartAsync();
        var foreign = Ambient.Identity.SpiffeId.Create("other.domain", "shop", "web");

        var e = await Assert.ThrowsAsync<IdentityUnavailableException>(() => h.Manager.GetAsync(foreign, CancellationToken.None).AsTask());

        Assert.Equal(CaFetchReason.ForeignTrustDomain, e.Reason);
        Assert.Contains("--trust-domain", e.Message);
        Assert.Equal(0, h.Ca.Count);
    }

    [Fact]
    public async Task TrustBundle_RootFileReplaced_SwappedLiveAndCaChannelRebuilt()
    {
        await using var h = await ManagerHarness.StartAsync();
        using var rotated = new TestCertificates("rotated-root");
        var before = h.Manager.TrustBundle;

        TrustBundleFileTests.WriteAtomically(h.RootPath, rotated.RootPem);
        h.Time.Advance(h.Options.RootCertPollInterval); // the periodic re-read, in case the watcher has not fired yet

        Assert.NotSame(before, h.Manager.TrustBundle);
        Assert.Equal(rotated.Root.Thumbprint, Assert.Single(h.Manager.TrustBundle.Roots).Thumbprint);
        await h.WaitAsync(() => h.Ca.TrustChanges >= 1, "the CA client to drop connections verified against the old root");
        h.AssertNoErrors();
    }
}
