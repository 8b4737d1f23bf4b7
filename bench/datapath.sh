#!/usr/bin/env bash
# bench/datapath.sh — data-path and CNI benchmark of the node agent (plaintext), next to HAProxy in the same run.
#
#   1. CNI ADD latency: the ambient-cni plugin alone (ADD for a non-enrolled pod against the real agent; VERSION),
#      then the whole chain (bridge + host-local + ambient-cni through libcni) until capture is in place,
#      20 pods sequentially and 4 in parallel, then 26 more (50 captured pods).
#   2. Agent VmRSS with 0 and with 50 captured pods.
#   3. iperf3 (1 and 4 streams), wrk keep-alive and wrk `Connection: close` from a client pod to a server pod
#      on one node: direct, through the agent (captured client, outbound relay) and through HAProxy `mode tcp`
#      (one relay hop in the client pod's netns), interleaved, with each proxy's CPU.
#
# Everything it creates (namespaces "$PREFIX-*", processes by PID, the state and work dirs) is removed on exit,
# also on failure or Ctrl-C. Needs root. Method and how to read the table: bench/README.md.
#
# Environment: DP_DURATION (s per traffic cell, default 5), DP_REPS (interleaved repetitions, default 3),
#              DP_PREFIX (bnch), DP_STATE_DIR (/tmp/ambient-bench), DP_XDS (127.0.0.1:25010),
#              DP_STATUS (127.0.0.1:25014), DP_PLUGIN_RUNS (50), DP_SKIP_TRAFFIC=1 (CNI + memory only),
#              DP_TESTS ("iperf1 iperf4 rps cps"), DP_PATHS ("direct agent haproxy"): subsets, for investigating.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
HELPER="$ROOT/bench/datapath_helper.py"
BIN="$ROOT/out/bin"
DUR=${DP_DURATION:-5}
REPS=${DP_REPS:-3}
PREFIX=${DP_PREFIX:-bnch}
STATE=${DP_STATE_DIR:-/tmp/ambient-bench}
XDS=${DP_XDS:-127.0.0.1:25010}
STATUS=${DP_STATUS:-127.0.0.1:25014}
PLUGIN_RUNS=${DP_PLUGIN_RUNS:-50}
CNI_PLUGIN_DIR=/usr/lib/cni
CAPTURED_TARGET=50

log() { printf '[datapath %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, iptables)"
[ "$PREFIX" != amb ] && [ "$STATE" != /run/ambient-local ] || die "refusing the demo's prefix/state dir (amb, /run/ambient-local)"

# --- Debian packages (idempotent: apt-get only for what is missing) ------------------------------------------
PKGS="haproxy iperf3 wrk nginx-light containernetworking-plugins golang-go golang-github-appc-cni-dev iproute2 iptables procps curl python3"
missing=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; done
if [ -n "$missing" ]; then
    log "installing:$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
fi
for exe in ambient-agent ambient-cni ambient-controlplane ambientctl; do
    [ -x "$BIN/$exe" ] || { log "$BIN/$exe missing: make build"; make -C "$ROOT" build; break; }
done

# --- cleanup (registered before anything is created) -----------------------------------------------------------
WORK=$(mktemp -d /tmp/ambient-dpbench.XXXXXX)
chmod 755 "$WORK" # nginx workers (nobody) read the body from here
PIDS=()
MESH_UP=0
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
        # Stops agent + control plane by PID, deletes every "$PREFIX-*" netns (our extra pods too), IPAM state, $STATE.
        "$BIN/ambientctl" --state-dir "$STATE" --prefix "$PREFIX" --xds-address "$XDS" --status-address "$STATUS" local down >/dev/null 2>&1 \
            || log "warning: ambientctl local down failed"
    fi
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-"); do ip netns delete "$ns" 2>/dev/null; done
    rm -rf "$WORK" /var/lib/cni/networks/"$PREFIX"-* 2>/dev/null
    [ $MESH_UP = 1 ] && rm -rf "$STATE"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
emit() { echo "$1" >>"$RESULTS"; }
now() { date +%s.%N; }
cpu_ticks() { # utime+stime of a pid (fields 14, 15 of /proc/PID/stat)
    local line rest
    read -r line <"/proc/$1/stat" || { echo 0; return; }
    rest=${line##*) }
    set -- $rest
    echo $((${12} + ${13}))
}
CLK=$(getconf CLK_TCK)
rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {'d': d}))" "$@"; }

