#!/usr/bin/python3
"""Helpers for bench/mtls.sh: the paced (open-loop) HTTP client, one result row per cell, the wire check, the report.

Subcommands:
  paced [--rate R] [--conns N] [--duration S] [--warmup S] [--path P] HOST PORT
        open-loop HTTP/1.1 keep-alive load at a fixed rate; latency measured from each request's *scheduled* time
        (no coordinated omission); prints one JSON object
  cell  TEST PATH REP OUTFILE T0 T1 CLK NAME=TICKS0,TICKS1...
        parse one cell's tool output (iperf3 -J, wrk --latency or paced) + each proxy's CPU ticks → one JSON line
  wire  PCAP APP_PORTS MARKER [TSHARK]
        what crossed the node-1 → node-2 link during the ambient transfer: packets to 15008 vs the app ports,
        TLS records/versions, whether MARKER (part of the request line) is readable → one JSON object
  report RESULTS_JSONL [--raw]
        the markdown table (stdout); --raw appends every cell
"""
import collections
import contextlib
import io
import json
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/ from the import below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datapath_helper  # noqa: E402  (the iperf3/wrk parsers and pct() are shared with bench/datapath.sh)

PATHS = ["direct", "ambient", "stunnel", "haproxy"]
# Which processes are each path's proxies (CPU = sum of both sides, RSS = both sides).
PROXIES = {"ambient": ["agent-node-1", "agent-node-2"], "stunnel": ["stunnel-client", "stunnel-server"],
           "haproxy": ["haproxy-client", "haproxy-server"]}


