#!/usr/bin/python3
"""Helpers for bench/datapath.sh: CNI timing loops, tool-output parsing and the final table.

Subcommands (all print one JSON object on stdout unless noted):
  plugin  RUNS PLUGIN CONF_JSON_FILE COMMAND K=V...   exec PLUGIN RUNS times with CNI env + stdin, time each
  chain   DRIVER CONFLIST CNI_PATH CACHE POD_SPEC...  run libcni-driver ADD per pod ("ns,name,netns,uid");
                                                     --parallel N runs N at a time; times each pod
  iperf   FILE                                        receiver Gbit/s from iperf3 -J output
  wrk     FILE                                        requests/s, p50/p99 ms, socket errors, non-2xx from wrk --latency
  report  RESULTS_JSONL                               the table (text)
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(ms):
    return {"n": len(ms), "median_ms": statistics.median(ms), "p90_ms": pct(ms, 90), "min_ms": min(ms), "max_ms": max(ms)}


def cmd_plugin(args):
    runs, plugin, conf_file, command = int(args[0]), args[1], args[2], args[3]
    env = dict(os.environ)
    for kv in args[4:]:
        k, v = kv.split("=", 1)
        env[k] = v
    env["CNI_COMMAND"] = command
    stdin = open(conf_file, "rb").read()
    times, failures, last = [], 0, ""
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([plugin], input=stdin, env=env, capture_output=True)
        times.append((time.perf_counter() - t0) * 1000)
        if r.returncode != 0:
            failures += 1
            last = (r.stdout + r.stderr).decode(errors="replace")[-300:]
    out = summary(times)
    out.update(failures=failures, last_error=last)
    print(json.dumps(out))


def cmd_chain(args):
    parallel = 1
    if args[0] == "--parallel":
        parallel, args = int(args[1]), args[2:]
    driver, conflist, cni_path, cache = args[0], args[1], args[2], args[3]
    pods = args[4:]
    env = dict(os.environ, CNI_PATH=cni_path, CNI_CACHE_DIR=cache)

    def add(spec):
        ns, name, netns, uid = spec.split(",")
        cid = "bench" + uid.replace("-", "")
        argv = [driver, "add", conflist, netns, cid, "IgnoreUnknown=1", f"K8S_POD_NAMESPACE={ns}", f"K8S_POD_NAME={name}",
                f"K8S_POD_INFRA_CONTAINER_ID={cid}", f"K8S_POD_UID={uid}"]
        t0 = time.perf_counter()
        r = subprocess.run(argv, env=env, capture_output=True)
        ms = (time.perf_counter() - t0) * 1000
        ip = ""
        if r.returncode == 0:
            try:
                ip = json.loads(r.stdout)["ips"][0]["address"].split("/")[0]
            except (ValueError, KeyError, IndexError):
                pass
        return {"pod": f"{ns}/{name}", "ms": ms, "ok": r.returncode == 0 and ip != "", "ip": ip, "cid": cid,
                "err": "" if r.returncode == 0 else (r.stdout + r.stderr).decode(errors="replace")[-300:]}

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(add, pods))
    wall = (time.perf_counter() - t0) * 1000
    ok = [r["ms"] for r in results if r["ok"]]
    out = summary(ok) if ok else {"n": 0}
    out.update(wall_ms=wall, failures=sum(1 for r in results if not r["ok"]), pods=results)
    print(json.dumps(out))


def cmd_iperf(args):
    try:
        d = json.load(open(args[0]))
        bps = d["end"]["sum_received"]["bits_per_second"]
        retr = d["end"].get("sum_sent", {}).get("retransmits", 0)
        print(json.dumps({"gbps": bps / 1e9, "retransmits": retr}))
    except (ValueError, KeyError) as e:
        print(json.dumps({"gbps": None, "error": f"iperf3 output unreadable: {e}"}))


def to_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    if not m:
        return None
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def cmd_wrk(args):
    text = open(args[0]).read()
    out = {"rps": None, "p50_ms": None, "p99_ms": None, "errors": 0, "non2xx": 0, "requests": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for q, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{q}%\s+(\S+)", text, re.M)
        if m:
            out[key] = to_ms(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    print(json.dumps(out))


def fmt(v, spec="{:.2f}"):
    if v is None:
        # keep the column width of the format: "{:>10.2f}" → 10 wide, "{:>9.2f}c" → 10 wide
        m = re.match(r"\{:>(\d+)", spec)
        return "-".rjust(int(m.group(1)) + len(spec) - spec.index("}") - 1) if m else "-"
    return spec.format(v)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def cmd_report(args):
    rows = [json.loads(line) for line in open(args[0]) if line.strip()]
    by = {}
    for r in rows:
        by.setdefault(r["kind"], []).append(r)
    meta = {}
    for m in by.get("meta", []):
        meta.update(m)
    lines = []
    w = lines.append
    w("")
    w(f"== Ambient data-path + CNI benchmark (plaintext) — {meta.get('date', '')} ==")
    w(f"host: {meta.get('cpus', '?')} CPUs, load avg at start {meta.get('load', '?')}; {meta.get('reps', '?')} interleaved repetition(s) x {meta.get('duration', '?')} s per traffic cell; cells = median of repetitions")
    w("")
    w("1. CNI ADD latency                                  n    median ms   p90 ms   max ms   target          ok?")
    for r in by.get("cni", []):
        tgt = r.get("target_ms")
        ok = "-" if tgt is None or r.get("median_ms") is None else ("yes" if r["median_ms"] <= tgt else "NO")
        tgt_s = f"median <= {tgt:g} ms" if tgt is not None else ""
        fails = f"  ({r['failures']} FAILED)" if r.get("failures") else ""
        extra = f"  wall {r['wall_ms']:.0f} ms" if r.get("wall_ms") is not None else ""
        w(f"   {r['label']:<47} {r.get('n', 0):>3} {fmt(r.get('median_ms'), '{:>10.1f}')} {fmt(r.get('p90_ms'), '{:>8.1f}')} {fmt(r.get('max_ms'), '{:>8.1f}')}   {tgt_s:<15} {ok}{fails}{extra}")
    w("")
    w("2. Agent resident memory (VmRSS)                    MiB     target           ok?")
    for r in by.get("rss", []):
        tgt = r.get("target_mib")
        ok = "-" if tgt is None else ("yes" if r["mib"] <= tgt else "NO")
        w(f"   {r['label']:<47} {r['mib']:>6.1f}   {('<= %g MiB' % tgt) if tgt else '':<16} {ok}")
    w("")
    # Traffic: median over repetitions per (test, path).
    traffic = by.get("traffic", [])
    tests = []
    for r in traffic:
        if r["test"] not in tests:
            tests.append(r["test"])
    paths = ["direct", "agent", "haproxy"]

    def med(test, path, field):
        vals = [r[field] for r in traffic if r["test"] == test and r["path"] == path and r.get(field) is not None]
        return statistics.median(vals) if vals else None

    units = {"iperf1": ("iperf3 1 stream", "Gbit/s"), "iperf4": ("iperf3 4 streams", "Gbit/s"),
             "rps": ("HTTP keep-alive c16 (100 B)", "req/s"), "cps": ("new connections (Connection: close, c16)", "conn/s")}
    w("3. Throughput / connection rate, client pod -> server pod on one node (agent vs haproxy in the same run)")
    w(f"   {'test':<42}{'unit':<8}{'direct':>10}{'agent':>10}{'haproxy':>10}{'agt/hap':>9}{'agt/dir':>9}  {'target':<16}{'agent CPU':>10}{'hap CPU':>9}")
    for t in tests:
        name, unit = units.get(t, (t, ""))
        d, a, h = (med(t, p, "value") for p in paths)
        ah, ad = ratio(a, h), ratio(a, d)
        ok = "" if ah is None else ("yes" if ah >= 1.0 else "NO")
        spec = "{:>10.2f}" if unit == "Gbit/s" else "{:>10.0f}"
        ac, hc = med(t, "agent", "agent_cores"), med(t, "haproxy", "haproxy_cores")
        w(f"   {name:<42}{unit:<8}{fmt(d, spec)}{fmt(a, spec)}{fmt(h, spec)}{fmt(ah, '{:>9.2f}')}{fmt(ad, '{:>9.2f}')}  {'agent>=haproxy ' + ok:<16}{fmt(ac, '{:>9.2f}c')}{fmt(hc, '{:>8.2f}c')}")
        if t in ("rps", "cps"):
            for f, lab in (("p50_ms", "p50 ms"), ("p99_ms", "p99 ms")):
                d, a, h = (med(t, p, f) for p in paths)
                w(f"   {'  ' + lab:<42}{'ms':<8}{fmt(d, '{:>10.3f}')}{fmt(a, '{:>10.3f}')}{fmt(h, '{:>10.3f}')}{fmt(ratio(a, h), '{:>9.2f}')}{fmt(ratio(a, d), '{:>9.2f}')}  (lower is better)")
    errs = [r for r in traffic if r.get("errors") or r.get("non2xx") or r.get("value") is None]
    w("")
    w("   agent CPU / hap CPU = cores used by that proxy process during its own run (utime+stime delta / wall).")
    if errs:
        w("   WARNING: some runs had errors: " + "; ".join(f"{r['test']}/{r['path']}#{r['rep']}: errors={r.get('errors')} non2xx={r.get('non2xx')} value={r.get('value')}" for r in errs))
    else:
        w("   no socket errors, no non-2xx responses, every run produced a number.")
    if meta.get("load_end"):
        w(f"   noise: load average at start {meta.get('load')}, at end {meta.get('load_end')} (other builds share these {meta.get('cpus', '?')} CPUs: trust the ratios)")
    print("\n".join(lines))


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"plugin": cmd_plugin, "chain": cmd_chain, "iperf": cmd_iperf, "wrk": cmd_wrk, "report": cmd_report}[cmd](rest)