emit "{\"kind\":\"meta\",\"date\":\"$(date -u +%FT%TZ)\",\"cpus\":$(nproc),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"reps\":$REPS,\"duration\":$DUR}"

# --- libcni driver (the reference runtime library, as containerd/CRI-O use it) ---------------------------------
DRIVER="$WORK/libcni-driver"
GOCACHE="$WORK/gocache" "$ROOT/tests/libcni-driver/build.sh" "$DRIVER" >/dev/null 2>&1 || die "building tests/libcni-driver failed"

# --- the mesh: one node, a non-enrolled client and server (namespace "plain"), namespace "bench" is ambient -----
mkdir -p "$WORK/manifests"
cat >"$WORK/manifests/mesh.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: bench
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: v1
kind: Namespace
metadata:
  name: plain
---
apiVersion: v1
kind: Pod
metadata:
  name: server
  namespace: plain
spec:
  nodeName: node-1
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
EOF
log "starting the mesh (state $STATE, prefix $PREFIX)"
MESH_UP=1
"$BIN/ambientctl" --state-dir "$STATE" --prefix "$PREFIX" --xds-address "$XDS" --status-address "$STATUS" local up "$WORK/manifests" >"$WORK/up.log" 2>&1 \
    || { cat "$WORK/up.log" >&2; die "ambientctl local up"; }
SJ="$STATE/state.json"
AGENT=$(json_get "$SJ" "d['Nodes'][0]['AgentPid']")
NODE_NS=$(json_get "$SJ" "d['Nodes'][0]['Netns']")
CONFLIST=$(json_get "$SJ" "d['Nodes'][0]['ConfList']")
ADMIN=$(json_get "$SJ" "d['Nodes'][0]['AdminSocket']")
pod_field() { json_get "$SJ" "[p for p in d['Pods'] if p['Namespace']=='$1' and p['Name']=='$2'][0]['$3']"; }
SERVER_NS=$(pod_field plain server Netns); SERVER_IP=$(pod_field plain server Ip)
CLIENT_NS=$(pod_field plain client Netns)
kill -0 "$AGENT" || die "agent not running"
log "agent pid $AGENT, server $SERVER_IP"

captured() { curl -s --max-time 2 --unix-socket "$ADMIN" http://agent/metrics | awk '$1=="ambient_agent_captured_pods" {print $2}'; }

sleep 2
emit "{\"kind\":\"rss\",\"label\":\"agent, 0 captured pods (2 non-enrolled)\",\"mib\":$(rss_mib "$AGENT"),\"target_mib\":null}"

# --- 1a. the plugin alone ----------------------------------------------------------------------------------------
python3 - "$CONFLIST" "$(pod_field plain client CniResult)" "$WORK/plugin-add.json" "$WORK/plugin-version.json" <<'EOF'
import json, sys
conf = json.load(open(sys.argv[1]))
plugin = [p for p in conf["plugins"] if p["type"] == "ambient-cni"][0]
add = dict(plugin, name=conf["name"], cniVersion=conf["cniVersion"], prevResult=json.loads(sys.argv[2]))
json.dump(add, open(sys.argv[3], "w"))
json.dump({"cniVersion": conf["cniVersion"]}, open(sys.argv[4], "w"))
EOF
CID=$(pod_field plain client ContainerId); CUID=$(pod_field plain client Uid)
CARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=plain;K8S_POD_NAME=client;K8S_POD_INFRA_CONTAINER_ID=$CID;K8S_POD_UID=$CUID"
log "CNI: ambient-cni alone, $PLUGIN_RUNS x ADD (not enrolled) and VERSION"
# Reference row: Debian's Go loopback plugin answering VERSION = the cost of exec'ing any plugin on this machine now.
for cmd in ADD VERSION REF; do
    plugin="$BIN/ambient-cni"; conf="$WORK/plugin-add.json"; label="ambient-cni ADD alone (pod not enrolled)"; target=5
    [ $cmd = VERSION ] && { conf="$WORK/plugin-version.json"; label="ambient-cni VERSION"; target=null; }
    [ $cmd = REF ] && { plugin="$CNI_PLUGIN_DIR/loopback"; conf="$WORK/plugin-version.json"; label="reference: Debian's Go loopback VERSION"; target=null; cmd=VERSION; }
    r=$(nsenter --net="$NODE_NS" -- python3 "$HELPER" plugin "$PLUGIN_RUNS" "$plugin" "$conf" $cmd \
        CNI_CONTAINERID="$CID" CNI_NETNS="$CLIENT_NS" CNI_IFNAME=eth0 CNI_ARGS="$CARGS" CNI_PATH="$CNI_PLUGIN_DIR:$BIN")
    emit "$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); d.update(kind='cni', label=sys.argv[2], target_ms=json.loads(sys.argv[3])); print(json.dumps(d))" "$r" "$label" "$target")"
