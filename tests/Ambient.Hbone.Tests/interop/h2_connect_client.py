"""Independent HTTP/2 client for interop tests: python-h2 over TLS 1.3 with a client certificate.

Sends a CONNECT to AUTHORITY with some data and END_STREAM, and a GET on a second stream; prints one line per stream:
"<stream> <status> <echoed body>". Usage: h2_connect_client.py PORT CERT KEY CA AUTHORITY
"""
import socket, ssl, sys
import h2.config, h2.connection, h2.events


def main():
    port, cert, key, ca, authority = sys.argv[1:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.check_hostname = False  # HBONE has no SNI or host names: identity is the URI SAN
    ctx.set_alpn_protocols(["h2"])
    tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))))
    assert tls.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                                       # h2 4.1 wrongly demands :path on CONNECT (RFC 9113 §8.5 forbids it)
                                                                       validate_outbound_headers=False))
    conn.initiate_connection()
    connect = conn.get_next_available_stream_id()
    conn.send_headers(connect, [(":method", "CONNECT"), (":authority", authority), ("baggage", "k8s.cluster.name=python")])
    conn.send_data(connect, b"ping-from-python", end_stream=True)
    get = conn.get_next_available_stream_id()
    conn.send_headers(get, [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", authority)], end_stream=True)
    tls.sendall(conn.data_to_send())
    status, body, done = {}, {connect: b"", get: b""}, set()
    while len(done) < 2:
        data = tls.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status[event.stream_id] = dict(event.headers)[":status"]
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                body[event.stream_id] += event.data
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                done.add(event.stream_id)
        tls.sendall(conn.data_to_send())
    for sid in (connect, get):
        print(sid, status.get(sid, "none"), body[sid].decode(), flush=True)
    conn.close_connection()
    tls.sendall(conn.data_to_send())
    tls.close()


main()
