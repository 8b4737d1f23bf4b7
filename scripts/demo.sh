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

STATE=/run/ambient-local
PCAP=$(mktemp /tmp/ambient-demo.XXXXXX.pcap)
FABRIC=/var/run/netns/$(basename "$(python3 -c "import json;print(json.load(open('$STATE/state.json'))['FabricNetns'])")")
nsenter --net="$FABRIC" -- tcpdump -i fabric0 -U -s 0 -w "$PCAP" tcp 2>/dev/null &
TCPDUMP=$!
sleep 1

echo
echo "== curl from shop/client (node-1) to the server Service VIP 10.96.0.10:80 (pods on node-2):"
for i in 1 2 3 4; do
    printf '  %s' "$($CTL local exec -n shop client -- curl -s -m 5 http://10.96.0.10/)"
    echo
done
sleep 1
kill -INT "$TCPDUMP" 2>/dev/null; wait "$TCPDUMP" 2>/dev/null || true
echo
echo "== on the wire between the nodes (tcpdump on the fabric bridge, decoded by tshark):"
tshark -r "$PCAP" -d tcp.port==15008,tls -Y 'tls.handshake.type == 2 || tls.record.content_type == 23' \
    -T fields -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e _ws.col.Info 2>/dev/null | head -6 | sed 's/^/  /'
printf '  packets to/from port 15008: %s of %s; "hello from" readable on the wire: %s\n' \
    "$(tshark -r "$PCAP" -Y 'tcp.port == 15008' 2>/dev/null | wc -l)" "$(tshark -r "$PCAP" 2>/dev/null | wc -l)" \
    "$(grep -c 'hello from' "$PCAP" || true)"
rm -f "$PCAP"
echo
echo "== workload certificates held by the node agents (from the mesh's CA, renewed at half-life):"
for n in node-1 node-2; do
    curl -s --unix-socket $STATE/nodes/$n/admin.sock http://localhost/certs \
        | python3 -c "import json,sys; d=json.load(sys.stdin); [print('  $n', c.get('identity'), 'until', c.get('notAfter')) for c in (d if isinstance(d,list) else d.get('certificates',[]))]"
done
echo
echo "== capture state:"
$CTL local status | sed 's/^/  /'
echo
echo "== connections counted by the node-2 agent (destination side):"
curl -s --unix-socket /run/ambient-local/nodes/node-2/admin.sock http://localhost/metrics \
    | grep '^istio_tcp_connections_opened_total' | grep 'reporter="destination"' \
    | sed -E 's/^([^{]*)\{.*source_workload="([^"]*)".*source_principal="([^"]*)".*destination_workload="([^"]*)".*connection_security_policy="([^"]*)".*\} (.*)$/  \2 (\3) → \4 [\5]: \6 connections/' || true
cat <<'MSG'

The mesh is up. Try:
  out/bin/ambientctl local exec -n shop client -- curl -s http://10.96.0.10/      # through both agents
  out/bin/ambientctl local exec -n legacy outsider -- curl -s http://10.99.2.2:8080/  # plaintext from outside the mesh
  cp examples/two-node-policies/deny-auditor.yaml /run/ambient-local/manifests/   # then curl from shop/auditor: refused
  cp examples/two-node-policies/strict-mtls.yaml /run/ambient-local/manifests/    # then the outsider's plaintext: refused
  sudo nsenter --net=/var/run/netns/amb-shop-client iptables-save                 # the in-pod capture rules
  curl -s --unix-socket /run/ambient-local/nodes/node-1/admin.sock http://localhost/pods
  edit /run/ambient-local/manifests/00-cluster.yaml: label namespace legacy istio.io/dataplane-mode=ambient
      and watch `out/bin/ambientctl local status` capture the outsider live
  logs: /run/ambient-local/logs/
  out/bin/ambientctl local down                                                   # remove everything
MSG