done

# --- 1b. the whole chain until capture, enrolled pods --------------------------------------------------------------
# Pods exist in the API before their sandbox (as with a kubelet): write all manifests first, wait until the control
# plane serves them, then ADD. Each pod gets its own netns "$PREFIX-bench-podNN" (swept by `local down`).
log "CNI: creating $CAPTURED_TARGET pod namespaces and manifests"
mkdir -p "$STATE/manifests/pods"
SPECS=()
for i in $(seq -w 1 $CAPTURED_TARGET); do
    ns="$PREFIX-bench-pod$i"; uid="00000000-0000-4000-8000-0000000000$i"
    ip netns add "$ns"; ip -n "$ns" link set lo up
    cat >"$STATE/manifests/pods/bench.pod$i.yaml.tmp" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: pod$i
  namespace: bench
  uid: $uid
spec:
  nodeName: node-1
  containers:
  - name: c
    command: ["sleep", "infinity"]
status:
  phase: Pending
  conditions:
  - type: Ready
    status: "False"
EOF
    mv "$STATE/manifests/pods/bench.pod$i.yaml.tmp" "$STATE/manifests/pods/bench.pod$i.yaml"
    SPECS+=("bench,pod$i,/var/run/netns/$ns,$uid")
done
deadline=$((SECONDS + 20))
until curl -s --max-time 2 "http://$STATUS/debug/snapshot" | grep -q "pod$CAPTURED_TARGET"; do
    [ $SECONDS -lt $deadline ] || die "the control plane never served the bench pods"
    sleep 0.2
done
sleep 1 # one push to the agent

