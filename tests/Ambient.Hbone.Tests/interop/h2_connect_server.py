"""Independent HTTP/2 peer for interop tests: a python-h2 server over TLS 1.3 with client auth, ALPN h2.

Answers CONNECT with 200 (plus a Huffman-coded response header) and echoes DATA; half-closes when the client does.
Prints the port on stdout, then serves until killed. Usage: h2_connect_server.py CERT KEY CA
"""
import socket, ssl, sys, threading
import h2.config, h2.connection, h2.events


def serve(sock, ctx):
    try:
        tls = ctx.wrap_socket(sock, server_side=True)
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                                                        # h2 4.1 wrongly demands :path on CONNECT (RFC 9113 §8.5 forbids it)
                                                                        validate_inbound_headers=False))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        while True:
            data = tls.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    headers = dict(event.headers)
                    if headers.get(":method") == "CONNECT":
                        conn.send_headers(event.stream_id, [(":status", "200"), ("baggage", "k8s.namespace.name=python-ns,service.name=echo")])
                    else:
                        conn.send_headers(event.stream_id, [(":status", "400")], end_stream=True)
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    if event.data:
                        conn.send_data(event.stream_id, event.data)
                elif isinstance(event, h2.events.StreamEnded):
                    conn.end_stream(event.stream_id)
            tls.sendall(conn.data_to_send())
    except Exception as e:  # a test peer: report and drop the connection
        print("server error:", repr(e), file=sys.stderr, flush=True)


def main():
    cert, key, ca = sys.argv[1:4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock, ctx), daemon=True).start()


main()
