#!/usr/bin/python3
"""Pretty-prints the control plane's /debug/snapshot (argument "snapshot") or xds_probe.py output ("probe") from stdin."""
import json
import sys

data = json.load(sys.stdin)
short = lambda t: t.split("/")[-1]
if sys.argv[1] == "snapshot":
    for t, resources in data["types"].items():
        print(f"  {short(t):<45} {len(resources)} resources")
else:
    for flavour in ("sotw", "delta"):
        for t, resources in data[flavour].items():
            print(f"  {flavour:<5} {short(t):<45} {', '.join(sorted(resources))}")
