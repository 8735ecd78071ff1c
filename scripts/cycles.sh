#!/usr/bin/env bash
# Full-size fault cycles for docs/reliability.md: one 'jvhost serve --mode sink' and N dpdk-testpmd
# virtio-user frontends in a row, each transmitting and then ended, every other one with SIGKILL
# mid-burst. serve's open fds and RSS are sampled every 100 cycles; at the end serve must still
# accept a frontend, stop on SIGINT with status 0, and have counted packets.
#
#   scripts/cycles.sh [CYCLES]        (default 1000; about a second per cycle)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cycles=${1:-1000}
bash "$repo/scripts/setup.sh" --quiet
(cd "$repo" && mvn -B -q -Dstyle.color=never -DskipTests -Djvhost.setup.skip=true package) >/dev/null
jar=$(ls "$repo"/target/jvhost-*.jar | grep -v original- | head -n 1)
dir=$(mktemp -d /tmp/jvhost-cycles.XXXXXX)
sock=$dir/vhost.sock
out=$repo/target/cycles
mkdir -p "$out"
java -jar "$jar" serve --socket "$sock" --mode sink --stats-period 0 > "$dir/serve.log" 2>&1 &
serve=$!
trap 'kill -9 $serve 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
sample() {
    printf '%6d %6d %8d\n' "$1" "$(ls /proc/$serve/fd | wc -l)" "$(awk '/VmRSS/ {print $2}' /proc/$serve/status)"
}
echo "cycle    fds  RSS(kB)" | tee "$out/result.txt"
sample 0 | tee -a "$out/result.txt"
for i in $(seq 1 "$cycles"); do
    dpdk-testpmd --lcores '0@0,1@1' --no-huge -m 256 --no-pci --file-prefix="jvhost-cyc-$$" \
        --vdev "net_virtio_user0,path=$sock" -- --forward-mode=txonly --auto-start --stats-period 10 --total-num-mbufs=8192 \
        > "$dir/tp.log" 2>&1 &
    tp=$!
    # until serve has seen this frontend connect, then a moment of traffic
    for _ in $(seq 1 500); do
        [ "$(grep -c 'frontend connected' "$dir/serve.log" || true)" -ge "$i" ] && break
        sleep 0.02
    done
    sleep 0.3
    if [ $((i % 2)) -eq 0 ]; then kill -9 $tp; else kill -TERM $tp; fi
    wait $tp 2>/dev/null || true
    rm -rf "/var/run/dpdk/jvhost-cyc-$$"
    kill -0 $serve 2>/dev/null || { echo "serve died at cycle $i"; cat "$dir/serve.log"; exit 1; }
    if [ $((i % 100)) -eq 0 ]; then sample "$i" | tee -a "$out/result.txt"; fi
done
# background jobs of a script ignore SIGINT (POSIX), and the JVM keeps it ignored: TERM
kill -TERM $serve
status=0; wait $serve || status=$?
connected=$(grep -c "frontend connected" "$dir/serve.log" || true)
gone=$(grep -c "frontend gone" "$dir/serve.log" || true)
{
    echo "serve exit status $status after $cycles cycles (every other frontend SIGKILLed mid-burst)"
    echo "frontends seen: $connected connected, $gone gone"
    grep "port0 q0: rx" "$dir/serve.log" | tail -n 1
} | tee -a "$out/result.txt"
[ "$status" -eq 0 ] && [ "$connected" -eq "$cycles" ] && [ "$gone" -eq "$cycles" ]
