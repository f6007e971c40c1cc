#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# compare.sh -- sio beside the Node server and the ceiling, in one run.
#
# Builds everything (make && make bench), installs socket.io 4.8 from npm into a scratch folder
# (bench/.node, git-ignored), then runs every sio-bench scenario against
#   sio      bench/relay-server      (the public API of sio.h)
#   node     bench/node-relay.js     (socket.io 4.8, the same events)
#   ceiling  bench/ceiling           (the least a C server can do)
# alternating the servers within each repeat (and rotating their order between repeats), each
# run on a freshly started server. Then prints the medians and the ratios, and draws the plots.
# Loopback only. Every process it starts is stopped by PID, on exit too.
#
# usage: bench/compare.sh [--quick] [--repeats N] [--duration S] [--only REGEX] [--servers LIST]
#                         [--out DIR] [--no-build] [--quiet-wait S] [--max-other CORES]
#   --quick         one repeat, 2 s runs, fewer cases: about 3 minutes
#   --repeats N     runs per case and server (3; the table shows medians)
#   --duration S    seconds measured per run (5; --quick: 2)
#   --only REGEX    only the cases whose name matches (e.g. 'relay|churn'); a REGEX that matches
#                   "cluster" also runs bench/cluster.sh (broadcast over K = 1..4 sio processes
#                   joined through Redis; not part of the default run) into OUT/cluster
#   --servers LIST  servers to compare, quoted and space-separated ("sio node ceiling")
#   --out DIR       where runs.jsonl, report.md and the SVG plots go (bench/results/<time>)
#   --no-build      use the binaries as they are
#   --quiet-wait S  before each run, wait up to S seconds until other processes use less than
#                   half a core (0: do not wait; every run records what others used anyway)
#   --max-other C   the table and plots leave out runs during which other processes used more
#                   than C cores, when a cell has undisturbed runs (0.25; "none" keeps all)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0 REPEATS=3 DURATION="" ONLY="" SERVERS="sio node ceiling" OUT="" BUILD=1 QUIET_WAIT=0 MAX_OTHER=0.25
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --repeats) REPEATS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --servers) SERVERS=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-build) BUILD=0 ;;
        --quiet-wait) QUIET_WAIT=$2; shift ;;
        --max-other) MAX_OTHER=$2; shift ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then REPEATS=1; DURATION=${DURATION:-2}; fi
