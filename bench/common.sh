# SPDX-License-Identifier: MIT
# common.sh -- shell functions shared by bench/compare.sh and bench/cluster.sh (sourced, not run).
# They use the caller's QUIET_WAIT (seconds, 0 = do not wait) and say() (log a line).

# How busy the machine is (cores) over half a second, from /proc/stat.
busy_cores() {
    local a b
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 0.5
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
    awk -v a="$a" -v b="$b" -v hz="$(getconf CLK_TCK)" 'BEGIN{split(a,x," ");split(b,y," ");printf "%.2f", (y[1]-x[1])/hz/0.5}'
}
wait_quiet() {
    [ "$QUIET_WAIT" = 0 ] && return 0
    local waited=0 busy
    while :; do
        busy=$(busy_cores)
        if awk -v b="$busy" 'BEGIN{exit !(b < 0.5)}'; then return 0; fi
        if [ "$waited" -ge "$QUIET_WAIT" ]; then say "   (machine busy: $busy cores used by other processes; running anyway)"; return 0; fi
        sleep 2; waited=$((waited + 2))
    done
}
