#!/usr/bin/env bash
# The cost of an idle `jvhost serve` and the latency of its first packet after idle, for each
# --idle strategy: CPU of the process and of its serving thread over S seconds (from
# /proc/PID/stat and /proc/PID/task/TID/stat), with no frontend and with testpmd's virtio-user
# connected but not forwarding; then the Java frontend's round trip of one frame after 1 s idle.
#   scripts/bench-idle.sh [seconds, default 10] [repetitions, default 21]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/scripts/lib.sh"
secs=${1:-10}
reps=${2:-21}
[ -n "$(cli_jar)" ] && [ -n "$(bench_jar)" ] || build_jars
tck=$(getconf CLK_TCK)
echo "load average before the run: $(cut -d" " -f1-3 /proc/loadavg)"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

ticks() { awk '{print $14 + $15}' "$1"; } # utime + stime of a /proc stat file
# % of one core used by the process and by its thread named jvhost-serve over $secs seconds
cpu() {
    local pid=$1 tid
    tid=$(grep -l '^jvhost-serve$' /proc/"$pid"/task/*/comm | head -n 1 | xargs dirname)
    local p0 t0 p1 t1
    p0=$(ticks /proc/"$pid"/stat); t0=$(ticks "$tid"/stat)
    sleep "$secs"
    p1=$(ticks /proc/"$pid"/stat); t1=$(ticks "$tid"/stat)
    awk -v p=$((p1 - p0)) -v t=$((t1 - t0)) -v s="$secs" -v h="$tck" \
        'BEGIN { printf "process %5.1f %%  serving thread %5.1f %%", 100 * p / h / s, 100 * t / h / s }'
}
await() { # text in file, within 60 s
    for _ in $(seq 600); do grep -q "$1" "$2" && return 0; sleep 0.1; done
    echo "no '$1' in $2:"; cat "$2"; exit 1
}

for idle in adaptive busy; do
    sock=$work/$idle.sock
    : >"$work/serve.log"
    java -jar "$(cli_jar)" serve --socket "$sock" --mode loopback --idle "$idle" >"$work/serve.log" 2>&1 &
    serve=$!
    await "waiting for a frontend" "$work/serve.log"
    sleep 5 # start-up and JIT out of the way
    echo "idle $idle, no frontend:             $(cpu $serve)"
    # testpmd at its prompt, never told to start forwarding: connected, silent
    rm -f "$work/in"; mkfifo "$work/in"
    dpdk-testpmd --lcores '0@0,1@1' --no-huge -m 512 --no-pci --file-prefix="idle-$$" \
        --vdev "net_virtio_user0,path=$sock" -- -i --total-num-mbufs=16384 <"$work/in" >"$work/testpmd.log" 2>&1 &
    tp=$!
    exec 3>"$work/in"
    await "frontend connected" "$work/serve.log"
    sleep 3
    echo "idle $idle, silent testpmd frontend: $(cpu $serve)"
    echo quit >&3; exec 3>&-; wait $tp || true
    await "frontend gone" "$work/serve.log"
    echo "idle $idle, first packet after 1 s idle: $(java -cp "$(bench_jar)" io.jvhost.bench.IdleWakeup "$sock" "$reps" 1000 \
        | grep wakeup_us)"
    kill -TERM $serve; wait $serve || true
done
