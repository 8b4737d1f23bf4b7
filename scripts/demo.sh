#!/usr/bin/env bash
# make demo: a real local mesh in network namespaces, no Kubernetes (examples/two-node): a control plane,
# two node namespaces each with an ambient-agent, pods wired by Debian's CNI plugins plus ambient-cni, and
# a curl from the client pod to the server Service VIP through both agents. The mesh stays up afterwards;
# `out/bin/ambientctl local down` removes everything. Ctrl+C while it starts also removes everything.
set -euo pipefail
cd "$(dirname "$0")/.."
CTL=out/bin/ambientctl
trap 'echo; echo "interrupted: tearing down"; $CTL local down >/dev/null 2>&1 || true; exit 130' INT TERM

$CTL local up examples/two-node
trap - INT TERM

echo
echo "== curl from shop/client (node-1) to the server Service VIP 10.96.0.10:80 (pods on node-2):"
for i in 1 2 3 4; do
    printf '  %s' "$($CTL local exec -n shop client -- curl -s -m 5 http://10.96.0.10/)"
    echo
done
echo
echo "== capture state:"
$CTL local status | sed 's/^/  /'
echo
echo "== connections counted by the node-2 agent (destination side):"
curl -s --unix-socket /run/ambient-local/nodes/node-2/admin.sock http://localhost/metrics \
    | grep '^istio_tcp_connections_opened_total' | sed -E 's/^([^{]*)\{.*source_workload="([^"]*)".*destination_workload="([^"]*)".*\} (.*)$/  \2 → \3: \4 connections/' || true
cat <<'MSG'

The mesh is up. Try:
  out/bin/ambientctl local exec -n shop client -- curl -s http://10.96.0.10/      # through both agents
  out/bin/ambientctl local exec -n legacy outsider -- curl -s http://10.99.2.2:8080/  # from outside the mesh
  sudo nsenter --net=/var/run/netns/amb-shop-client iptables-save                 # the in-pod capture rules
  curl -s --unix-socket /run/ambient-local/nodes/node-1/admin.sock http://localhost/pods
  edit /run/ambient-local/manifests/00-cluster.yaml: label namespace legacy istio.io/dataplane-mode=ambient
      and watch `out/bin/ambientctl local status` capture the outsider live
  logs: /run/ambient-local/logs/
  out/bin/ambientctl local down                                                   # remove everything
MSG
