using System.Threading.Channels;
using Ambient.Agent.Identity;
using Ambient.Identity;

namespace Ambient.Agent.Tests.Identity;

/// <summary>
/// A CA the test answers by hand: every fetch becomes a <see cref="Call"/> the test takes with <see cref="NextAsync"/>
/// (a sync point) and completes with a certificate or a failure.
/// </summary>
public sealed class FakeCaClient(TimeProvider time) : ICaClient
{
    private readonly Channel<Call> _calls = Channel.CreateUnbounded<Call>();
    private int _count;
    private int _trustChanges;

    public int Count => Volatile.Read(ref _count);

    public int TrustChanges => Volatile.Read(ref _trustChanges);

    public Task<WorkloadCertificate> FetchAsync(SpiffeId id, TrustBundle trust, CancellationToken ct)
    {
        var call = new Call(id, time.GetUtcNow());
        Interlocked.Increment(ref _count);
        _calls.Writer.TryWrite(call);
        return call.Result.Task.WaitAsync(ct);
    }

    public void OnTrustChanged() => Interlocked.Increment(ref _trustChanges);

    /// <summary>The next fetch the manager makes (waits up to 10 s of real time for it).</summary>
    public async Task<Call> NextAsync(string what = "a certificate fetch")
    {
        try
        {
            return await _calls.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out waiting for {what}");
        }
    }

    /// <summary>True when no fetch has been made that the test has not taken.</summary>
    public bool Idle => !_calls.Reader.TryPeek(out _);

    public sealed class Call(SpiffeId id, DateTimeOffset at)
    {
        public SpiffeId Id { get; } = id;

        /// <summary>Virtual time when the manager called.</summary>
        public DateTimeOffset At { get; } = at;

        public TaskCompletionSource<WorkloadCertificate> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Succeed(WorkloadCertificate cert) => Result.SetResult(cert);

        public void Fail(string reason = CaFetchReason.Unavailable, string message = "the CA is down") =>
            Result.SetException(new CaFetchException(reason, message));
    }
}
