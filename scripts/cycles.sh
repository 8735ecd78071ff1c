#!/usr/bin/env bash
# Full-size fault cycles for docs/reliability.md: one 'jvhost serve --mode sink' and N dpdk-testpmd
# virtio-user frontends in a row, each transmitting and then ended, every other one with SIGKILL
# mid-burst. serve's open fds and memory are sampled every 100 cycles; at the end serve must still
# have seen every frontend come and go, stop on SIGTERM with status 0, and have counted packets.
#
#   scripts/cycles.sh [--client] [CYCLES]   (default 1000)
#
# Server mode (default): serve listens, each testpmd connects (about 0.5 s a cycle).
# --client: each testpmd listens (virtio-user server=1) and serve connects; after a frontend dies,
# DPDK's vhost reconnect thread retries once a second, so a cycle costs about 1.5 s.
#
# Memory is split so growth can be attributed: RSS and its anonymous / file / shmem parts and
# hugetlb pages from /proc/PID/status, and the JVM's own view (Java heap used and committed, and the
# Native Memory Tracking total committed) from jcmd, and the Java heap's resident pages (smaps). NMT's summary diff against cycle 0 is
# written at the end. Two things make a JVM's RSS move without any leak, so the first and last
# samples are also taken after a full GC and a malloc_trim (jcmd System.trim_native_heap): glibc
# keeps memory freed by a thread's arena (a C2 compilation can take tens of MB for a moment), and
# the Java heap's pages count only once touched (eden fills fresh pages until the first young GC).
# The run fails if serve's RSS after GC and trim grew by more than RSS_BOUND_KB (default 16 MiB).
# JAVA_OPTS go to serve's JVM (e.g. -Xmx64m to make young GCs, and so RSS, settle early).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
client=0
if [ "${1:-}" = "--client" ]; then client=1; shift; fi
cycles=${1:-1000}
bash "$repo/scripts/setup.sh" --quiet
. "$repo/scripts/lib.sh"
build_jars 2>/dev/null
dir=$(mktemp -d /tmp/jvhost-cycles.XXXXXX)
# a private copy: a rebuild of target/ during the run must not change the jar under a running JVM
cp "$(cli_jar)" "$dir/jvhost.jar"
jar=$dir/jvhost.jar
sock=$dir/vhost.sock
out=$repo/target/cycles
mkdir -p "$out"
mode=server; [ $client -eq 1 ] && mode=client
result=$out/result-$mode.txt
serve_args=(serve --socket "$sock" --mode sink --stats-period 0)
vdev="net_virtio_user0,path=$sock"
if [ $client -eq 1 ]; then serve_args+=(--client); vdev="$vdev,server=1"; fi
# shellcheck disable=SC2086
java -XX:NativeMemoryTracking=summary ${JAVA_OPTS:-} -jar "$jar" "${serve_args[@]}" > "$dir/serve.log" 2>&1 &
serve=$!
tp=
trap 'kill -9 $serve $tp 2>/dev/null || true; cp "$dir/serve.log" "$out/serve-$mode.log" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do grep -q "jvhost serve: [a-z]* on \\[" "$dir/serve.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
sample() {
    local heap nmt
    heap=$(jcmd $serve GC.heap_info 2>/dev/null | sed -n 's/.*heap *total \([0-9]*\)K, used \([0-9]*\)K.*/\2\/\1/p' | head -n 1)
    local summary heaprss lo hi
    summary=$(jcmd $serve VM.native_memory summary 2>/dev/null)
    nmt=$(sed -n 's/^Total: .*committed=\([0-9]*\)KB.*/\1/p' <<<"$summary" | head -n 1)
    # the Java heap's resident pages: every mapping inside the heap's reserved range
    read -r lo hi < <(jcmd $serve GC.heap_info 2>/dev/null | sed -n 's/.*heap .*\[0x\([0-9a-f]*\), *0x\([0-9a-f]*\)).*/\1 \2/p' | head -n 1)
    heaprss=$(python3 -c '
import sys
lo, hi, total, inheap = int(sys.argv[1], 16), int(sys.argv[2], 16), 0, False
for line in open(sys.argv[3]):
    f = line.split()
    if "-" in f[0] and not f[0].endswith(":"):
        inheap = lo <= int(f[0].split("-")[0], 16) < hi
    elif inheap and f[0] == "Rss:":
        total += int(f[1])
print(total)' "${lo:-0}" "${hi:-0}" /proc/$serve/smaps)
    st() { awk -v k="$1:" '$1 == k {print $2}' /proc/$serve/status; }
    printf '%6d %5d %8d %8d %8d %8d %8d %15s %8s %8s\n' "$1" "$(ls /proc/$serve/fd | wc -l)" \
        "$(st VmRSS)" "$(st RssAnon)" "$(st RssFile)" "$(st RssShmem)" "$(st HugetlbPages)" "$heap" "$nmt" "${heaprss:-?}"
}
echo "mode: $mode" | tee "$result"
echo " cycle   fds  RSS(kB) anon(kB) file(kB) shmem(kB) huge(kB) heap used/comm(kB) NMT(kB) heapRSS(kB)" | tee -a "$result"
settle() {
    jcmd $serve GC.run >/dev/null
    jcmd $serve System.trim_native_heap >/dev/null
    sleep 1
}
sample 0 | tee -a "$result"
settle
jcmd $serve VM.native_memory baseline >/dev/null
echo "  (after a full GC and malloc_trim:)" | tee -a "$result"
first=$(sample 0 | tee -a "$result")
for i in $(seq 1 "$cycles"); do
    dpdk-testpmd --lcores '0@0,1@1' --no-huge -m 256 --no-pci --file-prefix="jvhost-cyc-$$" \
        --vdev "$vdev" -- --forward-mode=txonly --auto-start --stats-period 10 --total-num-mbufs=8192 \
        > "$dir/tp.log" 2>&1 &
    tp=$!
    # until serve has seen this frontend connect (client mode: up to the 1 s reconnect timer)
    for _ in $(seq 1 500); do
        [ "$(grep -c 'frontend connected' "$dir/serve.log" || true)" -ge "$i" ] && break
        sleep 0.02
    done
    [ "$(grep -c 'frontend connected' "$dir/serve.log" || true)" -ge "$i" ] \
        || { echo "cycle $i: frontend never connected"; tail "$dir/tp.log" "$dir/serve.log"; exit 1; }
    sleep 0.3
    if [ $((i % 2)) -eq 0 ]; then kill -9 $tp; else kill -TERM $tp; fi
    wait $tp 2>/dev/null || true
    rm -rf "/var/run/dpdk/jvhost-cyc-$$"
    if [ $client -eq 1 ]; then rm -f "$sock"; fi
    kill -0 $serve 2>/dev/null || { echo "serve died at cycle $i"; cat "$dir/serve.log"; exit 1; }
    if [ $((i % 100)) -eq 0 ]; then sample "$i" | tee -a "$result"; fi
done
settle
echo "  (after a full GC and malloc_trim:)" | tee -a "$result"
last=$(sample "$cycles" | tee -a "$result")
jcmd $serve VM.native_memory summary.diff > "$out/nmt-diff-$mode.txt" 2>&1 || true
growth=$(( $(echo "$last" | awk '{print $3}') - $(echo "$first" | awk '{print $3}') ))
bound=${RSS_BOUND_KB:-16384}
# background jobs of a script ignore SIGINT (POSIX), and the JVM keeps it ignored: TERM
kill -TERM $serve
status=0; wait $serve || status=$?
connected=$(grep -c "frontend connected" "$dir/serve.log" || true)
gone=$(grep -c "frontend gone" "$dir/serve.log" || true)
{
    echo "serve exit status $status after $cycles cycles (every other frontend SIGKILLed mid-burst)"
    echo "frontends seen: $connected connected, $gone gone"
    grep "port0 q0: rx" "$dir/serve.log" | tail -n 1
    grep "mbufs in use at exit" "$dir/serve.log" || echo "mbufs in use at exit: (not reported)"
    echo "RSS growth after GC and malloc_trim: $growth kB (bound $bound kB)"
} | tee -a "$result"
grep -q "mbufs in use at exit: 0 of" "$dir/serve.log"
[ "$status" -eq 0 ] && [ "$connected" -eq "$cycles" ] && [ "$gone" -eq "$cycles" ] && [ "$growth" -le "$bound" ]
