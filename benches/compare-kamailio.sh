#!/usr/bin/env bash
# sipforge and Kamailio side by side (issue 7): the same load, the same
# routing, the same machine, one after the other, in one run.
#
# For each MODE (redirect, proxy) and each offered RATE, this script
#   1. starts Kamailio (Debian 5.6, KEMI Lua) on udp:127.0.0.1:5070 with the
#      reference configs of $ANCHORS, unchanged (copied to the run directory):
#      redirect.cfg + route.lua, or proxy.cfg + proxy.lua; pinned to core 0;
#   2. runs the load tool pinned to core 1 for WARMUP + DURATION seconds
#      (proxy mode: the tool's UAS answers on 127.0.0.1:5080) and samples the
#      CPU time (utime + stime, /proc/PID/stat) of Kamailio's whole process
#      tree at the end of WARMUP and at the end of the load;
#   3. stops Kamailio by PID (TERM, KILL after 5 s);
#   4. does the same with sipforge (pinned to core 0) running
#      benches/compare/sipforge-<mode>.toml: the same 22 prefixes to the same
#      gateways, one customer 127.0.0.1/32, and benches/compare/route.js
#      adding X-Route-Prefix (the matched prefix) as route.lua does.
# Then it prints one table (achieved rate, failures, p50/p99, CPU µs per call
# for each server and the sipforge/Kamailio CPU ratio) and writes it as
# Markdown to $OUT/compare.md, with every raw JSON summary under $OUT/runs/.
#
# Nothing is built here; build first (README), from the repository root:
#
#   cargo build --release                       # sipforge and sipforge-load
#   benches/compare-kamailio.sh                 # RATES="2000 5000" DURATION=15 WARMUP=3
#   DURATION=5 RATES=500 MODES=redirect benches/compare-kamailio.sh
#
# Kamailio (`kamailio`, `kamailio-lua-modules`) is installed from Debian when
# missing (apt-get, through sudo when not root). Needs python3 (the report).
#
# Environment:
#   MODES      "redirect proxy" (default) or one of them
#   RATES      offered calls/s, space-separated (default "2000 5000")
#   DURATION   seconds measured per run, after the warm-up (default 15)
#   WARMUP     seconds of load before the CPU window opens (default 3)
#   LOAD_TOOL  sipforge-load (default) | sipp (stand-in: SIPp with
#              benches/compare/sipp-redirect-uac.xml, tests/peers/sipp-uac.xml
#              and sipp-uas.xml; one fixed number per run, see SIPP_NUMBER)
#   LOAD       the load tool binary (default target/release/sipforge-load)
#   SIPFORGE   the sipforge binary (default target/release/sipforge)
#   KAMAILIO   the kamailio binary (default: PATH, then /usr/sbin/kamailio)
#   ANCHORS    the reference configs (default ../shared/anchors/kamailio,
#              relative to the repository root)
#   SF_LOG     sipforge's RUST_LOG (default "warn": errors and warnings only,
#              like Kamailio's debug=0; "info" adds one CDR line per call)
#   OUT        output directory (default: mktemp -d)
#
# Everything stays on 127.0.0.1; every process is started and stopped by its
# PID; the load runs under `timeout`; an EXIT trap stops whatever is left.
# Ports 5070 (server) and, in proxy mode, 5080 (UAS) must be free.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

MODES=${MODES:-"redirect proxy"}
RATES=${RATES:-"2000 5000"}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
LOAD_TOOL=${LOAD_TOOL:-sipforge-load}
LOAD=${LOAD:-target/release/sipforge-load}
SIPFORGE=${SIPFORGE:-target/release/sipforge}
ANCHORS=${ANCHORS:-../shared/anchors/kamailio}
SF_LOG=${SF_LOG:-warn}
SIPP_NUMBER=${SIPP_NUMBER:-44201234567}
OUT=${OUT:-$(mktemp -d -t sipforge-compare.XXXXXX)}

SERVER_IP=127.0.0.1
SERVER_PORT=5070
UAS_PORT=5080
SIPP_UAC_PORT=${SIPP_UAC_PORT:-25090}

die() { echo "compare-kamailio: $*" >&2; exit 1; }
say() { echo ">> $*" >&2; }

