using Ambient.Hbone.Internal;
using Microsoft.Extensions.Logging;

namespace Ambient.Hbone;

/// <summary>
/// Serves one accepted, authenticated HBONE connection:
/// <code>
///   HEADERS ──▶ CONNECT with :authority, no :scheme/:path? ──no──▶ 400
///                    └─yes──▶ handler.HandleAsync on its own task ──▶ stream disposed when it returns
///   ct ──▶ GOAWAY(last stream) ──▶ open streams run up to DrainTimeout ──▶ close
/// </code>
/// Protocol errors end in GOAWAY and a close; nothing but cancellation escapes to the caller (the accept loop never dies).
/// </summary>
public static class HboneServer
{
    public static async Task ServeAsync(HboneTlsSession session, IHboneHandler handler, HboneServerOptions options, ILogger logger, CancellationToken ct)
    {
        var connection = new H2Connection(session.Stream, H2ConnectionSettings.From(options), logger);
        var handlers = new HashSet<Task>();
        connection.OnRequest = (stream, headers) =>
        {
            var request = Validate(connection, stream, headers, session, logger);
            if (request is null)
                return;
            var task = Task.Run(() => RunHandlerAsync(handler, request, connection, logger));
            lock (handlers)
                handlers.Add(task);
            _ = task.ContinueWith(t => { lock (handlers) handlers.Remove(t); }, TaskScheduler.Default);
        };
        try
        {
            connection.Start();
            try
            {
                await connection.Completion.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Graceful drain (protocol facts §f, ztunnel drain.rs).
                connection.BeginDrain();
                await connection.WaitForStreamsAsync(options.DrainTimeout).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            connection.Abort(e as IOException ?? new IOException(e.Message, e));
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            Task[] pending;
            lock (handlers)
                pending = [.. handlers];
            // Handlers see the connection's token cancelled and their streams failed; give them a moment to unwind.
            await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        }
    }

    /// <summary>RFC 9113 §8.5: CONNECT carries :method and :authority only. Anything else gets 400 here.</summary>
    private static HboneInboundRequest? Validate(H2Connection connection, HboneStream stream, List<KeyValuePair<string, string>> headers,
        HboneTlsSession session, ILogger logger)
    {
        string method = "", authority = "";
        bool extra = false;
        var regular = new List<KeyValuePair<string, string>>(headers.Count);
        foreach (var h in headers)
        {
            switch (h.Key)
            {
                case ":method": method = h.Value; break;
                case ":authority": authority = h.Value; break;
                default:
                    if (h.Key.StartsWith(':'))
                        extra = true; // :scheme, :path, :protocol (extended CONNECT) or unknown
                    else
                        regular.Add(h);
                    break;
            }
        }
        if (method != "CONNECT" || authority.Length == 0 || extra)
        {
            HboneLog.NotConnect(logger, method, authority);
            stream.StatusCode = 400;
            try
            {
                connection.RejectStream(stream, 400);
            }
            catch (IOException)
            {
                // The client already reset it.
            }
            stream.Dispose();
            return null;
        }
        return new HboneInboundRequest(stream, method, authority, regular, session.PeerIdentity);
    }

    private static async Task RunHandlerAsync(IHboneHandler handler, HboneInboundRequest request, H2Connection connection, ILogger logger)
    {
        try
        {
            await handler.HandleAsync(request, connection.Closing).ConfigureAwait(false);
            if (!request.Responded)
                connection.ResetStream(request.Stream, Http2ErrorCode.InternalError, new IOException("the HBONE handler returned without answering"));
        }
        catch (Exception e)
        {
            if (!connection.Closing.IsCancellationRequested)
                HboneLog.HandlerFailed(logger, e, request.Stream.Id, request.PeerIdentity.ToString());
            connection.ResetStream(request.Stream, Http2ErrorCode.InternalError, new IOException("the HBONE handler failed", e));
        }
        finally
        {
            // The handler owns the stream until it returns; whatever it left half-open is reset.
            request.Stream.Dispose();
        }
    }
}
