#!/usr/bin/env bash
# bench/mtls.sh — pod → pod across two nodes: direct vs the Ambient agents (HBONE) vs an stunnel mTLS pair vs an
# HAProxy mTLS pair, interleaved in one run, between client and server pods wired alike on the same two nodes.
#
#   direct   plain/client (node-1) → plain/server (node-2), plain TCP, nothing captured
#   ambient  mesh/client (node-1, captured) → agent node-1 → [HBONE: mTLS HTTP/2 CONNECT to :15008] → agent node-2
#            → mesh/server (node-2, captured). Until HBONE lands the agents relay it in plaintext; the header says which.
#   stunnel  plain/client: stunnel client 127.0.0.1:18080/:15201 → TLS 1.3 + client cert → stunnel server in
#            plain/server :9443/:9444 (verify required) → 127.0.0.1:8080/:5201
#   haproxy  the same with HAProxy mode tcp: 127.0.0.1:28080/:25201 → :9543/:9544 (ssl verify required both sides)
#
# Per path: iperf3 1 and 4 streams, wrk keep-alive c16 (req/s, p50, p99), wrk Connection: close c16 (new conn/s),
# an open-loop client at a fixed rate (p50/p99 from the scheduled send time), and the CPU of each path's two proxies;
# the RSS of every proxy process. Before the traffic: a wire check on the node-1 → node-2 link (tcpdump: packets to
# 15008 vs the app ports, TLS records, readable plaintext) and an mTLS check of the stunnel/HAProxy pairs.
#
# Everything it creates (network namespaces "$PREFIX-*", processes by PID, state and work dirs) is removed on exit, also
# on failure or Ctrl-C. Needs root. Method and how to read the table: bench/README.md.
#
# Environment: DP_DURATION (s per cell, default 5), DP_REPS (interleaved repetitions, default 3) — shared with
#   datapath.sh; MTLS_PREFIX (mtls), MTLS_STATE_DIR (/tmp/ambient-mtls-bench), MTLS_XDS (127.0.0.1:26010),
#   MTLS_STATUS (127.0.0.1:26014), MTLS_RATE (1000 req/s), MTLS_PACED_CONNS (16),
#   MTLS_TESTS ("iperf1 iperf4 rps cps paced"), MTLS_PATHS ("direct ambient stunnel haproxy"): subsets, for investigating;
#   MTLS_REPORT (the markdown results file; default bench/results/mtls-<UTC time>.md; "none" = stdout only),
#   MTLS_SECURE (passed as ambientctl --secure-address; unset = ambientctl's default).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
HELPER="$ROOT/bench/mtls_helper.py"
PY=/usr/bin/python3 # Debian's (installed below), not a pyenv shim on PATH: one interpreter, no shim start-up per call
DUR=${DP_DURATION:-5}
REPS=${DP_REPS:-3}
PREFIX=${MTLS_PREFIX:-mtls}
STATE=${MTLS_STATE_DIR:-/tmp/ambient-mtls-bench}
XDS=${MTLS_XDS:-127.0.0.1:26010}
STATUS=${MTLS_STATUS:-127.0.0.1:26014}
RATE=${MTLS_RATE:-1000}
PACED_CONNS=${MTLS_PACED_CONNS:-16}
TESTS=${MTLS_TESTS:-iperf1 iperf4 rps cps paced}
PATHS=${MTLS_PATHS:-direct ambient stunnel haproxy}
REPORT=${MTLS_REPORT:-$ROOT/bench/results/mtls-$(date -u +%Y%m%d-%H%M%S).md}
STARTED=$SECONDS

log() { printf '[mtls %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, iptables, tcpdump)"
case "$PREFIX:$STATE" in amb:* | *:/run/ambient-local) die "refusing the demo's prefix/state dir (amb, /run/ambient-local)" ;; esac
[ "$PREFIX" != bnch ] || die "refusing datapath.sh's prefix (bnch)"
[ "$TESTS" = none ] && TESTS=""
for t in $TESTS; do [[ " iperf1 iperf4 rps cps paced " == *" $t "* ]] || die "MTLS_TESTS: unknown test '$t' (iperf1 iperf4 rps cps paced, or none)"; done
for p in $PATHS; do [[ " direct ambient stunnel haproxy " == *" $p "* ]] || die "MTLS_PATHS: unknown path '$p' (direct ambient stunnel haproxy)"; done

