#!/usr/bin/python3
"""A proxyless gRPC client (gRPC C-core's xds resolver, not our code) calling xds:///TARGET.

usage: proxyless_client.py XDS_SERVER TARGET CALLS
Writes a bootstrap pointing at XDS_SERVER, makes CALLS unary calls and prints JSON {"backends": {name: count}}.
"""
import json
import os
import sys
import tempfile


def main():
    xds_server, target, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    bootstrap = {
        "xds_servers": [{
            "server_uri": xds_server,
            "channel_creds": [{"type": "insecure"}],
            "server_features": ["xds_v3"],
        }],
        "node": {
            "id": "sidecar~127.0.0.1~proxyless-client.default~default.svc.cluster.local",
            "metadata": {"GENERATOR": "grpc"},
            "locality": {},
        },
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(bootstrap, f)
    os.environ["GRPC_XDS_BOOTSTRAP"] = f.name
    import grpc  # after GRPC_XDS_BOOTSTRAP is set

    counts = {}
    errors = []
    try:
        with grpc.insecure_channel(f"xds:///{target}") as channel:
            who = channel.unary_unary("/ambient.test.Echo/Who")
            for _ in range(calls):
                try:
                    name = who(b"", timeout=10, wait_for_ready=True).decode()
                    counts[name] = counts.get(name, 0) + 1
                except grpc.RpcError as e:
                    errors.append(f"{e.code()}: {e.details()}")
    finally:
        os.unlink(f.name)
    print(json.dumps({"backends": counts, "errors": errors[:5]}), flush=True)


if __name__ == "__main__":
    main()
