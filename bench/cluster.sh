#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster.sh -- the broadcast scenario over K sio processes joined through Redis.
#
# For each K and each repeat: starts one redis-server (loopback, a free port, no persistence)
# and K bench/relay-server processes with --redis, each on a port the kernel picks; waits until
# every node is subscribed; runs `sio-bench broadcast --ports p1,...,pK`, which spreads the N
# receivers evenly over the K nodes (client i connects to node i mod K; the sender is client 0,
# on the first node) and has the sender keep W broadcasts to room "bench" in flight; then stops
# everything it started, by PID. A broadcast reaches the sender's node's receivers directly and
# the other nodes' through one Redis PUBLISH, so K processes share the fan-out.
# Prints a Markdown table of medians per K (deliveries/s over all receivers, delivery latency,
# and where the CPU went: generator, servers, redis-server, softirq, other processes).
# Loopback only; no root; every process it starts is stopped by PID, on exit and Ctrl-C too.
#
# usage: bench/cluster.sh [--ks "1 2 3 4"] [--window "64 1024"] [--repeats N] [-n N] [--senders S]
#                         [--duration S] [--warmup S] [--out DIR] [--no-build]
#                         [--quiet-wait S] [--max-other CORES]
#   --ks LIST       numbers of sio processes, quoted and space-separated ("1 2 3 4")
#   --repeats N     runs per K (3; the table shows medians); the order of K rotates per repeat
#   -n N            receivers (6000)
#   --window LIST   broadcasts in flight, quoted and space-separated ("64 1024"): each W is a
#                   set of rows (64: a short pipeline, latency-bound; 1024: enough in flight for
#                   every node to batch, throughput-bound)
#   --senders S     clients that send, taking turns; sender s is on node s mod K (1)
#   --duration S    seconds measured per run (3)
#   --warmup S      seconds of traffic before measuring (1)
#   --out DIR       where runs.jsonl, report.md and the logs go (bench/results/cluster-<time>)
#   --no-build      use the binaries as they are (default: make bench)
#   --quiet-wait S  before each run, wait up to S seconds until other processes use less than
#                   half a core (0: do not wait; every run records what others used anyway)
#   --max-other C   the table leaves out runs during which other processes used more than C
#                   cores, when that K has undisturbed runs (0.25; "none" keeps all)
#   --retries R     a run disturbed that way is made again, up to R more times (2)
#   --table FILE    run nothing: print the table of the runs in FILE (a runs.jsonl; - for stdin),
#                   e.g. cat bench/results/cluster-*/runs.jsonl | bench/cluster.sh --table -
# With the defaults: 24 runs of 5-10 s, about 3 minutes in all. Needs redis-server on the PATH
# (or in $SIO_REDIS_SERVER): Debian's redis-server package (tests/deps.sh installs it as root).
set -euo pipefail

cd "$(dirname "$0")/.."
KS="1 2 3 4" REPEATS=3 N=6000 WINDOWS="64 1024" SENDERS=1 DURATION=3 WARMUP=1 OUT="" BUILD=1 QUIET_WAIT=0 MAX_OTHER=0.25 RETRIES=2 TABLE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --ks) KS=$2; shift ;;
        --repeats) REPEATS=$2; shift ;;
        -n) N=$2; shift ;;
        --window) WINDOWS=$2; shift ;;
        --senders) SENDERS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-build) BUILD=0 ;;
        --quiet-wait) QUIET_WAIT=$2; shift ;;
        --max-other) MAX_OTHER=$2; shift ;;
        --retries) RETRIES=$2; shift ;;
        --table) TABLE=$2; shift ;;
        -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
        *) echo "cluster.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
