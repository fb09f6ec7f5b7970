#!/usr/bin/env bash
# Proxy mode under load: what one whole call costs sipforge.
#
# SIPp (Debian `sip-tester`) places COUNT calls at RATE calls/s through
# sipforge (`mode = "proxy"`, one carrier) to a SIPp UAS. Every call is
# INVITE/100/180/200/ACK/BYE/200, with ACK and BYE loose-routed through
# sipforge by its Record-Route. The scenarios are tests/peers/sipp-uac.xml
# and tests/peers/sipp-uas.xml: SIPp's built-in `-sn uac` sends ACK/BYE with
# no Route (sipforge answers 481 to the BYE) and `-sn uas` does not copy
# Record-Route into its 200, so neither can talk through a Record-Routing
# proxy.
#
# Reported: calls attempted / succeeded / failed (SIPp's statistics and exit
# code), sipforge's CPU time (utime + stime from /proc/PID/stat, ticks of
# `getconf CLK_TCK`) over the load and again once its transaction table has
# drained (timer D/K, up to 64·T1 = 32 s with the default timers), CPU µs per
# full call, peak RSS, and SIPp's INVITE→200 response time and call length.
#
# The caller builds the release binary first; nothing is built here:
#
#   cargo build --release
#   benches/proxy_sipp.sh                          # RATE=500 COUNT=5000 udp
#   RATE=1000 COUNT=20000 TRANSPORT=tcp benches/proxy_sipp.sh
#
# Environment:
#   RATE       calls per second (default 500)
#   COUNT      calls in total (default 5000)
#   TRANSPORT  udp | tcp, both legs (default udp; tcp: one connection per leg)
#   SIPFORGE   the binary (default target/release/sipforge)
#   UAS_PORT   first port tried for the SIPp UAS (default 25070)
#   OUT        directory for config, logs and SIPp traces (default: mktemp)
#
# With taskset, sipforge runs on core 0 and both SIPp processes on core 1,
# so sipforge's tokio runtime has one worker thread.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-500}
COUNT=${COUNT:-5000}
TRANSPORT=${TRANSPORT:-udp}
SIPFORGE=${SIPFORGE:-target/release/sipforge}
UAS_PORT=${UAS_PORT:-25070}
OUT=${OUT:-$(mktemp -d -t sipforge-proxy-sipp.XXXXXX)}
mkdir -p "$OUT"

die() { echo "proxy_sipp: $*" >&2; exit 1; }
case "$TRANSPORT" in
  udp) SIPP_T=u1; GW_SUFFIX="" ;;
  tcp) SIPP_T=t1; GW_SUFFIX=";transport=tcp" ;;
  *) die "TRANSPORT must be udp or tcp, not '$TRANSPORT'" ;;
esac
[[ "$RATE" =~ ^[1-9][0-9]*$ && "$COUNT" =~ ^[1-9][0-9]*$ ]] || die "RATE and COUNT must be positive integers"
[ -x "$SIPFORGE" ] || die "$SIPFORGE not found: run 'cargo build --release' first (or set SIPFORGE)"
SIPP=$(command -v sipp) || die "sipp not found (apt-get install sip-tester)"
TICKS=$(getconf CLK_TCK)

PIN_SF=() PIN_SIPP=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SF=(taskset -c 0) PIN_SIPP=(taskset -c 1)
fi

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# utime + stime of a process, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the ')' that ends the command name).
cpu_ticks() {
  local stat
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))
}

