#!/usr/bin/env bash
# Soak: 10^8 frames (or N) through 'jvhost serve --iommu --mode loopback', driven by jvhost's
# pure-Java frontend with a virtual IOMMU, INVALIDATE of every mapping every 100,000 frames; exact
# accounting at the end (sent = received back + dropped), serve's RSS and fd count every minute.
#
#   scripts/soak.sh [PACKETS] [INVALIDATE_EVERY] [FRAME_BYTES] [QUEUES]
#
# Writes target/soak/result.txt (the figures for docs/reliability.md). Not part of CI.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packets=${1:-100000000}
every=${2:-100000}
size=${3:-64}
queues=${4:-1}
bash "$repo/scripts/setup.sh" --quiet
. "$repo/scripts/lib.sh"
build_jars 2>/dev/null
jar=$(cli_jar)
mkdir -p "$repo/target/soak"
exec java -cp "$(bench_jar)" io.jvhost.bench.SoakDriver "$jar" "$packets" "$every" "$size" "$queues" \
    "$repo/target/soak/result.txt"