# ---- the table: medians per (W, K), from sio-bench's JSON lines ----
# The lines are flat (sio-bench's own): a key's number is what follows "key": up to , or }.
cluster_table() { # file...
    awk -v maxother="$MAX_OTHER" -v cores="$(nproc)" '
function num(line, key,   i, s) {
    i = index(line, "\"" key "\":"); if (!i) return "";
    s = substr(line, i + length(key) + 3); sub(/[,}].*/, "", s);
    return s == "null" ? "" : s + 0;
}
function med(list,   a, n, i, j, t) { # median of a space-separated list of numbers
    n = split(list, a, " "); if (!n) return "";
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t; }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2;
}
function span(list,   a, n, i, lo, hi) { # "min-max" of a space-separated list of rates
    n = split(list, a, " "); lo = hi = a[1] + 0;
    for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
    return n > 1 ? rate(lo) "-" rate(hi) : "-";
}
function rate(v) { return v >= 1e6 ? sprintf("%.2fM", v / 1e6) : sprintf("%.0fk", v / 1e3); }
function pct(v) { return v == "" ? "-" : sprintf("%.0f%%", v * 100); }
function before(a, b,   x, y) { split(a, x, ":"); split(b, y, ":"); return x[1] + 0 < y[1] + 0 || (x[1] + 0 == y[1] + 0 && x[2] + 0 < y[2] + 0) }
BEGIN {
    split("value broadcasts_per_s p50_us p99_us gen_cpu server_cpu server_cpu_max aux_cpu softirq_cpu machine other_cpu", keys, " ");
    nkeys = 11; ng = 0;
}
/"tool":"sio-bench"/ {
    k = num($0, "ports"); w = num($0, "window"); if (k == "" || w == "") next;
    conf = "N=" num($0, "receivers") " receivers, " num($0, "senders") " sender(s)";
    if (!(conf in confs)) { confs[conf] = 1; nconf++; confl = confl (nconf > 1 ? "; " : "") conf }
    g = w ":" k;
    if (!(g in seen)) { seen[g] = 1; order[++ng] = g }
    o = num($0, "other_cpu"); quiet = maxother == "none" || o == "" || o <= maxother + 0;
    h = num($0, "host_cpu"); si = num($0, "softirq_cpu"); mach = (h == "" || si == "") ? "" : h + si;
    for (i = 1; i <= nkeys; i++) {
        v = keys[i] == "machine" ? mach : num($0, keys[i]); if (v == "") continue;
        all[g, keys[i]] = all[g, keys[i]] " " v;
        if (quiet) q[g, keys[i]] = q[g, keys[i]] " " v;
    }
    runs[g]++; if (quiet) qruns[g]++;
}
END {
    for (i = 2; i <= ng; i++) { t = order[i]; for (j = i - 1; j >= 1 && before(t, order[j]); j--) order[j + 1] = order[j]; order[j + 1] = t }
    print "| W | K (sio processes) | deliveries/s | vs K=1 | range (runs) | broadcasts/s | latency p50 / p99 ms | generator CPU | servers CPU (sum) | busiest server | redis CPU | softirq | machine | other processes | runs |"
    print "|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
    for (x = 1; x <= ng; x++) {
        g = order[x]; split(g, wk, ":"); w = wk[1]; k = wk[2];
        use = qruns[g] ? "q" : "all"; note = qruns[g] ? qruns[g] " of " runs[g] : runs[g] " of " runs[g] " (all disturbed)";
        for (i = 1; i <= nkeys; i++) m[keys[i]] = med(use == "q" ? q[g, keys[i]] : all[g, keys[i]]);
        if (k == 1) base[w] = m["value"];
        vs = (w in base && base[w] > 0) ? sprintf("%.2f", m["value"] / base[w]) : "-";
        printf "| %d | %d | %s | %s | %s | %.0f | %.0f / %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, k, rate(m["value"]), vs,
            span(use == "q" ? q[g, "value"] : all[g, "value"]), m["broadcasts_per_s"],
            m["p50_us"] / 1000, m["p99_us"] / 1000, pct(m["gen_cpu"]), pct(m["server_cpu"]), pct(m["server_cpu_max"]),
            pct(m["aux_cpu"]), pct(m["softirq_cpu"]), pct(m["machine"]), pct(m["other_cpu"]), note;
    }
    printf "\n%s%s; W broadcasts in flight, K relay-server processes joined through one redis-server.\n", (nconf > 1 ? "MIXED CONFIGURATIONS: " : ""), confl;
    printf "Medians per row over the runs during which other processes used at most %s cores (runs: used of made).\n", maxother;
    print "CPU: user+sys over the measured window, 100% = one core. A process is also charged for the loopback";
    print "softirq work the kernel does in its context, so the process columns overlap with softirq; machine is";
    printf "everything /proc/stat counts busy (all processes, irq and softirq), out of %d00%%: below that, cores were idle.\n", cores;
}' "$@"
}