# --- arguments -----------------------------------------------------------------
for m in $MODES; do
  case "$m" in redirect | proxy) ;; *) die "MODES: '$m' is neither redirect nor proxy" ;; esac
done
for r in $RATES; do [[ "$r" =~ ^[1-9][0-9]*$ ]] || die "RATES: '$r' is not a positive integer"; done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive integer (seconds)"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (seconds)"
case "$LOAD_TOOL" in
  sipforge-load) [ -x "$LOAD" ] || die "$LOAD not found: run 'cargo build --release' first (or set LOAD, or LOAD_TOOL=sipp)" ;;
  sipp) SIPP=$(command -v sipp) || die "sipp not found (apt-get install sip-tester)" ;;
  *) die "LOAD_TOOL must be sipforge-load or sipp, not '$LOAD_TOOL'" ;;
esac
[ -x "$SIPFORGE" ] || die "$SIPFORGE not found: run 'cargo build --release' first (or set SIPFORGE)"
SIPFORGE=$(realpath "$SIPFORGE")
[ -f "$ANCHORS/route.lua" ] && [ -f "$ANCHORS/proxy.lua" ] || die "no reference configs in $ANCHORS (set ANCHORS)"
ANCHORS=$(realpath "$ANCHORS")
command -v python3 >/dev/null 2>&1 || die "python3 not found (it writes the report)"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found"
mkdir -p "$OUT/runs"
OUT=$(realpath "$OUT")

