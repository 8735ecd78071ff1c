#!/usr/bin/env bash
# jvhost against dpdk-testpmd's net_vhost, side by side in one run; see scripts/bench.py --help.
#   scripts/bench.sh [--quick] [--hugepages] [--reps N] [--scenarios rx,tx,loop] [--sizes 64,1518]
# Writes target/bench/result.json. Run it on an otherwise idle machine: it uses both CPUs.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh" --quiet
command -v python3 >/dev/null || { echo "bench: python3 is needed (apt-get install python3)"; exit 1; }
. "$repo/scripts/lib.sh"
build_jars 2>/dev/null
exec python3 "$repo/scripts/bench.py" "$@"