if [ -n "$TABLE" ]; then cluster_table "$TABLE"; exit 0; fi
REDIS_SERVER=${SIO_REDIS_SERVER:-redis-server}
if ! command -v "$REDIS_SERVER" >/dev/null 2>&1; then
    echo "cluster.sh: $REDIS_SERVER not found: install redis-server (Debian: apt-get install redis-server)" >&2
    exit 1
fi
OUT=${OUT:-bench/results/cluster-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs"
RUNS=$OUT/runs.jsonl
LOG=$OUT/cluster.log
: > "$RUNS"

# ---- every process we start is recorded here and stopped by PID, at the end of its run and on exit ----
PIDS=()
stop_pids() { # pid...: TERM, up to 5 s to go, then KILL; then they are off the list
    local p i keep=()
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "$@"; do
        for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for p in ${PIDS[@]+"${PIDS[@]}"}; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
    PIDS=(${keep[@]+"${keep[@]}"})
}
cleanup() { stop_pids ${PIDS[@]+"${PIDS[@]}"}; }
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$*" | tee -a "$LOG" >&2; }

if [ "$BUILD" = 1 ]; then
    make bench >>"$LOG" 2>&1 || { echo "cluster.sh: make bench failed, see $LOG" >&2; exit 1; }
fi
ulimit -n "$(ulimit -Hn)" # each node holds N/K connections, sio-bench N+S

# ---- redis-server on a free loopback port ----
# Its port stays above the ephemeral range (as compare.sh's servers do), so that no client socket
# can hold it; a port something already listens on is skipped, and a failed start tries the next.
read -r EPH_LO EPH_HI < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { EPH_LO=32768; EPH_HI=60999; }
if [ "$EPH_HI" -lt 64500 ]; then REDIS_PORT_BASE=$((EPH_HI + 500)); else REDIS_PORT_BASE=$((EPH_LO - 2000)); fi
REDIS_PID="" REDIS_PORT=""
start_redis() { # sets REDIS_PID and REDIS_PORT
    local port log i
    for _ in $(seq 20); do
        port=$((REDIS_PORT_BASE + (RANDOM % 400)))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi # taken
        log=$OUT/logs/redis-$port.log
        "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --protected-mode yes --loglevel warning > "$log" 2>&1 &
        REDIS_PID=$!
        PIDS+=("$REDIS_PID")
        for i in $(seq 50); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && kill -0 "$REDIS_PID" 2>/dev/null; then
                REDIS_PORT=$port
                return 0
            fi
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.1
        done
        stop_pids "$REDIS_PID"
    done
    say "cluster.sh: redis-server did not start (see $OUT/logs/redis-*.log)"
    return 1
}

# ---- K nodes ----
NODE_PIDS=() NODE_PORTS=()
start_nodes() { # k run: starts k relay-servers on kernel-picked ports, waits until all are subscribed
    local k=$1 run=$2 j i log port pid
    NODE_PIDS=() NODE_PORTS=()
    for ((j = 0; j < k; j++)); do
        log=$OUT/logs/node-$run-$j.log
        bench/relay-server --host 127.0.0.1 --port 0 --max-clients $((N + SENDERS + 100)) \
            --redis "redis://127.0.0.1:$REDIS_PORT" 2> "$log" &
        pid=$!
        PIDS+=("$pid")
        NODE_PIDS+=("$pid")
    done
    for ((j = 0; j < k; j++)); do
        log=$OUT/logs/node-$run-$j.log port=""
        for i in $(seq 100); do
            # "listening on", then the adapter's two connections: "cmd ...: connected" (it can
            # publish) and "sub ...: connected" (its subscriptions are confirmed).
            if grep -q '^redis adapter: cmd .*: connected$' "$log" && grep -q '^redis adapter: sub .*: connected$' "$log"; then
                port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$log")
                break
            fi
            kill -0 "${NODE_PIDS[$j]}" 2>/dev/null || break
            sleep 0.1
        done
        if [ -z "$port" ]; then say "cluster.sh: node $j of $k did not start or join Redis (see $log)"; return 1; fi
        NODE_PORTS+=("$port")
    done
}

# busy_cores and wait_quiet: bench/common.sh
. bench/common.sh # (the script has cd'd to the repository root)

# 0 if the last run in runs.jsonl was disturbed: other processes used more than --max-other.
disturbed() {
    [ "$MAX_OTHER" = none ] || [ "$(wc -l < "$RUNS")" -le "$LINES_BEFORE" ] && return 1
    tail -n 1 "$RUNS" | awk -v m="$MAX_OTHER" '{ i = index($0, "\"other_cpu\":"); if (!i) exit 1;
        s = substr($0, i + 12); sub(/[,}].*/, "", s); exit !(s != "null" && s + 0 > m + 0) }'
}

