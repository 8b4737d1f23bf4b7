#!/usr/bin/python3
"""A gRPC backend we did not write the stack of: answers /ambient.test.Echo/Who with its own name.

usage: backend.py HOST PORT NAME [--until-killed]
Prints "ready" once serving; exits on SIGTERM, or when stdin closes unless --until-killed.
"""
import sys
import threading
from concurrent import futures

import grpc


def main():
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def who(request, context):
        return name.encode()

    handler = grpc.method_handlers_generic_handler(
        "ambient.test.Echo", {"Who": grpc.unary_unary_rpc_method_handler(who)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    print("ready", flush=True)
    # Stop when the parent goes away (stdin closes), so no server outlives its test.
    if "--until-killed" not in sys.argv:
        threading.Thread(target=lambda: (sys.stdin.read(), server.stop(0)), daemon=True).start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