# --- paced client ------------------------------------------------------------------------------------------------
def cmd_paced(args):
    import argparse
    p = argparse.ArgumentParser(prog="mtls_helper.py paced")
    p.add_argument("--rate", type=float, default=1000.0)
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--path", default="/small")
    p.add_argument("host")
    p.add_argument("port", type=int)
    a = p.parse_args(args)
    try:  # PR_SET_TIMERSLACK (29) = 1 ns: wake up on time, not up to 50 µs late (the default slack)
        import ctypes
        ctypes.CDLL(None).prctl(29, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    # One thread, non-blocking sockets, select() with a µs timeout (epoll/asyncio round timeouts to whole ms, which
    # would add up to 1 ms of dispatch lag to every latency). A request is due at start + i/rate; it is written on an
    # idle connection at once, or queued until one frees up; its latency runs from the due time to the last byte of
    # the response, so a stalled proxy shows up as latency instead of silently lowering the rate.
    req = f"GET {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\nUser-Agent: mtls-bench-paced\r\n\r\n".encode()

    def connect():
        s = socket.create_connection((a.host, a.port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        return s

    idle = collections.deque(connect() for _ in range(a.conns))
    busy = {}  # socket → [due time, response bytes so far]
    pending = collections.deque()
    lat, lag = [], []
    errors = non2xx = queued = 0
    interval = 1.0 / a.rate
    total = int(round(a.rate * (a.warmup + a.duration)))
    start = time.perf_counter() + 0.02
    measure_from = start + a.warmup
    drain_deadline = start + a.warmup + a.duration + 10
    first_done = last_done = None
    i = 0

    def send(s, due):
        nonlocal errors
        now = time.perf_counter()
        if due >= measure_from:
            lag.append(now - due)
        try:
            s.send(req)  # ~80 bytes on an idle connection: never blocks
        except OSError:
            errors += 1
            try:
                s.close()
            except OSError:
                pass
            s = connect()
            s.send(req)
        busy[s] = [due, b""]

    def complete(buf):
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = buf[:end].decode("latin-1")
        m = re.search(r"(?im)^content-length:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + length:
            return None
        return int(head.split(" ", 2)[1])

    while True:
        now = time.perf_counter()
        while i < total and start + i * interval <= now:
            due = start + i * interval
            i += 1
            if idle:
                send(idle.popleft(), due)
            else:
                pending.append(due)
                queued += 1
        if i >= total and not busy and not pending:
            break
        if now > drain_deadline:
            errors += len(busy) + len(pending)
            break
        timeout = max(0.0, start + i * interval - now) if i < total else 0.2
        ready, _, _ = select.select(list(busy), [], [], timeout)
        for s in ready:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            st = busy[s]
            if not data:  # the proxy closed the connection: count it, reconnect, the request is lost
                errors += 1
                del busy[s]
                s.close()
                idle.append(connect())
                continue
            st[1] += data
            status = complete(st[1])
            if status is None:
                continue
            t = time.perf_counter()
            del busy[s]
            if st[0] >= measure_from:
                lat.append(t - st[0])
                if not 200 <= status < 400:
                    non2xx += 1
                first_done = first_done if first_done is not None else t
                last_done = t
            if pending:
                send(s, pending.popleft())
            else:
                idle.append(s)
        if idle and pending:
            while idle and pending:
                send(idle.popleft(), pending.popleft())
    for s in list(idle) + list(busy):
        s.close()
    ms = [x * 1000 for x in lat]
    out = {"rate": a.rate, "conns": a.conns, "n": len(ms), "errors": errors, "non2xx": non2xx, "queued": queued,
           "achieved_rps": len(ms) / a.duration if ms else None,
           "p50_ms": datapath_helper.pct(ms, 50) if ms else None, "p90_ms": datapath_helper.pct(ms, 90) if ms else None,
           "p99_ms": datapath_helper.pct(ms, 99) if ms else None, "max_ms": max(ms) if ms else None,
           "lag_p50_ms": datapath_helper.pct([x * 1000 for x in lag], 50) if lag else None,
           "lag_p99_ms": datapath_helper.pct([x * 1000 for x in lag], 99) if lag else None}
    print(json.dumps(out))


# --- one cell ----------------------------------------------------------------------------------------------------
def parse_tool(test, path):
    if test == "paced":
        try:
            d = json.loads(open(path).read().strip().splitlines()[-1])
            d["value"] = d.get("p50_ms")
            return d
        except (ValueError, IndexError, OSError) as e:
            return {"value": None, "error": f"paced output unreadable: {e}"}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        (datapath_helper.cmd_iperf if test.startswith("iperf") else datapath_helper.cmd_wrk)([path])
    d = json.loads(buf.getvalue())
    d["value"] = d.get("gbps") if test.startswith("iperf") else d.get("rps")
    return d


def cmd_cell(args):
    test, path, rep, outfile, t0, t1, clk = args[:7]
    wall = float(t1) - float(t0)
    d = parse_tool(test, outfile)
    cores = {}
    for kv in args[7:]:
        name, ticks = kv.split("=", 1)
        a0, a1 = (int(x) for x in ticks.split(","))
        cores[name] = (a1 - a0) / float(clk) / wall
    d.update(kind="traffic", test=test, path=path, rep=int(rep), wall_s=wall, cores=cores,
             load1=float(open("/proc/loadavg").read().split()[0]))
    for p, names in PROXIES.items():
        d[p + "_cores"] = sum(cores.get(n, 0.0) for n in names)
    print(json.dumps(d))


# --- wire check --------------------------------------------------------------------------------------------------
def run(argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout


def cmd_wire(args):
    pcap, app_ports, marker = args[0], [int(x) for x in args[1].split(",")], args[2]
    tshark = args[3] if len(args) > 3 and args[3] else None

    def count(flt):
        return sum(1 for line in run(["tcpdump", "-r", pcap, "-n", "-q", flt]).splitlines() if line.strip())

    out = {"total": count("tcp"), "hbone": count("tcp port 15008"),
           "app": count(" or ".join(f"tcp port {p}" for p in app_ports)),
           # first payload byte of a segment to/from 15008 is a TLS record type: 0x16 handshake, 0x17 application data
           "tls_handshake_segments": count("tcp port 15008 and tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0x16"),
           "tls_appdata_segments": count("tcp port 15008 and tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0x17"),
           "marker_visible": marker.encode() in open(pcap, "rb").read()}
    if tshark:
        # The ServerHello's selected version (0x0304 = TLS 1.3) and the ClientHello's ALPN, decoded on 15008.
        sh = run([tshark, "-r", pcap, "-d", "tcp.port==15008,tls", "-Y", "tls.handshake.type == 2", "-T", "fields",
                  "-e", "tls.handshake.extensions.supported_version"]).split()
        alpn = run([tshark, "-r", pcap, "-d", "tcp.port==15008,tls", "-Y", "tls.handshake.type == 1", "-T", "fields",
                    "-e", "tls.handshake.extensions_alpn_str"]).split()
        out["server_hello_versions"] = sorted(set(sh))
        out["client_hello_alpn"] = sorted(set(",".join(alpn).split(","))) if alpn else []
    if out["marker_visible"] or (out["app"] > 0 and out["hbone"] == 0):
        out["verdict"] = "PLAINTEXT"
        out["text"] = (f"PLAINTEXT ({out['app']} packets to/from app ports {'/'.join(map(str, app_ports))}, "
                       f"{out['hbone']} to/from 15008; request line {'readable' if out['marker_visible'] else 'not seen'} on the wire)")
    elif out["hbone"] > 0 and out["app"] == 0 and (out["tls_handshake_segments"] or out["tls_appdata_segments"]):
        out["verdict"] = "HBONE/TLS"
        extra = ""
        if "server_hello_versions" in out:
            v = out["server_hello_versions"]
            extra = f"; ServerHello {'TLS 1.3' if v == ['0x0304'] else (','.join(v) or 'not in the window (pooled connection)')}"
            if out["client_hello_alpn"]:
                extra += f", ALPN {','.join(out['client_hello_alpn'])}"
        out["text"] = f"HBONE/TLS on 15008 ({out['hbone']} packets, 0 to app ports, request line not readable{extra})"
    else:
        out["verdict"] = "UNKNOWN"
        out["text"] = (f"UNKNOWN ({out['total']} tcp packets: {out['hbone']} 15008, {out['app']} app ports, "
                       f"TLS-looking segments {out['tls_handshake_segments'] + out['tls_appdata_segments']}, "
                       f"marker {'visible' if out['marker_visible'] else 'not seen'})")
    print(json.dumps(out))


# --- report ------------------------------------------------------------------------------------------------------
def fmt(v, spec):
    return "-" if v is None else spec.format(v)


def cmd_report(args):
    rows = [json.loads(line) for line in open(args[0]) if line.strip()]
    raw = "--raw" in args[1:]
    meta = {}
    for r in rows:
        if r["kind"] == "meta":
            meta.update({k: v for k, v in r.items() if k != "kind"})
    traffic = [r for r in rows if r["kind"] == "traffic"]
    rss = {r["proc"]: r for r in rows if r["kind"] == "rss"}
    tests = []
    for r in traffic:
        if r["test"] not in tests:
            tests.append(r["test"])

    def med(test, path, field):
        vals = [r[field] for r in traffic if r["test"] == test and r["path"] == path and r.get(field) is not None]
        return statistics.median(vals) if vals else None

    def ratio(a, b):
        return None if a is None or b in (None, 0) else a / b

    out = []
    w = out.append
    w(f"## Ambient mTLS data-path benchmark — {meta.get('date', '')}")
    w("")
    w(f"- **ambient wire: {meta.get('wire', {}).get('text', 'not checked')}**")
    for p in ("stunnel", "haproxy"):
        if meta.get(p + "_tls"):
            w(f"- {p} pair: {meta[p + '_tls']}")
    w(f"- pods: client on node-1, server on node-2 (separate node netns, routed over the fabric bridge). "
      f"ambient = `mesh/client` → `mesh/server` (namespace labelled ambient, both captured); direct, stunnel, haproxy = "
      f"`plain/client` → `plain/server` (not captured; same nodes, same CNI chain). Servers: nginx 2 workers "
      f"(`/small` = 100 B) and `iperf3 -s` in each server pod.")
    w(f"- host: {meta.get('cpus', '?')} CPUs, load average {meta.get('load', '?')} at start, {meta.get('load_end', '?')} at end; "
      f"{meta.get('reps', '?')} interleaved repetition(s) x {meta.get('duration', '?')} s per cell; every cell = median of the "
      f"repetitions; wall time {meta.get('wall_s', '?')} s")
    w("")
    units = {"iperf1": ("iperf3, 1 stream", "Gbit/s", "{:.2f}"), "iperf4": ("iperf3, 4 streams", "Gbit/s", "{:.2f}"),
             "rps": ("HTTP keep-alive, wrk c16", "req/s", "{:.0f}"), "cps": ("new connections, wrk c16 Connection: close", "conn/s", "{:.0f}"),
             "paced": (f"fixed {meta.get('rate', 1000):g} req/s, {meta.get('paced_conns', 16)} keep-alive conns", "", "")}
    head = ["test", "unit", "direct", "ambient", "stunnel", "haproxy", "amb/hap", "amb/stn", "amb/dir", "amb CPU", "stn CPU", "hap CPU"]
    table = []

    def row(name, unit, spec, test, field, cpu):
        vals = [med(test, p, field) for p in PATHS]
        d, a, s, h = vals
        cells = [name, unit] + [fmt(v, spec) for v in vals] + [fmt(ratio(a, h), "{:.2f}"), fmt(ratio(a, s), "{:.2f}"), fmt(ratio(a, d), "{:.2f}")]
        if cpu:
            cells += [fmt(med(test, p, p + "_cores"), "{:.2f}c") for p in ("ambient", "stunnel", "haproxy")]
        else:
            cells += ["", "", ""]
        table.append(cells)

    for t in tests:
        name, unit, spec = units.get(t, (t, "", "{:.2f}"))
        if t in ("iperf1", "iperf4"):
            row(name, unit, spec, t, "value", True)
        elif t in ("rps", "cps"):
            row(name, unit, spec, t, "value", True)
            row("  p50 (lower is better)", "ms", "{:.3f}", t, "p50_ms", False)
            row("  p99 (lower is better)", "ms", "{:.3f}", t, "p99_ms", False)
        elif t == "paced":
            row(name + ": p50", "ms", "{:.3f}", t, "p50_ms", True)
            row("  p99 (lower is better)", "ms", "{:.3f}", t, "p99_ms", False)
            row("  achieved rate", "req/s", "{:.0f}", t, "achieved_rps", False)
    widths = [max(len(head[i]), *(len(r[i]) for r in table)) if table else len(head[i]) for i in range(len(head))]

    def line(cells, align_left=2):
        return "| " + " | ".join(c.ljust(widths[i]) if i < align_left else c.rjust(widths[i]) for i, c in enumerate(cells)) + " |"

    w(line(head))
    w("|" + "|".join("-" * (widths[i] + 1) + ":" if i >= 2 else "-" * (widths[i] + 2) for i in range(len(head))) + "|")
    for r in table:
        w(line(r))
    w("")
    w("Ratios are ambient ÷ the other path from the same run: for throughput/rates higher is better (≥ 1.00 = ambient at "
      "least as fast), for latencies lower is better. CPU = cores used by that path's proxies during its own cells "
      "(both sides summed: the two agents, the two stunnels, the two HAProxies), from utime+stime.")
    if "paced" in tests:
        d50, d99 = med("paced", "direct", "p50_ms"), med("paced", "direct", "p99_ms")
        parts = []
        for p in ("ambient", "stunnel", "haproxy"):
            p50, p99 = med("paced", p, "p50_ms"), med("paced", p, "p99_ms")
            if p50 is not None and d50 is not None:
                parts.append(f"{p} **{p50 - d50:+.3f} ms** p50 ({fmt(None if p99 is None or d99 is None else p99 - d99, '{:+.3f}')} ms p99)")
        w("")
        w(f"**Added p50 at {meta.get('rate', 1000):g} req/s vs direct** (direct p50 {fmt(d50, '{:.3f}')} ms, p99 {fmt(d99, '{:.3f}')} ms): "
          + "; ".join(parts) + ".")
    # Efficiency: CPU per unit of work (the numbers perf-baselines.md compares).
    eff = []

    def per(test, scale, label, unit_fmt):
        vals = []
        for p in ("ambient", "stunnel", "haproxy"):
            c, v = med(test, p, p + "_cores"), med(test, p, "achieved_rps" if test == "paced" else "value")
            vals.append(None if c is None or not v else c * scale / v)
        eff.append([label] + [fmt(v, unit_fmt) for v in vals] + [fmt(ratio(vals[0], vals[2]), "{:.2f}"), fmt(ratio(vals[0], vals[1]), "{:.2f}")])

    if "iperf1" in tests:
        per("iperf1", 8.0, "proxy CPU-s per GB moved, iperf3 1 stream", "{:.2f}")  # cores / (Gbit/s / 8) = s per GB
    if "paced" in tests:
        per("paced", 1000.0, f"proxy vCPU per 1000 req/s at {meta.get('rate', 1000):g} req/s", "{:.3f}")
    if "rps" in tests:
        per("rps", 1e6, "proxy CPU µs per request, keep-alive c16", "{:.1f}")
    if "cps" in tests:
        per("cps", 1e6, "proxy CPU µs per new connection", "{:.0f}")
    if eff:
        w("")
        eh = ["cost (lower is better)", "ambient", "stunnel", "haproxy", "amb/hap", "amb/stn"]
        ew = [max(len(eh[i]), *(len(r[i]) for r in eff)) for i in range(len(eh))]
        w("| " + " | ".join(c.ljust(ew[i]) if i == 0 else c.rjust(ew[i]) for i, c in enumerate(eh)) + " |")
        w("|" + "|".join("-" * (ew[i] + 2) if i == 0 else "-" * (ew[i] + 1) + ":" for i in range(len(eh))) + "|")
        for r in eff:
            w("| " + " | ".join(c.ljust(ew[i]) if i == 0 else c.rjust(ew[i]) for i, c in enumerate(r)) + " |")
    if rss:
        w("")
        rh = ["proxy process (VmRSS MiB)", "idle", "after traffic", "peak (VmHWM)"]
        rrows = []
        for p, names in PROXIES.items():
            got = [rss[n] for n in names if n in rss]
            for r in got:
                rrows.append([f"{p}: {r['proc']}", fmt(r.get("idle_mib"), "{:.1f}"), fmt(r.get("after_mib"), "{:.1f}"), fmt(r.get("hwm_mib"), "{:.1f}")])
            if len(got) == len(names):
                def s(f):
                    return None if any(r.get(f) is None for r in got) else sum(r[f] for r in got)
                rrows.append([f"**{p} pair**", fmt(s("idle_mib"), "{:.1f}"), fmt(s("after_mib"), "{:.1f}"), fmt(s("hwm_mib"), "{:.1f}")])
        rw = [max(len(rh[i]), *(len(r[i]) for r in rrows)) for i in range(len(rh))]
        w("| " + " | ".join(c.ljust(rw[i]) if i == 0 else c.rjust(rw[i]) for i, c in enumerate(rh)) + " |")
        w("|" + "|".join("-" * (rw[i] + 2) if i == 0 else "-" * (rw[i] + 1) + ":" for i in range(len(rh))) + "|")
        for r in rrows:
            w("| " + " | ".join(c.ljust(rw[i]) if i == 0 else c.rjust(rw[i]) for i, c in enumerate(r)) + " |")
        w("")
        w("The agents' RSS is the whole agent (xDS state, certificates, buffers), not only what this traffic costs.")
    w("")
    errs = [r for r in traffic if r.get("errors") or r.get("non2xx") or r.get("value") is None]
    if errs:
        w("**WARNING**: some cells had errors: " + "; ".join(
            f"{r['test']}/{r['path']}#{r['rep']}: errors={r.get('errors')} non2xx={r.get('non2xx')} value={r.get('value')}"
            + (f" ({r['error']})" if r.get("error") else "") for r in errs))
    else:
        w("No socket errors, no non-2xx responses, every cell produced a number.")
    loads = [r["load1"] for r in traffic if r.get("load1") is not None]
    if loads:
        w(f"Load average (1 min) at the end of the cells: {min(loads):.2f}–{max(loads):.2f} on {meta.get('cpus', '?')} CPUs"
          + (" — other work shared the machine: trust same-run ratios, rerun before believing a small difference." if max(loads) > 2.5 else "."))
    lags = {p: [r["lag_p99_ms"] for r in traffic if r["test"] == "paced" and r["path"] == p and r.get("lag_p99_ms") is not None] for p in PATHS}
    if any(lags.values()):
        w("Paced client self-check, its own dispatch lag p99 (worst cell per path): " + ", ".join(
            f"{p} {max(v):.3f} ms" for p, v in lags.items() if v) + ". Above ~0.2 ms the client was scheduled late (a busy "
            "machine): the fixed-rate latencies then include that lag; it affects every path alike, so compare the added p50.")
    stray = [r for r in traffic if any(r.get(p + "_cores", 0) > 0.05 for p in PROXIES if p != r["path"])]
    if stray:
        w("Note: some cells show CPU in another path's proxies (> 0.05 cores): " + ", ".join(
            f"{r['test']}/{r['path']}#{r['rep']}" for r in stray[:6]) + " — background work (e.g. an agent's xDS push) or paths mixing.")
    if raw:
        w("")
        w("### Every cell")
        w("")
        w("| test | path | rep | value | p50 ms | p99 ms | amb CPU | stn CPU | hap CPU | errors | paced lag p99 ms |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in traffic:
            w(f"| {r['test']} | {r['path']} | {r['rep']} | {fmt(r.get('value'), '{:.3f}')} | {fmt(r.get('p50_ms'), '{:.3f}')} | "
              f"{fmt(r.get('p99_ms'), '{:.3f}')} | {r['ambient_cores']:.2f} | {r['stunnel_cores']:.2f} | {r['haproxy_cores']:.2f} | "
              f"{(r.get('errors') or 0) + (r.get('non2xx') or 0)} | {fmt(r.get('lag_p99_ms'), '{:.3f}')} |")
    print("\n".join(out))


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"paced": cmd_paced, "cell": cmd_cell, "wire": cmd_wire, "report": cmd_report}[cmd](rest)
