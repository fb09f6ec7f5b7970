#!/usr/bin/env bash
# Soak (issue 7): sipforge in proxy mode under a steady load for a long time;
# RSS and the transaction/dialog tables must stay flat.
#
# Starts sipforge (release) with benches/compare/sipforge-proxy.toml plus an
# admin listener, runs sipforge-load (proxy scenario, built-in UAS on
# 127.0.0.1:5080) at RATE calls/s for DURATION seconds, samples sipforge's RSS
# (VmRSS) and /metrics (transactions, dialogs) every STEP seconds, and prints
# the samples, the load tool's summary and the tables after the drain.
#
#   cargo build --release
#   benches/soak.sh                         # RATE=1000 DURATION=600 STEP=30
#   RATE=500 DURATION=60 benches/soak.sh    # a short one
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}
DURATION=${DURATION:-600}
STEP=${STEP:-30}
SIPFORGE=${SIPFORGE:-target/release/sipforge}
LOAD=${LOAD:-target/release/sipforge-load}
OUT=${OUT:-$(mktemp -d -t sipforge-soak.XXXXXX)}
mkdir -p "$OUT"
ADMIN=127.0.0.1:${ADMIN_PORT:-29091}
[ -x "$SIPFORGE" ] && [ -x "$LOAD" ] || { echo "soak: build first: cargo build --release" >&2; exit 2; }

PIN_SF=() PIN_LD=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SF=(taskset -c 0) PIN_LD=(taskset -c 1)
fi
sed "s|^mode = \"proxy\"|mode = \"proxy\"\nadmin_listen = \"$ADMIN\"|" \
  benches/compare/sipforge-proxy.toml > "$OUT/sipforge.toml"
RUST_LOG=warn "${PIN_SF[@]}" "$SIPFORGE" serve --config "$OUT/sipforge.toml" > "$OUT/sipforge.log" 2>&1 &
SF=$!
trap 'kill $SF 2>/dev/null || true; kill ${LD:-0} 2>/dev/null || true' EXIT
sleep 1
metric() { curl -s "http://$ADMIN/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$SF/status"; }
"${PIN_LD[@]}" "$LOAD" --target 127.0.0.1:5070 --scenario proxy --uas 127.0.0.1:5080 \
  --rate "$RATE" --duration "$DURATION" --prefixes 1,1212,4420,44,49,33 --no-progress \
  --timeout-ms 8000 > "$OUT/load.json" 2> "$OUT/load.err" &
LD=$!
printf '%8s %10s %14s %9s\n' "t (s)" "RSS (kB)" "transactions" "dialogs" | tee "$OUT/samples.txt"
t=0
while kill -0 $LD 2>/dev/null; do
  printf '%8d %10s %14s %9s\n' "$t" "$(rss)" "$(metric sipforge_transactions_active)" "$(metric sipforge_dialogs_active)" | tee -a "$OUT/samples.txt"
  sleep "$STEP"; t=$((t + STEP))
done
wait $LD || true
sleep 7  # linger_ms (5 s) and T4 let the last transactions leave
printf '%8s %10s %14s %9s\n' "drained" "$(rss)" "$(metric sipforge_transactions_active)" "$(metric sipforge_dialogs_active)" | tee -a "$OUT/samples.txt"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("load:", {k: d[k] for k in ("offered_rate","achieved_rate","started","completed","failed","codes","latency_us")})' "$OUT/load.json"
echo "(output in $OUT)"