# GET /metrics from sipforge's admin listener (bash /dev/tcp, no curl needed).
metrics() {
  local host=${ADMIN%:*} port=${ADMIN##*:}
  exec 3<>"/dev/tcp/$host/$port"
  printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}
metric() { metrics | awk -v m="$1" '$1 == m { print $2 }'; }

# --- SIPp UAS: the carrier ---------------------------------------------------
UAS_PID=""
for port in $(seq "$UAS_PORT" $((UAS_PORT + 20))); do
  "${PIN_SIPP[@]}" "$SIPP" -sf tests/peers/sipp-uas.xml -i 127.0.0.1 -p "$port" -t "$SIPP_T" \
    -nostdin -trace_err -error_file "$OUT/uas_errors.log" \
    >"$OUT/uas_screen.log" 2>&1 &
  pid=$!
  sleep 0.5
  if kill -0 "$pid" 2>/dev/null; then
    UAS_PID=$pid UAS_PORT=$port
    PIDS+=("$pid")
    break
  fi
  wait "$pid" 2>/dev/null || true
done
[ -n "$UAS_PID" ] || die "the SIPp UAS did not start; $OUT/uas_screen.log"

# --- sipforge, proxy mode ------------------------------------------------------
cat >"$OUT/sipforge.toml" <<EOF
[server]
listen_udp = ["127.0.0.1:0"]
listen_tcp = ["127.0.0.1:0"]
mode = "proxy"
admin_listen = "127.0.0.1:0"

[[carriers]]
id = "uas"
gateways = ["127.0.0.1:${UAS_PORT}${GW_SUFFIX}"]

[[customers]]
id = "load"
sources = ["127.0.0.1/32"]
routes = [{ prefix = "1", carriers = ["uas"] }]
EOF
RUST_LOG=info "${PIN_SF[@]}" "$SIPFORGE" serve --config "$OUT/sipforge.toml" \
  >"$OUT/sipforge.out" 2>"$OUT/sipforge.log" &
SF_PID=$!
PIDS+=("$SF_PID")
SF_ADDR="" ADMIN=""
for _ in $(seq 100); do
  SF_ADDR=$(sed -n "s/.*listening on $TRANSPORT \([0-9.:]*\).*/\1/p" "$OUT/sipforge.log" | head -1)
  ADMIN=$(sed -n 's/.*listening on admin http:\/\/\([0-9.:]*\).*/\1/p' "$OUT/sipforge.log" | head -1)
  [ -n "$SF_ADDR" ] && [ -n "$ADMIN" ] && break
  kill -0 "$SF_PID" 2>/dev/null || die "sipforge exited; $OUT/sipforge.log"
  sleep 0.1
done
[ -n "$SF_ADDR" ] && [ -n "$ADMIN" ] || die "sipforge did not report its listeners; $OUT/sipforge.log"

# --- the load ------------------------------------------------------------------
echo ">> $COUNT calls at $RATE/s over $TRANSPORT: SIPp → sipforge $SF_ADDR → SIPp UAS 127.0.0.1:$UAS_PORT"
echo ">> sipforge $SIPFORGE (pid $SF_PID) ${PIN_SF[*]:-unpinned}, SIPp ${PIN_SIPP[*]:-unpinned}; traces in $OUT"
TIMEOUT=$((COUNT / RATE + 60))
# Idle baseline: what sipforge burns with no traffic (timer task, …).
IDLE_S=${IDLE_S:-5}
CPUI=$(cpu_ticks "$SF_PID")
sleep "$IDLE_S"
CPU0=$(cpu_ticks "$SF_PID")
IDLE_TICKS=$((CPU0 - CPUI))
T0=$(date +%s.%N)
set +e
"${PIN_SIPP[@]}" "$SIPP" -sf tests/peers/sipp-uac.xml -s 15551234567 -i 127.0.0.1 -t "$SIPP_T" \
  -r "$RATE" -rp 1000 -m "$COUNT" -timeout "${TIMEOUT}s" -timeout_error -nostdin \
  -trace_err -error_file "$OUT/uac_errors.log" -trace_stat -stf "$OUT/uac_stats.csv" -fd 1 \
  -trace_screen -screen_file "$OUT/uac_screens.log" "$SF_ADDR" >"$OUT/uac_screen.log" 2>&1
UAC_RC=$?
set -e
T1=$(date +%s.%N)
CPU1=$(cpu_ticks "$SF_PID")

# Transactions drain on their timers (D, K: 32 s / 5 s with the defaults);
# the CPU that costs belongs to the calls.
# Polled once a second: each poll is an HTTP request sipforge serves.
DRAIN_LEFT=""
for _ in $(seq 90); do
  DRAIN_LEFT=$(metric sipforge_transactions_active)
  [ "$DRAIN_LEFT" = 0 ] && break
  sleep 1
done
T2=$(date +%s.%N)
CPU2=$(cpu_ticks "$SF_PID")
RSS_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SF_PID/status")

# --- report --------------------------------------------------------------------
# A column of the last row of SIPp's statistics file (-trace_stat), by name.
stat() {
  awk -F';' -v n="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
    { v = $c } END { print v }' "$OUT/uac_stats.csv" 2>/dev/null
}
OK=$(stat "SuccessfulCall(C)")
FAILED=$(stat "FailedCall(C)")
CREATED=$(stat "OutgoingCall(C)")
ACHIEVED=$(stat "CallRate(C)")
RT=$(stat "ResponseTime1(C)")
RT_SD=$(stat "ResponseTime1StDev(C)")
CL=$(stat "CallLength(C)")
ATTEMPTS=$(metrics | awk '$1 ~ /^sipforge_egress_attempts_total\{carrier="uas",code="200"\}$/ { print $2 }')
per_call() { awk -v t="$1" -v hz="$TICKS" -v n="${OK:-0}" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }'; }
# Ticks minus the idle baseline over the wall time from T0 to $1.
net_ticks() { awk -v t="$2" -v i="$IDLE_TICKS" -v s="$IDLE_S" -v a="$T0" -v b="$1" 'BEGIN { n = t - i / s * (b - a); printf "%d", (n > 0 ? n : 0) }'; }
secs() { awk -v t="$1" -v hz="$TICKS" 'BEGIN { printf "%.2f", t / hz }'; }

echo
echo "== SIPp scenario screen (UAC)"
sed -n '/Scenario Screen/,/Test Terminated/p' "$OUT/uac_screen.log" | tail -n 16
echo
echo "== SIPp repartition (INVITE→200 response time, call length)"
sed -n '/Repartition Screen/,/Waiting for active calls\|Test Terminated/p' "$OUT/uac_screens.log" 2>/dev/null |
  awk '/Repartition Screen/ { n++ } n == 1' | grep -v -- '------'
echo
echo "== result"
printf '%-34s %s\n' \
  "transport" "$TRANSPORT" \
  "rate asked / achieved" "$RATE cps / ${ACHIEVED:-?}" \
  "calls attempted" "${CREATED:-?} (of $COUNT)" \
  "calls succeeded" "${OK:-?}" \
  "calls failed" "${FAILED:-?}" \
  "SIPp UAC exit code" "$UAC_RC (0: all calls succeeded)" \
  "sipforge egress attempts (200)" "${ATTEMPTS:-0}" \
  "load wall time" "$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f s", b - a }')" \
  "sipforge CPU during the load" "$(secs $((CPU1 - CPU0))) s" \
  "  per full call" "$(per_call $((CPU1 - CPU0))) µs" \
  "sipforge CPU incl. drain" "$(secs $((CPU2 - CPU0))) s over $(awk -v a="$T0" -v b="$T2" 'BEGIN { printf "%.1f s", b - a }') (transactions left: ${DRAIN_LEFT:-?})" \
  "  per full call" "$(per_call $((CPU2 - CPU0))) µs" \
  "  idle baseline" "$(secs "$IDLE_TICKS") s per ${IDLE_S} s idle" \
  "  per full call, net of idle" "$(per_call "$(net_ticks "$T2" $((CPU2 - CPU0)))") µs" \
  "sipforge peak RSS" "${RSS_KB:-?} kB" \
  "INVITE->200 response time" "mean ${RT:-?}, stdev ${RT_SD:-?}" \
  "call length (SIPp, per call)" "mean ${CL:-?}" \
  "clock ticks/s (CLK_TCK)" "$TICKS"
echo "(SIPp's times are cumulative, hh:mm:ss:µs with 1 ms resolution; CPU resolution is 1/CLK_TCK s)"
exit "$UAC_RC"
