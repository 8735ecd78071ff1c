#!/usr/bin/env bash
# The data-path JMH benchmark (java/src/jmh/java/io/jvhost/datapath/DataPathBenchmark.java): the
# Java loop against the same loop in C at bursts 1, 8, 32, 64, the bare JNI call, and allocation
# per operation (JMH's GC profiler).
#
#   scripts/bench-datapath.sh [JMH options...]      e.g. -f 1 -wi 3 -i 5
#
# Results: JMH's table on stdout, JSON in bench-out/datapath.json, and per-packet figures.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup.sh --quiet
. scripts/lib.sh
build_jars -Djvhost.bench.native=true
mkdir -p bench-out
java -jar "$(bench_jar)" 'io.jvhost.datapath.DataPathBenchmark' -prof gc \
    -jvmArgsAppend "-Djava.util.logging.config.file=$repo/java/core/src/test/resources/test-logging.properties -Djvhost.library.path=$(bench_library)" \
    -rf json -rff bench-out/datapath.json "$@"
python3 - "$repo/bench-out/datapath.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
by = {}
for r in rows:
    name = r["benchmark"].rsplit(".", 1)[1]
    burst = int(r["params"]["burst"])
    by[(name, burst)] = r
print("\nburst  java ns/pkt  C ns/pkt  java/C   java B/op")
for burst in sorted({b for (_, b) in by}):
    j, c = by.get(("javaLoop", burst)), by.get(("cLoop", burst))
    if not j or not c:
        continue
    jn, cn = j["primaryMetric"]["score"] / burst, c["primaryMetric"]["score"] / burst
    alloc = j.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score", float("nan"))
    print("%5d  %11.1f  %8.1f  %6.2f  %9.1f" % (burst, jn, cn, jn / cn, alloc))
jni = [r for (n, _), r in by.items() if n == "jniCall"]
if jni:
    print("JNI call into the shim: %.1f ns" % min(r["primaryMetric"]["score"] for r in jni))
PY
