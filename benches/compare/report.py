#!/usr/bin/env python3
"""benches/compare-kamailio.sh's report helper (stdlib only).

  report.py table OUT
      Reads OUT/runs/*/meta.json (what the script measured: CPU ticks of the
      server's process tree over the steady window) and OUT/runs/*/load.json
      (the load tool's summary), prints the side-by-side table and writes it
      as Markdown to OUT/compare.md (plus OUT/compare.json, every row).

  report.py sipp RUN MODE RATE SECONDS
      LOAD_TOOL=sipp stand-in: turns SIPp's statistics (-trace_stat) and
      response times (-trace_rtt) found in RUN into a summary shaped like
      sipforge-load's JSON, on stdout.
"""

import csv
import glob
import json
import os
import sys


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def sipp_summary(run, mode, rate, seconds):
    last = {}
    path = os.path.join(run, "sipp_stats.csv")
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            last = row

    def num(key):
        try:
            return int(float(last.get(key, "0") or 0))
        except ValueError:
            return 0

    rtts = []
    for name in glob.glob(os.path.join(run, "*_rtt.csv")):
        with open(name) as f:
            for line in f:
                parts = line.strip().split(";")
                if len(parts) < 2:
                    continue
                try:
                    rtts.append(float(parts[1]) * 1000.0)  # ms -> µs
                except ValueError:
                    continue  # the header line
    started = num("OutgoingCall(C)")
    ok = num("SuccessfulCall(C)")
    failed = num("FailedCall(C)")
    code = "302" if mode == "redirect" else "200"
    lat = {k: percentile(rtts, q) for k, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))}
    return {
        "scenario": mode,
        "transport": "udp",
        "offered_rate": rate,
        "achieved_rate": round(started / seconds, 1) if seconds else None,
        "duration_s": seconds,
        "started": started,
        "completed": ok + failed,
        "failed": failed,
        "codes": {code: ok},
        "retransmissions": num("Retransmissions(C)"),
        "latency_us": {k: (round(v) if v is not None else None) for k, v in lat.items()},
        "tool_cpu_us_per_call": None,
        "tool": "sipp (stand-in)",
    }


def load_runs(out):
    runs = {}
    for meta_path in sorted(glob.glob(os.path.join(out, "runs", "*", "meta.json"))):
        run = os.path.dirname(meta_path)
        with open(meta_path) as f:
            meta = json.load(f)
        summary = {}
        load_path = os.path.join(run, "load.json")
        try:
            with open(load_path) as f:
                summary = json.load(f)
        except (OSError, ValueError):
            # The tool may print its summary only on stdout.
            try:
                with open(os.path.join(run, "load.out")) as f:
                    summary = json.load(f)
            except (OSError, ValueError):
                summary = {}
        meta["load"] = summary
        meta["dir"] = run
        runs[(meta["mode"], meta["offered_rate"], meta["server"])] = meta
    return runs


def calls_in_window(meta):
    """Calls in the steady window: achieved rate × window (the offered rate
    when the tool gave none)."""
    rate = meta["load"].get("achieved_rate") or meta["offered_rate"]
    return float(rate) * float(meta["window_s"])


def cpu_per_call(meta):
    """µs of server CPU per call over the steady window, from the
    utime + stime ticks of /proc/PID/stat."""
    calls = calls_in_window(meta)
    if calls <= 0:
        return None
    return meta["cpu_ticks"] / float(meta["clk_tck"]) * 1e6 / calls


def sched_per_call(meta):
    """The same from /proc/PID/task/*/schedstat (ns on CPU, exact); None
    when the kernel keeps no schedstat."""
    calls = calls_in_window(meta)
    if calls <= 0 or not meta.get("sched_ns"):
        return None
    return meta["sched_ns"] / 1e3 / calls


def fmt(v, digits=0):
    if v is None:
        return "n/a"
    return f"{v:.{digits}f}"


def cell(meta):
    if meta is None:
        return ["-", "-", "-", "-"]
    load = meta["load"]
    lat = load.get("latency_us") or {}
    p50, p99 = lat.get("p50"), lat.get("p99")
    latency = f"{fmt(p50)} / {fmt(p99)}" if load else "n/a"
    failed = load.get("failed")
    if load and meta.get("load_exit", 0) not in (0, 1):
        failed = f"{failed} (exit {meta['load_exit']})"
    return [
        fmt(load.get("achieved_rate"), 1),
        "n/a" if failed is None else str(failed),
        latency,
        f"{fmt(cpu_per_call(meta), 1)} ({fmt(sched_per_call(meta), 1)})",
    ]


def table(out):
    runs = load_runs(out)
    keys = sorted({(m, r) for (m, r, _) in runs}, key=lambda k: (k[0] != "redirect", k[1]))
    head = ["mode", "offered/s",
            "Kamailio achieved/s", "Kamailio failed", "Kamailio p50 / p99 µs", "Kamailio CPU µs/call",
            "sipforge achieved/s", "sipforge failed", "sipforge p50 / p99 µs", "sipforge CPU µs/call",
            "CPU ratio sipforge/Kamailio"]
    rows, records = [], []
    for mode, rate in keys:
        k, s = runs.get((mode, rate, "kamailio")), runs.get((mode, rate, "sipforge"))
        ck, cs = (cpu_per_call(k) if k else None), (cpu_per_call(s) if s else None)
        ratio = cs / ck if ck and cs is not None else None
        rows.append([mode, str(rate)] + cell(k) + cell(s) + [fmt(ratio, 2)])
        records.append({"mode": mode, "offered_rate": rate,
                        "kamailio": k, "sipforge": s,
                        "kamailio_cpu_us_per_call": ck, "sipforge_cpu_us_per_call": cs,
                        "kamailio_sched_us_per_call": sched_per_call(k) if k else None,
                        "sipforge_sched_us_per_call": sched_per_call(s) if s else None,
                        "cpu_ratio": ratio})
    any_meta = next(iter(runs.values()), {})
    note = (f"CPU: utime+stime of the server's whole process tree (/proc/PID/stat, "
            f"1/{any_meta.get('clk_tck', '?')} s ticks) over the steady window "
            f"({fmt(float(any_meta.get('window_s', 0)), 1)} s after the warm-up), "
            f"divided by achieved rate × window; in parentheses the same from "
            f"/proc/PID/task/*/schedstat (ns on CPU, exact; the ratio uses the first). Load tool: {any_meta.get('load_tool', '?')}. "
            f"Latency: INVITE → final response, as the load tool measures it.")
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    print(note)
    with open(os.path.join(out, "compare.md"), "w") as f:
        f.write("| " + " | ".join(head) + " |\n")
        f.write("| " + " | ".join("---" for _ in head) + " |\n")
        for r in rows:
            f.write("| " + " | ".join(r) + " |\n")
        f.write("\n" + note + "\n")
    with open(os.path.join(out, "compare.json"), "w") as f:
        json.dump(records, f, indent=1)
    print(f"(written: {os.path.join(out, 'compare.md')}, compare.json, runs/*/load.json)")


def main(argv):
    if len(argv) == 3 and argv[1] == "table":
        table(argv[2])
        return 0
    if len(argv) == 6 and argv[1] == "sipp":
        print(json.dumps(sipp_summary(argv[2], argv[3], int(argv[4]), int(argv[5]))))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