chain() { # label target parallel specs...
    local label=$1 target=$2 par=$3; shift 3
    local r
    r=$(nsenter --net="$NODE_NS" -- python3 "$HELPER" chain --parallel "$par" "$DRIVER" "$CONFLIST" "$CNI_PLUGIN_DIR:$BIN" "$WORK/cnicache" "$@")
    echo "$r" >>"$WORK/chain-raw.jsonl"
    python3 -c "import json,sys; d=json.loads(sys.argv[1]); bad=[p for p in d['pods'] if not p['ok']]; [print('ADD failed:', p['pod'], p['err'], file=sys.stderr) for p in bad]; sys.exit(1 if bad else 0)" "$r" \
        || die "CNI chain ADD failed ($label)"
    emit "$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); w=d.pop('pods'); d.update(kind='cni', label=sys.argv[2], target_ms=json.loads(sys.argv[3])); d['wall_ms']=d['wall_ms'] if int(sys.argv[4])>1 else None; print(json.dumps(d))" "$r" "$label" "$target" "$par")"
}
log "CNI: chain ADD with capture, 20 sequential"
chain "chain ADD + capture, 20 pods sequential" 30 1 "${SPECS[@]:0:20}"
log "CNI: chain ADD with capture, 4 parallel"
chain "chain ADD + capture, 4 pods in parallel" 30 4 "${SPECS[@]:20:4}"
log "CNI: chain ADD with capture, $((CAPTURED_TARGET - 24)) more (to $CAPTURED_TARGET captured)"
chain "chain ADD + capture, pods 25-$CAPTURED_TARGET sequential" null 1 "${SPECS[@]:24}"
python3 - "$WORK/chain-raw.jsonl" "$STATE/manifests/pods" <<'EOF'
# The runner's next step: the pod is Running with its IP (the control plane then serves the workload).
import json, sys, os
for line in open(sys.argv[1]):
    for p in json.loads(line)["pods"]:
        if not p["ok"]:
            print("ADD failed:", p["pod"], p["err"], file=sys.stderr); continue
        ns, name = p["pod"].split("/")
        path = os.path.join(sys.argv[2], f"{ns}.{name}.yaml")
        text = open(path).read().split("status:")[0]
        text += f"status:\n  phase: Running\n  podIP: {p['ip']}\n  podIPs:\n  - ip: {p['ip']}\n  conditions:\n  - type: Ready\n    status: \"True\"\n"
        open(path + ".tmp", "w").write(text); os.replace(path + ".tmp", path)
EOF
n=$(captured)
[ "${n%.*}" = "$CAPTURED_TARGET" ] || die "agent reports ${n:-?} captured pods, expected $CAPTURED_TARGET"
nsenter --net="/var/run/netns/$PREFIX-bench-pod01" -- iptables-save -t nat 2>/dev/null | grep -q ISTIO_OUTPUT || die "no in-pod rules in pod01"
sleep 3
emit "{\"kind\":\"rss\",\"label\":\"agent, $CAPTURED_TARGET captured pods (idle)\",\"mib\":$(rss_mib "$AGENT"),\"target_mib\":40}"

if [ "${DP_SKIP_TRAFFIC:-0}" = 1 ]; then
    emit "{\"kind\":\"meta\",\"load_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
    python3 "$HELPER" report "$RESULTS"
    exit 0
fi

# --- 3. traffic ------------------------------------------------------------------------------------------------------
AGENT_CLIENT_NS="/var/run/netns/$PREFIX-bench-pod01" # captured: its connections go through the agent's 15001
for ns in "$CLIENT_NS" "$AGENT_CLIENT_NS"; do
    # Connection: close runs open tens of thousands of connections: widen the ephemeral range in the client netns.
    nsenter --net="$ns" -- sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
done
mkdir -p "$WORK/www" "$WORK/nginx/logs"
head -c 100 /dev/zero | tr '\0' 'x' >"$WORK/www/small"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    server { listen 8080 backlog=4096; root $WORK/www; }
}
EOF
nsenter --net="$SERVER_NS" -- nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" >"$WORK/nginx/logs/stdout" 2>&1 &
PIDS+=($!)
nsenter --net="$SERVER_NS" -- iperf3 -s -p 5201 >"$WORK/iperf3-server.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 8000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen http
    bind 127.0.0.1:18080
    server s $SERVER_IP:8080
listen iperf
    bind 127.0.0.1:15201
    server s $SERVER_IP:5201
EOF
nsenter --net="$CLIENT_NS" -- haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HAPROXY=$!
PIDS+=($HAPROXY)
deadline=$((SECONDS + 15))
until nsenter --net="$CLIENT_NS" -- curl -sf --max-time 1 -o /dev/null "http://$SERVER_IP:8080/small" \
    && nsenter --net="$CLIENT_NS" -- curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:18080/small" \
    && nsenter --net="$AGENT_CLIENT_NS" -- curl -sf --max-time 1 -o /dev/null "http://$SERVER_IP:8080/small"; do
    [ $SECONDS -lt $deadline ] || die "server not reachable on one of the paths (see $WORK)"
    sleep 0.2