RUN=0
run_k() { # k w
    local k=$1 w=$2 ports pids
    RUN=$((RUN + 1))
    LINES_BEFORE=$(wc -l < "$RUNS")
    wait_quiet
    if start_redis && start_nodes "$k" "$RUN"; then
        ports=$(IFS=,; echo "${NODE_PORTS[*]}") pids=$(IFS=,; echo "${NODE_PIDS[*]}")
        if ! timeout 120 bench/sio-bench broadcast -n "$N" --senders "$SENDERS" --window "$w" \
                --warmup "$WARMUP" --duration "$DURATION" --connect-timeout 60 --ports "$ports" \
                --server-pid "$pids" --aux-pid "$REDIS_PID" --server-name sio \
                --case "cluster K=$k N=$N W=$w" >>"$RUNS" 2>"$LOG.tmp"; then
            say "cluster.sh: sio-bench failed for K=$k W=$w"
        fi
        grep -E "^== |  (deliveries/s|latency|generator|first error)" "$LOG.tmp" | tee -a "$LOG" >&2 || true
        rm -f "$LOG.tmp"
    fi
    stop_pids ${NODE_PIDS[@]+"${NODE_PIDS[@]}"} ${REDIS_PID:+"$REDIS_PID"}
    REDIS_PID=""
}

read -r -a KA <<<"$KS"
read -r -a WA <<<"$WINDOWS"
say "cluster.sh: K in (${KA[*]}), W in (${WA[*]}), N=$N receivers, senders $SENDERS, ${DURATION} s per run, $REPEATS repeat(s); results in $OUT"
say "cluster.sh: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
START=$(date +%s)
for ((r = 0; r < REPEATS; r++)); do
    for w in "${WA[@]}"; do
        for ((i = 0; i < ${#KA[@]}; i++)); do # rotated per repeat: no K always runs first on a cold machine
            k=${KA[$(((i + r) % ${#KA[@]}))]}
            run_k "$k" "$w"
            for ((t = 0; t < RETRIES; t++)); do
                disturbed || break
                say "   (other processes used more than $MAX_OTHER cores: K=$k W=$w again)"
                run_k "$k" "$w"
            done
        done
    done
done
say "cluster.sh: runs took $(( $(date +%s) - START )) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

cluster_table "$RUNS" > "$OUT/report.md"
cat "$OUT/report.md"
echo "cluster.sh: $OUT/report.md, $OUT/runs.jsonl, $OUT/cluster.log" >&2
