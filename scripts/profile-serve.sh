#!/usr/bin/env bash
# Where jvhost serve's serving thread spends its time, against dpdk-testpmd's virtio-user as the
# frontend: perf samples of that one thread, JIT-compiled Java resolved through the JVM's perf map
# (jcmd Compiler.perfmap) and the shim's functions through java/core/target/cmake/libjvhost.so (loaded from
# there with -Djvhost.library.path so that perf can read its symbols).
#
#   scripts/profile-serve.sh [rx|tx|loop] [frame-bytes] [seconds]     (defaults: rx 64 5)
#
# Pinning as in bench.py: the serving thread on CPU 0 (serve --cpu 0), testpmd's forwarding lcore
# on CPU 1. Prints the top functions with their share of the thread's samples, grouped as DPDK,
# jvhost's C shim, Java (JIT) and other. Needs perf (linux-perf) and the same permissions perf needs.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scenario=${1:-rx}
size=${2:-64}
seconds=${3:-5}
command -v perf >/dev/null || { echo "profile-serve: perf is needed (apt-get install linux-perf)"; exit 1; }
. "$repo/scripts/lib.sh"
build_jars 2>/dev/null
jar=$(cli_jar)
lib=$repo/java/core/target/cmake/libjvhost.so
mode=$(case $scenario in rx) echo sink;; tx) echo source;; loop) echo loopback;; *) echo "bad scenario"; exit 2;; esac)
fwd=$(case $scenario in rx) echo txonly;; tx) echo rxonly;; loop) echo io;; esac)
first=$([ "$scenario" = loop ] && echo --tx-first || true)   # io forwarding needs packets to start with
dir=$(mktemp -d /tmp/jvhost-profile.XXXXXX)
java -Djvhost.library.path="$lib" -jar "$jar" serve --socket "$dir/s" --mode "$mode" --size "$size" --cpu 0 \
    --stats-period 0 > "$dir/serve.log" 2>&1 &
serve=$!
tp=
trap 'kill -9 $serve $tp 2>/dev/null || true; rm -rf "$dir" /var/run/dpdk/jvhost-prof-$$' EXIT
for _ in $(seq 1 100); do [ -S "$dir/s" ] && break; sleep 0.1; done
dpdk-testpmd --lcores '0@1,1@1' --no-huge -m 1024 --no-pci --file-prefix=jvhost-prof-$$ \
    --vdev "net_virtio_user0,path=$dir/s" -- --forward-mode=$fwd --txpkts=$size --auto-start $first \
    --stats-period 10 --total-num-mbufs=32768 > "$dir/tp.log" 2>&1 &
tp=$!
sleep 4
tid=
for t in /proc/$serve/task/*; do
    [ "$(cat "$t/comm")" = jvhost-serve ] && tid=$(basename "$t")
done
[ -n "$tid" ] || { echo "profile-serve: no jvhost-serve thread"; cat "$dir/serve.log"; exit 1; }
perf record -q -F 1999 -t "$tid" -o "$dir/perf.data" -- sleep "$seconds" >/dev/null 2>&1
jcmd $serve Compiler.perfmap >/dev/null
perf report -i "$dir/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | python3 -c '
import re, sys, collections
groups = collections.Counter()
rows = []
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(.+?)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, _, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
    if "libjvhost" in dso:
        group = "jvhost shim (C)" if sym.startswith("native_") or sym.startswith("jvhost_") else "DPDK"
    elif dso.startswith("[JIT]") or "perf-" in dso:
        group = "Java (JIT)"
    elif "libjvm" in dso:
        group = "JVM runtime"
    elif "kernel" in dso:
        group = "kernel"
    else:
        group = "other (" + dso + ")"
    groups[group] += pct
    rows.append((pct, group, sym))
print("| group | share of the serving thread |\n|---|---:|")
for g, p in groups.most_common():
    print("| %s | %.1f %% |" % (g, p))
print("\n| function | group | share |\n|---|---|---:|")
for pct, group, sym in sorted(rows, reverse=True)[:15]:
    print("| `%s` | %s | %.1f %% |" % (sym[:90], group, pct))
'
kill -TERM $tp; wait $tp 2>/dev/null || true
kill -TERM $serve; wait $serve || true