done
for pid in "${PIDS[@]}"; do kill -0 "$pid" || die "a helper process exited (nginx/iperf3/haproxy)"; done

# path → netns, address, http port, iperf port
target() {
    case $1 in
        direct) echo "$CLIENT_NS $SERVER_IP 8080 5201" ;;
        agent) echo "$AGENT_CLIENT_NS $SERVER_IP 8080 5201" ;;
        haproxy) echo "$CLIENT_NS 127.0.0.1 18080 15201" ;;
    esac
}
cell() { # test path rep
    local test=$1 path=$2 rep=$3 ns addr hport iport out a0 h0 t0 t1 a1 h1 parsed value
    read -r ns addr hport iport <<<"$(target "$path")"
    out="$WORK/$test-$path-$rep.out"
    a0=$(cpu_ticks "$AGENT"); h0=$(cpu_ticks "$HAPROXY"); t0=$(now)
    case $test in
        iperf1 | iperf4)
            timeout $((DUR + 30)) nsenter --net="$ns" -- iperf3 -c "$addr" -p "$iport" -t "$DUR" -P "${test#iperf}" -J >"$out" 2>&1 || true ;;
        rps)
            timeout $((DUR + 30)) nsenter --net="$ns" -- wrk -t1 -c16 -d"${DUR}s" --latency "http://$addr:$hport/small" >"$out" 2>&1 || true ;;
        cps)
            timeout $((DUR + 30)) nsenter --net="$ns" -- wrk -t1 -c16 -d"${DUR}s" --latency -H "Connection: close" "http://$addr:$hport/small" >"$out" 2>&1 || true ;;
    esac
    t1=$(now); a1=$(cpu_ticks "$AGENT"); h1=$(cpu_ticks "$HAPROXY")
    case $test in
        iperf*) parsed=$(python3 "$HELPER" iperf "$out"); value=gbps ;;
        *) parsed=$(python3 "$HELPER" wrk "$out"); value=rps ;;
    esac
    python3 -c "
import json, sys
d = json.loads(sys.argv[1]); wall = float(sys.argv[5]) - float(sys.argv[4]); clk = float(sys.argv[6])
d.update(kind='traffic', test=sys.argv[2], path=sys.argv[3], rep=int(sys.argv[9]), value=d.get(sys.argv[10]),
         agent_cores=(int(sys.argv[7].split()[1]) - int(sys.argv[7].split()[0])) / clk / wall,
         haproxy_cores=(int(sys.argv[8].split()[1]) - int(sys.argv[8].split()[0])) / clk / wall)
print(json.dumps(d))" "$parsed" "$test" "$path" "$t0" "$t1" "$CLK" "$a0 $a1" "$h0 $h1" "$rep" "$value" >>"$RESULTS"
    log "  $test $path #$rep: $(tail -1 "$RESULTS" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['value'], 'agent %.2f cores' % d['agent_cores'], 'haproxy %.2f cores' % d['haproxy_cores'])")"
}
orders=("direct agent haproxy" "agent haproxy direct" "haproxy direct agent")
log "traffic: $REPS repetition(s) x (${DP_TESTS:-iperf1 iperf4 rps cps}) x (${DP_PATHS:-direct agent haproxy}) x ${DUR}s"
for rep in $(seq 1 "$REPS"); do
    order=${orders[$(((rep - 1) % 3))]}
    for test in ${DP_TESTS:-iperf1 iperf4 rps cps}; do
        for path in $order; do
            [[ " ${DP_PATHS:-direct agent haproxy} " == *" $path "* ]] && cell "$test" "$path" "$rep"
        done
    done
done
emit "{\"kind\":\"rss\",\"label\":\"agent, $CAPTURED_TARGET captured pods, after the traffic runs\",\"mib\":$(rss_mib "$AGENT"),\"target_mib\":null}"
emit "{\"kind\":\"meta\",\"load_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
python3 "$HELPER" report "$RESULTS" | tee "${DP_REPORT:-/dev/null}"