# --- Debian packages (idempotent: apt-get only for what is missing) ------------------------------------------------
PKGS="stunnel4 haproxy iperf3 wrk nginx-light openssl python3 tcpdump tshark containernetworking-plugins iproute2 iptables procps curl"
missing=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; done
if [ -n "$missing" ]; then
    log "installing:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
fi

# --- cleanup (registered before anything is created) ---------------------------------------------------------------
WORK=$(mktemp -d /tmp/ambient-mtlsbench.XXXXXX)
chmod 755 "$WORK" # nginx workers (nobody) read the bodies from here
BIN="$WORK/out/bin"
PIDS=()
MESH_UP=0
# The control plane's CA is reachable by the agents over a Unix socket in $STATE; its TCP listener stays at ambientctl's
# default ("none", so no port can collide). MTLS_SECURE=ADDR passes --secure-address ADDR.
ctl() { "$BIN/ambientctl" --bin-dir "$BIN" --state-dir "$STATE" --prefix "$PREFIX" --xds-address "$XDS" --status-address "$STATUS" ${MTLS_SECURE:+--secure-address "$MTLS_SECURE"} "$@"; }
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    if [ $MESH_UP = 1 ]; then
        # Stops pods, agents and control plane by PID, CNI DEL, deletes every "$PREFIX-*" netns, IPAM state, $STATE.
        if ! ctl local down >"$WORK/down.log" 2>&1; then
            log "warning: ambientctl local down failed ($(tail -1 "$WORK/down.log")); removing by hand"
            if [ -f "$STATE/state.json" ]; then
                for pid in $($PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(*[d['ControlPlanePid']]+[n['AgentPid'] for n in d['Nodes']]+[p['Pid'] for p in d['Pods']])" "$STATE/state.json" 2>/dev/null); do
                    [ "$pid" -gt 1 ] 2>/dev/null && kill -TERM "$pid" 2>/dev/null
                done
            fi
        fi
    fi
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-"); do ip netns delete "$ns" 2>/dev/null; done
    rm -rf /var/lib/cni/networks/"$PREFIX"-* /var/lib/cni/results/"$PREFIX"-* 2>/dev/null
    [ $MESH_UP = 1 ] && rm -rf "$STATE"
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the binaries: a private copy of out/ (others rebuild out/ while this runs; a copy cannot vanish mid-run) --------
have_bins() { for exe in ambient-agent ambient-cni ambient-controlplane ambientctl; do [ -x "$1/$exe" ] || return 1; done; }
if ! have_bins "$ROOT/out/bin"; then
    log "out/bin incomplete: waiting 20 s in case a concurrent make build is publishing it"
    sleep 20
    have_bins "$ROOT/out/bin" || { log "out/bin still incomplete: make build"; make -C "$ROOT" build >&2; }
fi
snapshot() {
    rm -rf "$WORK/out" && mkdir -p "$WORK/out" \
        && cp -a "$ROOT/out/ambient-agent" "$ROOT/out/ambient-controlplane" "$ROOT/out/ambientctl" "$ROOT/out/bin" "$WORK/out/" 2>/dev/null \
        && have_bins "$BIN"
}
snapshot || { log "out/ changed while copying it (a concurrent make build?): retrying once in 30 s"; sleep 30; snapshot; } \
    || die "could not copy a complete out/ (ambient-agent, ambient-controlplane, ambientctl, bin/ambient-cni)"

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
emit() { echo "$1" >>"$RESULTS"; }
now() { date +%s.%N; }
cpu_ticks() { # utime+stime of a pid (fields 14, 15 of /proc/PID/stat)
    local line rest
    read -r line 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
    rest=${line##*) }
    set -- $rest
    echo $((${12} + ${13}))
}
CLK=$(getconf CLK_TCK)
status_mib() { awk -v k="$2:" '$1==k {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo null; }
json_get() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {'d': d}))" "$@"; }
emit "{\"kind\":\"meta\",\"date\":\"$(date -u +%FT%TZ)\",\"cpus\":$(nproc),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"reps\":$REPS,\"duration\":$DUR,\"rate\":$RATE,\"paced_conns\":$PACED_CONNS}"

# --- PKI: a throwaway CA and two ECDSA P-256 leaves (SPIFFE URI SANs as the agents' certificates carry) -------------
PKI="$WORK/pki"
mkdir -p "$PKI"
(
    cd "$PKI"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -subj "/O=ambient mtls bench/CN=throwaway CA" -days 2 -out ca.pem \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    for n in server client; do
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $n.key 2>/dev/null
        openssl req -new -key $n.key -subj "/O=ambient mtls bench/CN=$n" -out $n.csr 2>/dev/null
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s.mtls.bench,URI:spiffe://cluster.local/ns/plain/sa/%s\n' $n $n >$n.ext
        openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out $n.crt -extfile $n.ext 2>/dev/null
        cat $n.crt $n.key >$n.pem # HAProxy: certificate and key in one file
    done
    openssl verify -CAfile ca.pem server.crt client.crt >/dev/null
) || die "generating the throwaway PKI failed"

# --- the mesh: node-1 holds both clients, node-2 both servers --------------------------------------------------------
mkdir -p "$WORK/manifests"
cat >"$WORK/manifests/mesh.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: mesh
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: v1
kind: Namespace
metadata:
  name: plain
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: client
  namespace: mesh
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: server
  namespace: mesh
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: mesh
  labels:
    app: client
spec:
  nodeName: node-1
  serviceAccountName: client
  containers:
  - name: client
    command: ["sleep", "infinity"]
---
apiVersion: v1
kind: Pod
metadata:
  name: server
  namespace: mesh
  labels:
    app: server
spec:
  nodeName: node-2
  serviceAccountName: server
  containers:
  - name: server
    command: ["sleep", "infinity"]
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: plain
spec:
  nodeName: node-1
  containers:
  - name: client
    command: ["sleep", "infinity"]
---
apiVersion: v1
kind: Pod
metadata:
  name: server
  namespace: plain
spec:
  nodeName: node-2
  containers:
  - name: server
    command: ["sleep", "infinity"]
EOF
log "starting the mesh (state $STATE, prefix $PREFIX, control plane $XDS / $STATUS)"
MESH_UP=1
ctl local up "$WORK/manifests" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; die "ambientctl local up"; }
SJ="$STATE/state.json"
node_field() { json_get "$SJ" "[n for n in d['Nodes'] if n['Name']=='$1'][0]['$2']"; }
pod_field() { json_get "$SJ" "[p for p in d['Pods'] if p['Namespace']=='$1' and p['Name']=='$2'][0]['$3']"; }
AGENT1=$(node_field node-1 AgentPid)
AGENT2=$(node_field node-2 AgentPid)
FABRIC_NS=$(json_get "$SJ" "d['FabricNetns']")
P_CLIENT_NS=$(pod_field plain client Netns)
P_SERVER_NS=$(pod_field plain server Netns); P_SERVER_IP=$(pod_field plain server Ip)
M_CLIENT_NS=$(pod_field mesh client Netns); M_CLIENT_IP=$(pod_field mesh client Ip)
M_SERVER_NS=$(pod_field mesh server Netns); M_SERVER_IP=$(pod_field mesh server Ip)
kill -0 "$AGENT1" && kill -0 "$AGENT2" || die "an agent is not running"
nsenter --net="$M_CLIENT_NS" -- iptables-save -t nat 2>/dev/null | grep -q ISTIO_OUTPUT || die "mesh/client is not captured (no ISTIO_OUTPUT rules)"
nsenter --net="$P_CLIENT_NS" -- iptables-save -t nat 2>/dev/null | grep -q ISTIO_OUTPUT && die "plain/client is captured"
log "agents $AGENT1 (node-1) $AGENT2 (node-2); plain/server $P_SERVER_IP, mesh/client $M_CLIENT_IP → mesh/server $M_SERVER_IP"

