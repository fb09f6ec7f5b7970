#!/usr/bin/env bash
# CPU per call of sipforge alone (no Kamailio): the figure each optimisation
# step in docs/BENCHMARKS.md was judged by. Starts sipforge (release) pinned
# to core 0 with CONFIG, offers sipforge-load's MODE scenario at RATE
# calls/s from core 1 for 3 s of warm-up + 10 s measured, and prints the
# server's CPU per call (sum of its threads' schedstat on-CPU time over the
# measured window / calls in it), RUNS times.
#
#   cargo build --release
#   benches/cpu_per_call.sh                                   # redirect, 5000/s, 3 runs
#   MODE=proxy benches/cpu_per_call.sh
#   CONFIG=my.toml RATE=2000 RUNS=1 benches/cpu_per_call.sh
#
# Port 5070 (and 5080 for the proxy scenario's UAS) must be free.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${MODE:-redirect}
RATE=${RATE:-5000}
RUNS=${RUNS:-3}
case "$MODE" in
  redirect) CONFIG=${CONFIG:-benches/compare/sipforge-redirect.toml}; EXTRA=() ;;
  proxy) CONFIG=${CONFIG:-benches/compare/sipforge-proxy.toml}; EXTRA=(--uas 127.0.0.1:5080) ;;
  *) echo "MODE must be redirect or proxy" >&2; exit 2 ;;
esac
for bin in target/release/sipforge target/release/sipforge-load; do
  [ -x "$bin" ] || { echo "$bin not found: run 'cargo build --release' first" >&2; exit 2; }
done
on_cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; }
OUT=$(mktemp -d)
for run in $(seq "$RUNS"); do
  RUST_LOG=warn taskset -c 0 target/release/sipforge serve --config "$CONFIG" >"$OUT/server.log" 2>&1 &
  SERVER=$!
  trap 'kill -9 $SERVER 2>/dev/null || true' EXIT
  sleep 1
  timeout 60 taskset -c 1 target/release/sipforge-load --target 127.0.0.1:5070 --scenario "$MODE" \
    "${EXTRA[@]}" --rate "$RATE" --duration 14 --prefixes 1,1212,4420,44,49,33 --no-progress \
    --json "$OUT/load.json" >/dev/null 2>&1 &
  LOAD=$!
  sleep 3
  t0=$(on_cpu_ns "$SERVER")
  sleep 10
  t1=$(on_cpu_ns "$SERVER")
  wait "$LOAD" || true
  kill -9 "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  python3 - "$OUT/load.json" "$t0" "$t1" "$RATE" "$MODE" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t0, t1, rate = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
us = (t1 - t0) / 1000 / (rate * 10)
lat = d["latency_us"]
print(f"{sys.argv[5]} {rate:.0f}/s: {us:.1f} us CPU per call, failed {d['failed']}, "
      f"p50 {lat['p50']} us, p99 {lat['p99']} us")
PY
done
rm -rf "$OUT"
