using System.Buffers;
using Ambient.Hbone.Internal;
using Ambient.Hbone.Internal.Hpack;
using Microsoft.Extensions.Logging;

namespace Ambient.Hbone;

/// <summary>
/// HBONE tunnels shared per <see cref="HbonePoolKey"/> (protocol facts §f):
/// <code>
///   ConnectAsync ──▶ live connection for the key with a free slot? ──yes──▶ CONNECT on it
///                          └─no──▶ someone already opening one? ──yes──▶ wait for it, look again
///                                        └─no──▶ openConnection (TCP + TLS, caller's netns) ──▶ HTTP/2 client
/// </code>
/// Connections that received GOAWAY or died leave the pool at once; idle ones (no streams) after <see cref="HboneClientOptions.IdleTimeout"/>.
/// A stream the peer did not process (REFUSED_STREAM, beyond GOAWAY) is retried on another connection.
/// </summary>
public sealed class HboneClientPool : IAsyncDisposable
{
    private const int MaxAttempts = 3;

    private readonly HboneClientOptions _options;
    private readonly H2ConnectionSettings _settings;
    private readonly ILogger<HboneClientPool> _logger;
    private readonly object _lock = new();
    private readonly Dictionary<HbonePoolKey, Entry> _entries = [];
    private readonly HashSet<H2Connection> _all = [];
    private readonly CancellationTokenSource _disposing = new();
    private readonly Timer _sweeper;
    private bool _disposed;

    private sealed class Entry
    {
        public readonly List<H2Connection> Connections = [];
        public Task<H2Connection>? Opening;
    }