# --- servers: nginx + iperf3 in both server pods ---------------------------------------------------------------------
for ns in "$P_CLIENT_NS" "$M_CLIENT_NS" "$P_SERVER_NS" "$M_SERVER_NS"; do
    # Connection: close runs open tens of thousands of connections (and the server-side proxies as many to the app).
    nsenter --net="$ns" -- sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
done
mkdir -p "$WORK/www"
head -c 100 /dev/zero | tr '\0' 'x' >"$WORK/www/small"
WIRE_MARKER="mtls-wire-check-7f3a"
echo "wire check" >"$WORK/www/$WIRE_MARKER"
start_nginx() { # name netns
    local d="$WORK/nginx-$1"
    mkdir -p "$d/logs" "$d/tmp"
    cat >"$d/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;
    server { listen 8080 backlog=4096; root $WORK/www; }
}
EOF
    nsenter --net="$2" -- nginx -c "$d/nginx.conf" -p "$d" >"$d/logs/stdout" 2>&1 &
    PIDS+=($!)
}
start_nginx plain "$P_SERVER_NS"
NGINX_P=$!
start_nginx mesh "$M_SERVER_NS"
NGINX_M=$!
for ns in "$P_SERVER_NS" "$M_SERVER_NS"; do
    nsenter --net="$ns" -- iperf3 -s -p 5201 >"$WORK/iperf3-server-$(basename "$ns").log" 2>&1 &
    PIDS+=($!)
