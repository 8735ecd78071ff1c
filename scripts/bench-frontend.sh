#!/usr/bin/env bash
# Benchmark of the pure-Java vhost-user frontend (io.jvhost.frontend) against DPDK's own backend
# (dpdk-testpmd, net_vhost with iommu-support=1, io forwarding) and against jvhost's backend
# (PortServer loopback, same JVM): the IOTLB MISS round trip as a distribution (timed by echoes,
# and from the backend side with DPDK's vhost_iova_to_vva), and echo throughput with the IOMMU off
# and on in the same run.
#
#   scripts/bench-frontend.sh [iterations] [seconds-per-row]     (defaults: 2000 3)
#
# Prints the Markdown section "Java frontend / IOMMU" of docs/benchmarks.md and keeps a
# copy in bench-out/frontend-<timestamp>.md. Needs dpdk-testpmd and 2 cores; takes about a minute.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup.sh --quiet
. scripts/lib.sh
build_jars
cp=$(bench_jar)
mkdir -p bench-out
out="bench-out/frontend-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "_$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(java -version 2>&1 | head -n 1), DPDK $(pkg-config --modversion libdpdk 2>/dev/null || echo '?') testpmd, load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)_"
    echo
    echo "### Java frontend / IOMMU"
    echo
    echo "The pure-Java frontend (\`io.jvhost.frontend\`) with its virtual IOMMU against two backends."
    echo
    # testpmd's forwarding lcore is pinned to CPU 1; keep the JVM off it (unpinned, the JVM's
    # spinning thread lands on CPU 1 now and then and stalls the forwarding for whole time slices:
    # measured 0.004-0.8 Mpps run to run unpinned, 0.7-1.0 pinned)
    taskset -c 0 java -Xms256m -Xmx256m -cp "$cp" io.jvhost.frontend.FrontendBench testpmd "${1:-2000}" "${2:-3}"
    echo
    # jvhost's backend runs in the frontend's JVM (EAL started there): two busy Java threads, two cores
    java -Xms256m -Xmx256m -cp "$cp" io.jvhost.frontend.FrontendBench jvhost "${1:-2000}" "${2:-3}" 2>/dev/null
} | tee "$out"
echo "(saved in $out)" >&2