DURATION=${DURATION:-5}
OUT=${OUT:-bench/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
RUNS=$OUT/runs.jsonl
LOG=$OUT/compare.log
: > "$RUNS"

# ---- every process we start is recorded here and stopped by PID on the way out ----
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$*" | tee -a "$LOG" >&2; }
banner() { say "################################################################"; say "### $*"; say "################################################################"; }

# ---- build ----
if [ "$BUILD" = 1 ]; then
    make >>"$LOG" 2>&1 || { echo "compare.sh: make failed, see $LOG" >&2; exit 1; }
    make bench >>"$LOG" 2>&1 || { echo "compare.sh: make bench failed, see $LOG" >&2; exit 1; }
fi

# ---- socket.io 4.8 for the Node server ----
NODE_DIR=${SIO_BENCH_NODE_DIR:-$ROOT/bench/.node}
if [[ " $SERVERS " == *" node "* ]]; then
    if ! command -v node >/dev/null 2>&1; then
        banner "SKIPPED: node (Node.js is not installed)"
        SERVERS=${SERVERS//node/}
    elif [ ! -f "$NODE_DIR/node_modules/socket.io/package.json" ]; then
        say "installing socket.io@4.8 into $NODE_DIR"
        mkdir -p "$NODE_DIR"
        if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund --no-package-lock "socket.io@~4.8.1") >>"$LOG" 2>&1; then
            banner "SKIPPED: node (npm install socket.io@4.8 failed, see $LOG)"
            SERVERS=${SERVERS//node/}
        fi
    fi
fi
if [[ " $SERVERS " == *" node "* ]]; then
    say "node $(node --version), socket.io $(node -p "require('$NODE_DIR/node_modules/socket.io/package.json').version")"
fi

# ---- descriptors: everything inherits the hard limit; 100k clients need more than most have ----
ulimit -n "$(ulimit -Hn)"
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
NMAX=100000
if [ "$HARD" -lt $((NMAX + 200)) ]; then
    NMAX=$(( (HARD - 200) / 100 * 100 ))
    banner "idle at 100k needs 'ulimit -Hn' above 100200; it is $HARD here, so the biggest idle run is $NMAX (see bench/README.md)"
fi
MAXC=$((NMAX + 1000))
klabel() { if [ "$1" -ge 1000 ] && [ $(($1 % 1000)) = 0 ]; then echo "$(($1 / 1000))k"; else awk -v n="$1" 'BEGIN{printf "%.1fk", n/1000}'; fi; }

# ---- the cases: "name|sio-bench arguments", each run against every server ----
D=$DURATION
CASES=(
    "idle 1k|idle -n 1000 --warmup 1 --duration 3"
    "idle 10k|idle -n 10000 --warmup 1 --duration 3"
    "idle $(klabel $NMAX)|idle -n $NMAX --warmup 2 --duration 3 --connect-timeout 120"
    "relay P=100 W=1|relay --pairs 100 --window 1 --warmup 1 --duration $D"
    "relay P=100 W=4|relay --pairs 100 --window 4 --warmup 1 --duration $D"
    "relay P=100 W=16|relay --pairs 100 --window 16 --warmup 1 --duration $D"
    "relay P=100 W=64|relay --pairs 100 --window 64 --warmup 1 --duration $D"
    "broadcast N=1k W=16|broadcast -n 1000 --window 16 --warmup 1 --duration $D"
    "broadcast N=10k W=64|broadcast -n 10000 --window 64 --warmup 1 --duration $D"
    "churn C=64|churn --concurrency 64 --warmup 1 --duration $D"
    "polling P=100 W=1|polling --pairs 100 --window 1 --warmup 1 --duration $D"
)
if [ "$QUICK" = 1 ]; then
    CASES=(
        "idle 1k|idle -n 1000 --warmup 1 --duration 2"
        "idle 10k|idle -n 10000 --warmup 1 --duration 2"
        "relay P=100 W=1|relay --pairs 100 --window 1 --warmup 0.5 --duration $D"
        "relay P=100 W=16|relay --pairs 100 --window 16 --warmup 0.5 --duration $D"
        "broadcast N=10k W=64|broadcast -n 10000 --window 64 --warmup 0.5 --duration $D"
        "churn C=64|churn --concurrency 64 --warmup 0.5 --duration $D"
        "polling P=100 W=1|polling --pairs 100 --window 1 --warmup 0.5 --duration $D"
    )
fi
CHAT_CASE="chat-connect N=2k|chat-connect -n 2000 --warmup 0.5 --duration 1"

# ---- servers ----
# Server ports stay outside the ephemeral range: a client socket (ours, or anyone's) may hold
# any port in it, and then the server's bind() fails with EADDRINUSE.
read -r EPH_LO EPH_HI < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { EPH_LO=32768; EPH_HI=60999; }
if [ "$EPH_HI" -lt 64500 ]; then DEFAULT_PORT=$((EPH_HI + 100)); else DEFAULT_PORT=$((EPH_LO - 1000)); fi
PORT_BASE=${SIO_BENCH_PORT:-$DEFAULT_PORT}
RUN=0
SPID=""
start_server() { # name port; sets SPID and waits for "listening on"
    local name=$1 port=$2 slog=$OUT/server-$1.log
    case "$name" in
        sio) bench/relay-server --host 127.0.0.1 --port "$port" --max-clients "$MAXC" 2>>"$slog" & ;;
        node) NODE_PATH=$NODE_DIR/node_modules node bench/node-relay.js --host 127.0.0.1 --port "$port" 2>>"$slog" & ;;
        ceiling) bench/ceiling --host 127.0.0.1 --port "$port" 2>>"$slog" & ;;
        sio-chat) ./sio-server --host 127.0.0.1 --port "$port" --quiet --max-clients "$MAXC" 2>>"$slog" & ;;
        *) echo "compare.sh: unknown server $name" >&2; exit 2 ;;
    esac
    SPID=$!
    PIDS+=("$SPID")
    local i
    for i in $(seq 100); do
        if grep -q "listening on .*:$port" "$slog" 2>/dev/null; then return 0; fi
        if ! kill -0 "$SPID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    say "compare.sh: $name did not start on port $port (see $slog)"
    return 1
}
stop_server() {
    local i
    kill -TERM "$SPID" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

# busy_cores and wait_quiet: bench/common.sh
. bench/common.sh # (the script has cd'd to the repository root)

run_case() { # name args server
    local name=$1 args=$2 server=$3 port label=$3
    [ "$server" = sio-chat ] && label=sio # the chat is sio too: its row has only a sio column
    RUN=$((RUN + 1))
    port=$((PORT_BASE + RUN % 400))
    wait_quiet
    start_server "$server" "$port" || return 0
    sleep 0.3 # let the server settle before the RSS baseline
    # shellcheck disable=SC2086
    if ! timeout 400 bench/sio-bench $args --port "$port" --server-pid "$SPID" --server-name "$label" \
            --case "$name" >>"$RUNS" 2>>"$LOG.tmp"; then
        say "compare.sh: sio-bench failed on '$name' against $server"
    fi
    grep -E "^== |  (msgs/s|deliveries/s|handshakes/s|latency|server RSS|connect phase|generator|still|first error)" "$LOG.tmp" | tee -a "$LOG" >&2 || true
    rm -f "$LOG.tmp"
    stop_server
}

read -r -a SV <<<"$SERVERS"
say "compare.sh: servers: ${SV[*]}; $REPEATS repeat(s); ${#CASES[@]} cases; results in $OUT"
START=$(date +%s)
for ((r = 0; r < REPEATS; r++)); do
    for c in "${CASES[@]}"; do
        name=${c%%|*} args=${c#*|}
        if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then continue; fi
        # Rotate the order per repeat, so no server always runs first (or last) on a warm machine.
        for ((k = 0; k < ${#SV[@]}; k++)); do
            run_case "$name" "$args" "${SV[$(((k + r) % ${#SV[@]}))]}"
        done
    done
    name=${CHAT_CASE%%|*} args=${CHAT_CASE#*|}
    if [ -x ./sio-server ] && { [ -z "$ONLY" ] || [[ $name =~ $ONLY ]]; }; then run_case "$name" "$args" sio-chat; fi
done
say "compare.sh: runs took $(( $(date +%s) - START )) s"

# ---- the cluster scenario, only when asked for by name (its own table: bench/cluster.sh) ----
if [ -n "$ONLY" ] && [[ cluster =~ $ONLY ]]; then
    bench/cluster.sh --no-build --repeats "$REPEATS" --out "$OUT/cluster" --quiet-wait "$QUIET_WAIT" \
        --max-other "$MAX_OTHER" || say "compare.sh: bench/cluster.sh failed (see $OUT/cluster/cluster.log)"
    if [ ! -s "$RUNS" ]; then exit 0; fi # nothing else was asked for
fi

# ---- the table and the plots ----
FILTER=()
[ "$MAX_OTHER" != none ] && FILTER=(--max-other "$MAX_OTHER")
bench/sio-bench report "$RUNS" --base sio ${FILTER[@]+"${FILTER[@]}"} > "$OUT/report.md"
cat "$OUT/report.md"
plot() { bench/sio-bench plot "$RUNS" ${FILTER[@]+"${FILTER[@]}"} "$@" 2>>"$LOG" || true; }
plot --scenario idle --x n --y rss_delta_mb --logx --logy --title "Server RSS vs connected clients (idle)" \
    --xlabel "connected clients" --ylabel "RSS growth (MiB)" > "$OUT/rss.svg"
plot --scenario idle --x n --y rss_per_conn_b --logx --logy --title "Server RSS per idle connection" \
    --xlabel "connected clients" --ylabel "bytes per connection" > "$OUT/rss-per-conn.svg"
plot --scenario relay --x window --logx --logy --title "Relay throughput vs messages in flight per pair (P=100)" \
    --xlabel "W (messages in flight per pair)" --ylabel "messages/s" > "$OUT/relay-window.svg"
echo "compare.sh: $OUT/report.md, $OUT/runs.jsonl, $OUT/*.svg" >&2