done

# --- stunnel pair --------------------------------------------------------------------------------------------------
# TLS 1.3 only, ciphersuite = OpenSSL's default preference (as perf-baselines.md measured), TCP_NODELAY on every leg,
# logging at warning (the default, notice, writes a line per connection).
cat >"$WORK/stunnel-server.conf" <<EOF
foreground = yes
pid =
debug = 4
output = $WORK/stunnel-server.log
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
[http]
accept = 0.0.0.0:9443
connect = 127.0.0.1:8080
cert = $PKI/server.crt
key = $PKI/server.key
CAfile = $PKI/ca.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.3
[iperf]
accept = 0.0.0.0:9444
connect = 127.0.0.1:5201
cert = $PKI/server.crt
key = $PKI/server.key
CAfile = $PKI/ca.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.3
EOF
cat >"$WORK/stunnel-client.conf" <<EOF
foreground = yes
pid =
debug = 4
output = $WORK/stunnel-client.log
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
[http]
client = yes
accept = 127.0.0.1:18080
connect = $P_SERVER_IP:9443
cert = $PKI/client.crt
key = $PKI/client.key
CAfile = $PKI/ca.pem
verifyChain = yes
checkHost = server.mtls.bench
sslVersionMin = TLSv1.3
[iperf]
client = yes
accept = 127.0.0.1:15201
connect = $P_SERVER_IP:9444
cert = $PKI/client.crt
key = $PKI/client.key
CAfile = $PKI/ca.pem
verifyChain = yes
checkHost = server.mtls.bench
sslVersionMin = TLSv1.3
EOF
nsenter --net="$P_SERVER_NS" -- stunnel "$WORK/stunnel-server.conf" >"$WORK/stunnel-server.stderr" 2>&1 &
STN_S=$!; PIDS+=($STN_S)
nsenter --net="$P_CLIENT_NS" -- stunnel "$WORK/stunnel-client.conf" >"$WORK/stunnel-client.stderr" 2>&1 &
STN_C=$!; PIDS+=($STN_C)

# --- HAProxy pair (mode tcp; maxconn 8000; nbthread = its default, the CPU count) ------------------------------------
cat >"$WORK/haproxy-server.cfg" <<EOF
global
    maxconn 8000
    ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen http
    bind 0.0.0.0:9543 ssl crt $PKI/server.pem ca-file $PKI/ca.pem verify required
    server app 127.0.0.1:8080
listen iperf
    bind 0.0.0.0:9544 ssl crt $PKI/server.pem ca-file $PKI/ca.pem verify required
    server app 127.0.0.1:5201
EOF
cat >"$WORK/haproxy-client.cfg" <<EOF
global
    maxconn 8000
    ssl-default-server-options ssl-min-ver TLSv1.3
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen http
    bind 127.0.0.1:28080
    server s $P_SERVER_IP:9543 ssl crt $PKI/client.pem ca-file $PKI/ca.pem verify required verifyhost server.mtls.bench sni str(server.mtls.bench)
listen iperf
    bind 127.0.0.1:25201
    server s $P_SERVER_IP:9544 ssl crt $PKI/client.pem ca-file $PKI/ca.pem verify required verifyhost server.mtls.bench sni str(server.mtls.bench)
EOF
nsenter --net="$P_SERVER_NS" -- haproxy -db -f "$WORK/haproxy-server.cfg" >"$WORK/haproxy-server.log" 2>&1 &
HAP_S=$!; PIDS+=($HAP_S)
nsenter --net="$P_CLIENT_NS" -- haproxy -db -f "$WORK/haproxy-client.cfg" >"$WORK/haproxy-client.log" 2>&1 &
HAP_C=$!; PIDS+=($HAP_C)