    public HboneClientPool(HboneClientOptions options, ILogger<HboneClientPool> logger)
    {
        _options = options;
        _settings = H2ConnectionSettings.From(options);
        _settings.Validate();
        _logger = logger;
        var period = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(30).Ticks));
        _sweeper = new Timer(_ => Sweep(), null, period, period);
    }

    /// <summary>Connections the pool may hand out (live, not going away).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_lock)
                return _entries.Values.Sum(e => e.Connections.Count(c => c.IsUsable));
        }
    }

    public async Task<HboneStream> ConnectAsync(HbonePoolKey key, HboneRequest request, Func<CancellationToken, Task<HboneTlsSession>> openConnection, CancellationToken ct)
    {
        var block = EncodeRequest(request);
        for (int attempt = 1; ; attempt++)
        {
            var connection = await AcquireAsync(key, openConnection, ct).ConfigureAwait(false);
            HboneStream stream;
            try
            {
                stream = connection.OpenStream(block.WrittenSpan);
            }
            catch (Exception)
            {
                connection.ReleaseReservation();
                if (attempt < MaxAttempts && !ct.IsCancellationRequested)
                    continue; // the connection went away between reservation and open
                throw;
            }
            try
            {
                await stream.ResponseTask.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (HboneStreamRefusedException) when (attempt < MaxAttempts)
            {
                stream.Dispose();
                continue;
            }
            catch (Exception)
            {
                stream.Dispose(); // resets it unless it is already closed
                throw;
            }
            if (stream.StatusCode != 200)
            {
                int status = stream.StatusCode;
                stream.Dispose();
                throw new HboneConnectException(status);
            }
            return stream;
        }
    }

    /// <summary>CONNECT request block (RFC 9113 §8.5): :method and :authority only, then the extra headers.</summary>
    private static ArrayBufferWriter<byte> EncodeRequest(HboneRequest request)
    {
        if (string.IsNullOrEmpty(request.Authority))
            throw new ArgumentException("CONNECT needs an authority (ip:port)", nameof(request));
        var block = new ArrayBufferWriter<byte>(128);
        HpackEncoder.WriteLiteral(block, StaticTable.MethodGet, "CONNECT");
        HpackEncoder.WriteLiteral(block, StaticTable.Authority, request.Authority);
        foreach (var h in request.Headers)
        {
            if (h.Key.Length == 0 || h.Key[0] == ':')
                throw new ArgumentException($"header '{h.Key}' is not a regular header name", nameof(request));
            HpackEncoder.WriteLiteral(block, h.Key.ToLowerInvariant(), h.Value);
        }
        return block;
    }

    /// <summary>A connection for <paramref name="key"/> with one stream slot reserved for the caller.</summary>
    private async Task<H2Connection> AcquireAsync(HbonePoolKey key, Func<CancellationToken, Task<HboneTlsSession>> openConnection, CancellationToken ct)
    {
        while (true)
        {
            Task<H2Connection> opening;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!_entries.TryGetValue(key, out var entry))
                    _entries[key] = entry = new Entry();
                entry.Connections.RemoveAll(c => !c.IsUsable);
                foreach (var c in entry.Connections)
                {
                    if (c.TryReserveStream(_options.MaxStreamsPerConnection))
                        return c;
                }
                // One opening per key at a time: simultaneous first requests share it.
                entry.Opening ??= Task.Run(() => OpenAsync(key, entry, openConnection));
                opening = entry.Opening;
            }
            await opening.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task<H2Connection> OpenAsync(HbonePoolKey key, Entry entry, Func<CancellationToken, Task<HboneTlsSession>> openConnection)
    {
        try
        {
            // Not the first caller's token: other callers wait on this connection too.
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
            cts.CancelAfter(_options.ConnectTimeout);
            HboneTlsSession session;
            try
            {
                session = await openConnection(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_disposing.IsCancellationRequested)
            {
                throw new IOException($"opening an HBONE connection to {key.Destination} took longer than {_options.ConnectTimeout.TotalSeconds:0.###} s");
            }
            var connection = new H2Connection(session.Stream, _settings, _logger);
            connection.StateChanged += OnStateChanged;
            lock (_lock)
            {
                if (_disposed)
                {
                    session.Stream.Dispose();
                    throw new ObjectDisposedException(nameof(HboneClientPool));
                }
                connection.Start();
                entry.Connections.Add(connection);
                _all.Add(connection);
                entry.Opening = null;
            }
            HboneLog.PoolOpened(_logger, connection.Id, key.Destination, key.Source.ToString());
            return connection;
        }
        catch
        {
            lock (_lock)
                entry.Opening = null;
            throw;
        }
    }

    private void OnStateChanged(H2Connection connection)
    {
        lock (_lock)
        {
            if (connection.IsClosed)
                _all.Remove(connection);
            foreach (var entry in _entries.Values)
            {
                if (!connection.IsUsable)
                    entry.Connections.Remove(connection);
            }
        }
    }

    /// <summary>Closes connections idle for <see cref="HboneClientOptions.IdleTimeout"/> and forgets empty keys.</summary>
    private void Sweep()
    {
        var idle = new List<H2Connection>();
        long now = Environment.TickCount64;
        lock (_lock)
        {
            if (_disposed)
                return;
            foreach (var (key, entry) in _entries.ToList())
            {
                // Checked under the pool lock, where reservations happen, so no caller can be handed a connection we close.
                foreach (var c in entry.Connections.ToList())
                {
                    if (!c.IsUsable)
                    {
                        entry.Connections.Remove(c);
                    }
                    else if (c.ActiveStreams == 0 && now - c.IdleSinceTicks >= _options.IdleTimeout.TotalMilliseconds)
                    {
                        entry.Connections.Remove(c);
                        idle.Add(c);
                        HboneLog.PoolReleased(_logger, c.Id, key.Destination, "idle");
                    }
                }
                if (entry.Connections.Count == 0 && entry.Opening is null)
                    _entries.Remove(key);
            }
        }
        foreach (var c in idle)
            _ = c.CloseGracefullyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        H2Connection[] all;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            all = [.. _all];
            _all.Clear();
            _entries.Clear();
        }
        _disposing.Cancel();
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(all.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
        _disposing.Dispose();
    }
}
