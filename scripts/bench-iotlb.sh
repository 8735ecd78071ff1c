#!/usr/bin/env bash
# Runs the IOTLB lookup benchmark (java/src/jmh/java/io/jvhost/iotlb/IotlbLookupBenchmark.java):
# native (jvhost's API, raw JNI, DPDK's C loop), exact and fast, at 1..2048 entries.
#
#   scripts/bench-iotlb.sh [JMH options...]     e.g. -p entries=64,2048 -f 1 -wi 2 -i 3
#
# Results: a table on stdout and JSON in bench-out/iotlb-lookups.json. Run it on an otherwise idle
# machine; the numbers for docs/benchmarks.md ("IOTLB lookups") came from it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup.sh --quiet
. scripts/lib.sh
build_jars
mkdir -p bench-out
exec java -jar "$(bench_jar)" 'io.jvhost.iotlb.IotlbLookupBenchmark' \
    -rf json -rff bench-out/iotlb-lookups.json "$@"