# path → client netns, address, http port, iperf port
target() {
    case $1 in
        direct) echo "$P_CLIENT_NS $P_SERVER_IP 8080 5201" ;;
        ambient) echo "$M_CLIENT_NS $M_SERVER_IP 8080 5201" ;;
        stunnel) echo "$P_CLIENT_NS 127.0.0.1 18080 15201" ;;
        haproxy) echo "$P_CLIENT_NS 127.0.0.1 28080 25201" ;;
    esac
}
# --- wire capture: from before the first ambient connection (so it holds the first HBONE handshake; a tunnel is pooled
# and may never be opened again) until after a fresh request and a short iperf3, both ambient. fab1 = node-1's port on
# the fabric bridge (ctl/Ambient.Ctl/Local/LocalMeshUp.cs): every packet between the nodes. The plain pods' traffic
# (the other paths' readiness and TLS checks) is filtered out; 2 KiB a packet keeps whole TLS handshakes.
PCAP="$WORK/wire.pcap"
nsenter --net="$FABRIC_NS" -- tcpdump -i fab1 -n -s 2048 -U -w "$PCAP" "tcp and not host $P_SERVER_IP" >"$WORK/tcpdump.log" 2>&1 &
TCPDUMP=$!; PIDS+=($TCPDUMP)
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.log" && break; sleep 0.1; done
grep -q "listening on" "$WORK/tcpdump.log" || die "tcpdump did not start: $(cat "$WORK/tcpdump.log")"

