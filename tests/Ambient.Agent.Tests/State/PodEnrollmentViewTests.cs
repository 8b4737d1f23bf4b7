using System.Net;
using Ambient.Agent.InPod;
using Ambient.Agent.State;
using Ambient.Xds.Client;

namespace Ambient.Agent.Tests.State;

public sealed class PodEnrollmentViewTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public void PodEnrollmentView_Applied_PodsKnownByNamespaceAndName()
    {
        var view = new PodEnrollmentView();

        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "a", enrolled: true, uid: "u-a", ip: "10.244.1.1"), Wds.Enrollment("shop", "b", enrolled: false)));

        var a = view.Get("shop", "a");
        Assert.NotNull(a);
        Assert.Equal(("u-a", "node-a", true), (a.Uid, a.Node, a.Enrolled));
        Assert.Equal([IPAddress.Parse("10.244.1.1")], a.Addresses.ToArray());
        Assert.False(view.Get("shop", "b")!.Enrolled);
        Assert.Null(view.Get("shop", "c"));
        Assert.True(view.Synced.IsCompleted);
        Assert.Equal(["a", "b"], view.OnNode("node-a").Select(p => p.Name).Order());
    }

    [Fact]
    public async Task PodEnrollmentView_PodArrivesWhileWaiting_WaitReturnsIt()
    {
        var view = new PodEnrollmentView();
        var wait = view.WaitForPodAsync("shop", "late", Bound, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);

        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "other", true)));
        Assert.False(wait.IsCompleted);
        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "late", true, uid: "u-late")));

        var pod = await wait.WaitAsync(Bound);
        Assert.Equal("u-late", pod?.Uid);
    }

    [Fact]
    public async Task PodEnrollmentView_PodNeverArrives_WaitReturnsNullAfterItsTimeout()
    {
        var view = new PodEnrollmentView();
        var started = DateTime.UtcNow;

        var pod = await view.WaitForPodAsync("shop", "ghost", TimeSpan.FromMilliseconds(200), CancellationToken.None).WaitAsync(Bound);

        Assert.Null(pod);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(150));
        Assert.Null(await view.WaitForPodAsync("shop", "ghost", TimeSpan.Zero, CancellationToken.None).WaitAsync(Bound));
    }

    [Fact]
    public async Task PodEnrollmentView_WaitCancelled_Throws()
    {
        var view = new PodEnrollmentView();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => view.WaitForPodAsync("shop", "x", Bound, cts.Token).WaitAsync(Bound));
    }

    [Fact]
    public async Task PodEnrollmentView_RequireNodeAndPodElsewhere_WaitsUntilItIsPlacedHere()
    {
        var view = new PodEnrollmentView(requireNode: "node-a");
        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "db-0", true, node: "node-b", uid: "old")));

        var wait = view.WaitForPodAsync("shop", "db-0", Bound, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(wait.IsCompleted); // the previous incarnation on node-b is not the pod being added here
        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "db-0", true, node: "node-a", uid: "new")));

        Assert.Equal("new", (await wait.WaitAsync(Bound))?.Uid);
    }

    [Fact]
    public void PodEnrollmentView_EnrollmentFlips_EventsReportEachChangeAndAdapterOnlyFlips()
    {
        var view = new PodEnrollmentView();
        using var adapter = new EnrollmentAdapter(view);
        var events = new List<PodEnrollmentEvent>();
        var flips = new List<EnrollmentChange>();
        view.Changed += events.Add;
        adapter.Changed += flips.Add;

        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "a", true, uid: "u-a"), Wds.Enrollment("shop", "b", true)));
        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "a", true, uid: "u-a"))); // unchanged: no event
        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "a", false, uid: "u-a"), Wds.Enrollment("shop", "b", true, ip: "10.244.1.2")));
        view.Apply(Wds.EnrollmentsRemoved("shop/b"));

        Assert.Equal(["shop/a+", "shop/b+", "shop/a~", "shop/b~", "shop/b-"],
            events.Select(e => e.Key + (e.Previous is null ? "+" : e.Current is null ? "-" : "~")));
        Assert.Equal([new EnrollmentChange("shop", "a", "u-a", false)], flips);
    }

    [Fact]
    public void PodEnrollmentView_InvalidResource_RejectedAndNothingChanges()
    {
        var view = new PodEnrollmentView();
        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "a", true)));
        var before = view.Pods;
        var mismatched = new DeltaUpdate<Ambient.Xds.Protos.Enrollment.PodEnrollment>(Ambient.Xds.TypeUrls.PodEnrollment,
            [new("shop/b", "v1", Wds.Enrollment("shop", "c", true))], [], "2", false);

        Assert.Throws<XdsRejectedException>(() => view.Apply(mismatched));
        Assert.Same(before, view.Pods);
    }

    public static TheoryData<string?, bool, string, string> Decisions => new()
    {
        { null, false, "Unknown", "not synced" },
        { null, true, "Unknown", "does not list pod shop/a" },
        { "enrolled", true, "Enrolled", "u-a" },
        { "not-enrolled", true, "NotEnrolled", "u-a" },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void EnrollmentAdapter_Decide_StatusAndUidOrReason(string? pod, bool synced, string status, string detail)
    {
        var info = pod is null ? null : new PodEnrollmentInfo("shop", "a", "u-a", "node-a", pod == "enrolled", "default", []);

        var d = EnrollmentAdapter.Decide(info, "shop", "a", TimeSpan.FromSeconds(2), synced);

        Assert.Equal(status, d.Status.ToString());
        Assert.Contains(detail, pod is null ? d.Reason : d.PodUid);
    }

    [Fact]
    public async Task EnrollmentAdapter_WaitForPod_AnswersFromTheView()
    {
        var view = new PodEnrollmentView();
        var adapter = new EnrollmentAdapter(view);
        view.Apply(Wds.Enrollments(Wds.Enrollment("shop", "a", true, uid: "u-a"), Wds.Enrollment("shop", "b", false, uid: "u-b")));

        Assert.Equal(new EnrollmentDecision(EnrollmentStatus.Enrolled, "u-a", "ambient enablement selectors match"),
            await adapter.WaitForPodAsync("shop", "a", TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(EnrollmentStatus.NotEnrolled, (await adapter.WaitForPodAsync("shop", "b", TimeSpan.Zero, CancellationToken.None)).Status);
        Assert.Equal(EnrollmentStatus.Unknown, (await adapter.WaitForPodAsync("shop", "c", TimeSpan.FromMilliseconds(20), CancellationToken.None)).Status);
    }
}
