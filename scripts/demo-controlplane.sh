#!/usr/bin/env bash
# make demo: the control plane serving a manifest directory, two real gRPC backends, and clients we did not
# write (gRPC C-core's xds resolver; a Python xDS probe) talking to it. Ctrl+C (or end of input) stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
XDS=127.0.0.1:15010
STATUS=127.0.0.1:15014
config=$(mktemp -d /tmp/ambient-demo-XXXX)
cp examples/proxyless-grpc/*.yaml "$config/"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$config"
}
trap cleanup EXIT INT TERM

out/bin/ambient-controlplane --config-dir "$config" --xds-address $XDS --status-address $STATUS --log-level Warning &
pids+=($!)
for name in 1 2; do
    $PY tests/interop/backend.py 127.0.0.1$name 50051 echo-$name --until-killed >/dev/null &
    pids+=($!)
done
for _ in $(seq 1 100); do curl -sf "http://$STATUS/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://$STATUS/ready" >/dev/null || { echo "control plane did not become ready" >&2; exit 1; }

echo "== control plane ready on $XDS (ADS, SotW + Delta); snapshot:"
curl -s "http://$STATUS/debug/snapshot" | $PY scripts/demo_summary.py snapshot
echo "== an independent xDS client (Python gRPC) subscribes to every type over SotW and Delta:"
$PY tests/interop/xds_probe.py $XDS lib/Ambient.Xds/Protos | $PY scripts/demo_summary.py probe
echo "== a proxyless gRPC client calls xds:///echo.shop.svc.cluster.local:7070 20 times:"
$PY tests/interop/proxyless_client.py $XDS echo.shop.svc.cluster.local:7070 20 | sed 's/^/  /'
cat <<MSG

Try:
  curl http://$STATUS/debug/snapshot          # every resource and its version
  curl http://$STATUS/metrics                 # pushes, NACKs, clients
  edit $config/mesh.yaml (e.g. set echo-2 Ready "False") and rerun:
  $PY tests/interop/proxyless_client.py $XDS echo.shop.svc.cluster.local:7070 20
MSG
if [ -t 0 ]; then
    echo "Press Ctrl+C to stop."
    while true; do sleep 3600; done
fi