deadline=$((SECONDS + 20))
for path in ambient direct stunnel haproxy; do
    read -r ns addr hport _ <<<"$(target $path)"
    until nsenter --net="$ns" -- curl -sf --max-time 2 -o /dev/null "http://$addr:$hport/small"; do
        [ $SECONDS -lt $deadline ] || { tail -n 5 "$WORK"/*.log "$WORK"/*.stderr >&2 2>/dev/null; die "the $path path does not answer (http://$addr:$hport/small)"; }
        sleep 0.2
    done
done
# nginx masters fork their workers: remember those too (a killed master would orphan them).
for pid in $NGINX_P $NGINX_M; do for w in $(pgrep -P "$pid" 2>/dev/null); do PIDS+=($w); done; done
for pid in "${PIDS[@]}"; do kill -0 "$pid" || die "a helper process exited (nginx/iperf3/stunnel/haproxy; see $WORK)"; done
log "all four paths answer"

# --- mTLS check of the stunnel / HAProxy pairs: TLS 1.3, and a client without a certificate gets nothing ------------
tls_check() { # name port → one line of text; fails the run if the server accepts a client without a certificate
    local name=$1 port=$2 with without
    with=$(printf 'GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | timeout 10 nsenter --net="$P_CLIENT_NS" -- \
        openssl s_client -connect "$P_SERVER_IP:$port" -servername server.mtls.bench -CAfile "$PKI/ca.pem" \
        -cert "$PKI/client.crt" -key "$PKI/client.key" -verify_return_error -ign_eof 2>&1 || true)
    without=$(printf 'GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | timeout 10 nsenter --net="$P_CLIENT_NS" -- \
        openssl s_client -connect "$P_SERVER_IP:$port" -servername server.mtls.bench -CAfile "$PKI/ca.pem" -ign_eof 2>&1 || true)
    grep -q "HTTP/1.1 200" <<<"$with" || { echo "$with" >&2; die "$name: a request with the client certificate failed"; }
    grep -q "HTTP/1.1 200" <<<"$without" && die "$name: the server answered a client WITHOUT a certificate (verify not required?)"
    local proto cipher alert
    proto=$(grep -m1 -oE "Protocol *: *TLSv[0-9.]+|New, TLSv[0-9.]+" <<<"$with" | grep -oE "TLSv[0-9.]+")
    cipher=$(grep -m1 -oE "Cipher is [A-Z0-9_]+" <<<"$with" | awk '{print $3}')
    alert=$(grep -m1 -oE "alert [a-z ]+" <<<"$without" | head -1)
    [ "$proto" = TLSv1.3 ] || die "$name negotiated ${proto:-no TLS}, not TLSv1.3"
    echo "$proto $cipher, ECDSA P-256 certificates, client certificate required (a client without one gets ${alert:-no answer})"
}
STN_TLS=$(tls_check stunnel 9443)
HAP_TLS=$(tls_check haproxy 9543)
log "stunnel: $STN_TLS"
log "haproxy: $HAP_TLS"

# --- wire check: what crossed the node-1 → node-2 link for the ambient path ---------------------------------------------
nsenter --net="$M_CLIENT_NS" -- curl -sf --max-time 5 -o /dev/null "http://$M_SERVER_IP:8080/$WIRE_MARKER" || die "wire check request failed"
nsenter --net="$M_CLIENT_NS" -- timeout 20 iperf3 -c "$M_SERVER_IP" -p 5201 -n 32M >/dev/null 2>&1 || die "wire check iperf3 failed"
sleep 0.3
kill -INT "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
WIRE=$($PY "$HELPER" wire "$PCAP" 8080,5201 "$WIRE_MARKER" "$(command -v tshark || true)")
emit "{\"kind\":\"meta\",\"wire\":$WIRE,\"stunnel_tls\":$($PY -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$STN_TLS"),\"haproxy_tls\":$($PY -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$HAP_TLS")}"
log "ambient wire: $($PY -c 'import json,sys; print(json.loads(sys.argv[1])["text"])' "$WIRE")"

# --- proxies' CPU and memory ---------------------------------------------------------------------------------------
PROCS="agent-node-1=$AGENT1 agent-node-2=$AGENT2 stunnel-client=$STN_C stunnel-server=$STN_S haproxy-client=$HAP_C haproxy-server=$HAP_S"
declare -A IDLE_RSS
for kv in $PROCS; do IDLE_RSS[${kv%%=*}]=$(status_mib "${kv#*=}" VmRSS); done

cell() { # test path rep
    local test=$1 path=$2 rep=$3 ns addr hport iport out t0 t1 kv
    local -A c0
    read -r ns addr hport iport <<<"$(target "$path")"
    out="$WORK/$test-$path-$rep.out"
    for kv in $PROCS; do c0[${kv%%=*}]=$(cpu_ticks "${kv#*=}"); done
    t0=$(now)
    case $test in
        iperf1 | iperf4)
            timeout $((DUR + 30)) nsenter --net="$ns" -- iperf3 -c "$addr" -p "$iport" -t "$DUR" -P "${test#iperf}" -J >"$out" 2>&1 || true ;;
        rps)
            timeout $((DUR + 30)) nsenter --net="$ns" -- wrk -t1 -c16 -d"${DUR}s" --latency "http://$addr:$hport/small" >"$out" 2>&1 || true ;;
        cps)
            timeout $((DUR + 30)) nsenter --net="$ns" -- wrk -t1 -c16 -d"${DUR}s" --latency -H "Connection: close" "http://$addr:$hport/small" >"$out" 2>&1 || true ;;
        paced)
            timeout $((DUR + 30)) nsenter --net="$ns" -- $PY "$HELPER" paced --rate "$RATE" --conns "$PACED_CONNS" --duration "$DUR" "$addr" "$hport" >"$out" 2>&1 || true ;;
    esac
    t1=$(now)
    local ticks=()
    for kv in $PROCS; do ticks+=("${kv%%=*}=${c0[${kv%%=*}]},$(cpu_ticks "${kv#*=}")"); done
    $PY "$HELPER" cell "$test" "$path" "$rep" "$out" "$t0" "$t1" "$CLK" "${ticks[@]}" >>"$RESULTS"
    log "  $test $path #$rep: $(tail -1 "$RESULTS" | $PY -c "import json,sys; d=json.load(sys.stdin); print(None if d['value'] is None else round(d['value'], 3), ' '.join('%s %.2fc' % (p, d[p + '_cores']) for p in ('ambient', 'stunnel', 'haproxy')))")"
}
orders=("direct ambient stunnel haproxy" "ambient stunnel haproxy direct" "stunnel haproxy direct ambient" "haproxy direct ambient stunnel")
log "traffic: $REPS repetition(s) x (${TESTS:-no tests}) x ($PATHS) x ${DUR}s"
for rep in $(seq 1 "$REPS"); do
    order=${orders[$(((rep - 1) % 4))]}
    for test in $TESTS; do
        for path in $order; do
            [[ " $PATHS " == *" $path "* ]] && cell "$test" "$path" "$rep"
        done
    done
done
for kv in $PROCS; do
    name=${kv%%=*}; pid=${kv#*=}
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) died during the run"
    emit "{\"kind\":\"rss\",\"proc\":\"$name\",\"idle_mib\":${IDLE_RSS[$name]:-null},\"after_mib\":$(status_mib "$pid" VmRSS),\"hwm_mib\":$(status_mib "$pid" VmHWM)}"
done
emit "{\"kind\":\"meta\",\"load_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"wall_s\":$((SECONDS - STARTED))}"

$PY "$HELPER" report "$RESULTS"
if [ "$REPORT" != none ]; then
    mkdir -p "$(dirname "$REPORT")"
    $PY "$HELPER" report "$RESULTS" --raw >"$REPORT"
    log "results: $REPORT"
fi