# --- Kamailio from Debian --------------------------------------------------------
kamailio_bin() { command -v kamailio 2>/dev/null || { [ -x /usr/sbin/kamailio ] && echo /usr/sbin/kamailio; } || true; }
have_app_lua() { compgen -G '/usr/lib/*/kamailio/modules/app_lua.so' >/dev/null || compgen -G '/usr/lib/kamailio/modules/app_lua.so' >/dev/null; }
KAMAILIO=${KAMAILIO:-$(kamailio_bin)}
need_apt=()
[ -n "$KAMAILIO" ] && [ -x "$KAMAILIO" ] || need_apt+=(kamailio)
have_app_lua || need_apt+=(kamailio-lua-modules)
if ((${#need_apt[@]})); then
  say "installing from Debian: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  KAMAILIO=${KAMAILIO:-$(kamailio_bin)}
fi
[ -n "$KAMAILIO" ] && [ -x "$KAMAILIO" ] || die "kamailio not found after installing it"
have_app_lua || die "app_lua.so not found after installing kamailio-lua-modules"

# The prefixes the load tool dials: route.lua's table (the same on both sides).
PREFIXES=$(grep -o '^ *\["[0-9]*"\]' "$ANCHORS/route.lua" | tr -dc '0-9\n' | paste -sd, -)
[ -n "$PREFIXES" ] || die "no prefixes found in $ANCHORS/route.lua"

PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 0) PIN_LOAD=(taskset -c 1)
else
  say "warning: no taskset or fewer than 2 cores: nothing is pinned"
fi
TICKS=$(getconf CLK_TCK)

# --- processes -------------------------------------------------------------------
SERVER_PID="" SERVER_TREE="" LOAD_PID="" UAS_PID=""

# "pid ppid ticks" of every process (ticks = utime + stime, fields 14 and 15
# of /proc/PID/stat, counted after the ')' that ends the command name).
proc_table() {
  local f s p a
  for f in /proc/[0-9]*/stat; do
    { read -r s <"$f"; } 2>/dev/null || continue
    p=${f#/proc/}
    p=${p%/stat}
    s=${s##*) }
    read -r -a a <<<"$s"
    echo "$p ${a[1]} $((a[11] + a[12]))"
  done
}

# "TICKS PID..." for ROOT and all its descendants (Kamailio forks its
# workers; sipforge is one process).
tree_cpu() {
  proc_table | awk -v root="$1" '
    { ppid[$1] = $2; t[$1] = $3; n++; pid[n] = $1 }
    END {
      if (!(root in t)) { print 0; exit }
      in_tree[root] = 1; list = root; sum = t[root]; changed = 1
      while (changed) {
        changed = 0
        for (i = 1; i <= n; i++) { p = pid[i]
          if (!(p in in_tree) && (ppid[p] in in_tree)) { in_tree[p] = 1; sum += t[p]; list = list " " p; changed = 1 } }
      }
      print sum, list
    }'
}

# Nanoseconds on CPU of every thread of PIDS (first field of
# /proc/PID/task/TID/schedstat): exact, where /proc/PID/stat counts ticks.
# Prints 0 when the kernel has no schedstat.
sched_ns() {
  local p f v sum=0
  for p in "$@"; do
    for f in /proc/"$p"/task/*/schedstat; do
      { read -r v _ <"$f"; } 2>/dev/null || continue
      sum=$((sum + v))
    done
  done
  echo "$sum"
}

udp_bound() { # PORT: is anything bound to it?
  awk -v h="$(printf '%04X' "$1")" 'NR > 1 { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' /proc/net/udp
}

wait_port_free() {
  local i
  for i in $(seq 50); do udp_bound "$1" || return 0; sleep 0.1; done
  die "udp port $1 is in use (something else listening?)"
}

# stop PID [comm]: TERM, KILL after 5 s, then KILL any process left of the
# tree recorded in SERVER_TREE that still carries the same command name.
stop_pid() {
  local pid=$1 comm=${2:-} p i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { say "pid $pid ignored TERM for 5 s: KILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  wait "$pid" 2>/dev/null || true
  if [ -n "$comm" ]; then
    for p in $SERVER_TREE; do
      [ "$p" != "$pid" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ] && kill -KILL "$p" 2>/dev/null || true
    done
  fi
}

cleanup() {
  stop_pid "$LOAD_PID"
  stop_pid "$UAS_PID"
  stop_pid "$SERVER_PID" "${SERVER_COMM:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server kamailio|sipforge MODE RUN_DIR: sets SERVER_PID, SERVER_COMM.
start_server() {
  local server=$1 mode=$2 run=$3 cfg lua shm i
  wait_port_free "$SERVER_PORT"
  case "$server" in
    kamailio)
      if [ "$mode" = redirect ]; then cfg=redirect.cfg lua=route.lua shm=256; else cfg=proxy.cfg lua=proxy.lua shm=2048; fi
      cp "$ANCHORS/$cfg" "$ANCHORS/$lua" "$run/"
      mkdir -p "$run/kam-run"
      "${PIN_SERVER[@]}" "$KAMAILIO" -f "$run/$cfg" -DD -m "$shm" -M 32 -x tlsf -X tlsf -Y "$run/kam-run" \
        -A "LUA_SCRIPT=\"$run/$lua\"" >"$run/server.log" 2>&1 &
      SERVER_PID=$! SERVER_COMM=kamailio
      ;;
    sipforge)
      RUST_LOG=$SF_LOG "${PIN_SERVER[@]}" "$SIPFORGE" serve --config "benches/compare/sipforge-$mode.toml" \
        >"$run/server.log" 2>&1 &
      SERVER_PID=$! SERVER_COMM=sipforge
      ;;
  esac
  for i in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "$server exited at startup; $run/server.log: $(tail -n 5 "$run/server.log")"
    udp_bound "$SERVER_PORT" && break
    sleep 0.1
  done
  udp_bound "$SERVER_PORT" || die "$server did not bind udp $SERVER_IP:$SERVER_PORT within 10 s; $run/server.log"
  sleep 0.5 # Kamailio binds before it forks its workers
  SERVER_TREE=$(tree_cpu "$SERVER_PID" | cut -d' ' -f2-)
}

# start_load MODE RATE RUN_DIR: starts the load in the background (LOAD_PID).
start_load() {
  local mode=$1 rate=$2 run=$3 total=$((WARMUP + DURATION)) limit scen
  limit=$((total + 40))
  [ "$mode" = proxy ] && wait_port_free "$UAS_PORT"
  case "$LOAD_TOOL" in
    sipforge-load)
      local args=(--target "$SERVER_IP:$SERVER_PORT" --scenario "$mode" --rate "$rate" --duration "$total"
        --prefixes "$PREFIXES" --json "$run/load.json" --no-progress)
      [ "$mode" = proxy ] && args+=(--uas "$SERVER_IP:$UAS_PORT")
      timeout -k 5 "$limit" "${PIN_LOAD[@]}" "$(realpath "$LOAD")" "${args[@]}" >"$run/load.out" 2>"$run/load.err" &
      LOAD_PID=$!
      ;;
    sipp)
      if [ "$mode" = proxy ]; then
        (cd "$run" && exec timeout -k 5 $((limit + 10)) "${PIN_LOAD[@]}" "$SIPP" -sf "$REPO/tests/peers/sipp-uas.xml" \
          -i "$SERVER_IP" -p "$UAS_PORT" -t u1 -nostdin -trace_err \
          -error_file "$run/sipp_uas_errors.log" >"$run/sipp_uas.out" 2>&1) &
        UAS_PID=$!
        sleep 0.5
        scen=$REPO/tests/peers/sipp-uac.xml
      else
        scen=$REPO/benches/compare/sipp-redirect-uac.xml
      fi
      (cd "$run" && exec timeout -k 5 "$limit" "${PIN_LOAD[@]}" "$SIPP" -sf "$scen" -s "$SIPP_NUMBER" \
        -i "$SERVER_IP" -p "$SIPP_UAC_PORT" -t u1 -r "$rate" -rp 1000 -m $((rate * total)) \
        -timeout "$((total + 30))s" -nostdin -trace_stat -stf "$run/sipp_stats.csv" -fd 1 \
        -trace_rtt -rtt_freq 1 -trace_err -error_file "$run/sipp_errors.log" \
        "$SERVER_IP:$SERVER_PORT" >"$run/load.out" 2>&1) &
      LOAD_PID=$!
      ;;
  esac
}

# --- one run: one server, one mode, one rate ------------------------------------
run_one() {
  local server=$1 mode=$2 rate=$3 run c0 c1 n0 n1 t0 t1 rc tree
  run=$OUT/runs/$mode-$rate-$server
  mkdir -p "$run"
  start_server "$server" "$mode" "$run"
  say "$mode $rate/s: $server pid $SERVER_PID ($(wc -w <<<"$SERVER_TREE") processes) ${PIN_SERVER[*]:-unpinned}; load $LOAD_TOOL ${PIN_LOAD[*]:-unpinned}; ${WARMUP}+${DURATION} s"
  start_load "$mode" "$rate" "$run"
  sleep "$WARMUP"
  tree=$(tree_cpu "$SERVER_PID")
  # shellcheck disable=SC2086 # a list of pids
  n0=$(sched_ns ${tree#* })
  t0=$(date +%s.%N)
  c0=${tree%% *}
  SERVER_TREE=${tree#* }
  sleep "$DURATION"
  tree=$(tree_cpu "$SERVER_PID")
  # shellcheck disable=SC2086
  n1=$(sched_ns ${tree#* })
  t1=$(date +%s.%N)
  c1=${tree%% *}
  kill -0 "$SERVER_PID" 2>/dev/null || say "warning: $server died during the run; $run/server.log"
  set +e
  wait "$LOAD_PID"
  rc=$?
  set -e
  LOAD_PID=""
  stop_pid "$UAS_PID"
  UAS_PID=""
  stop_pid "$SERVER_PID" "$SERVER_COMM"
  SERVER_PID=""
  [ "$rc" = 124 ] && say "warning: the load tool ran out of time (timeout)"
  if [ "$LOAD_TOOL" = sipp ]; then
    python3 benches/compare/report.py sipp "$run" "$mode" "$rate" $((WARMUP + DURATION)) >"$run/load.json" ||
      say "warning: no SIPp summary; $run/load.out"
  fi
  printf '{"server":"%s","mode":"%s","offered_rate":%s,"cpu_ticks":%s,"sched_ns":%s,"clk_tck":%s,"window_s":%s,"processes":%s,"load_tool":"%s","load_exit":%s}\n' \
    "$server" "$mode" "$rate" $((c1 - c0)) $((n1 - n0)) "$TICKS" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
    "$(wc -w <<<"$SERVER_TREE")" "$LOAD_TOOL" "$rc" >"$run/meta.json"
  say "   load exit $rc, $server CPU $((c1 - c0)) ticks over ${DURATION} s; $run"
}

say "output in $OUT; kamailio $KAMAILIO; sipforge $SIPFORGE; anchors $ANCHORS"
for mode in $MODES; do
  for rate in $RATES; do
    run_one kamailio "$mode" "$rate"
    run_one sipforge "$mode" "$rate"
  done
done
python3 benches/compare/report.py table "$OUT"
