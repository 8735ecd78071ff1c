#!/usr/bin/env bash
# The built CLI jar on Debian 13 (trixie), where new machines are (issue 16): a Debian 13 root file
# system made by debootstrap of Debian's own packages (OpenJDK 21 and 25, libnuma1, libbsd0), cached,
# and in it, on each JDK:
#   - `demo`: exact counts (frames and bytes both ways, IOTLB translations agreed), exit status 0;
#   - `serve --mode loopback` and DPDK's virtio-user in testpmd: 128 packets each way, counted
#     exactly by both ends; once without hugepages (no hugetlb mapped) and once with --hugepages
#     (hugetlb mapped by serve), the host's hugetlbfs being visible in the root;
#   - no line starting with WARNING from the JVM (JVHOST_DEBIAN13_WARNINGS=report only reports them);
# and `ldd` of the jar's libjvhost.so inside the root: no "not found".
#
# testpmd is the host's (DPDK 22.11), run outside the root against the serve inside it: vhost-user
# needs only that both see the socket file (the root's /tmp, seen from the host under the root's
# path) and the frontend's memory goes over the socket as file descriptors. Debian 13's `dpdk`
# package has no dpdk-testpmd (tried; Debian 12 puts it in dpdk-dev, with the headers and -dev
# dependencies), and the root's build time is most of this step's already.
#
# Usage: scripts/debian13-check.sh [--jar PATH] [--jdks "21 25"]
# Environment:
#   JVHOST_DEBIAN13_ROOT      where the root is built and kept (default /var/cache/jvhost-ci/trixie);
#                             reused while its package list is the same and it is younger than
#   JVHOST_DEBIAN13_MAX_AGE   days (default 7), so Debian's updates come in
#   JVHOST_DEBIAN13_MIRROR    a Debian mirror for debootstrap (default: debootstrap's own)
#   JVHOST_DEBIAN13_WARNINGS  fail (default): a WARNING line fails the check; report: it is printed only
#   JVHOST_DEBIAN13_DEMO_BYTES  bytes expected each way of demo's 5000 frames (default 11205368)
# Exit status: 0 when every check passed or the step was skipped ("debian13: skipped: <why>");
# 1 when a check failed. Not root: always skipped (debootstrap and chroot need it). With CI=true,
# what this script or scripts/setup.sh installs (debootstrap, Debian's archive, the host's
# dpdk-testpmd) must be there: its absence fails the step instead of skipping it. No free
# hugepages skips only the hugepage checks, as .ci/run does for the hugepage tests.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "debian13: $*"; }
in_ci() { [ "${CI:-}" = true ]; }
# a missing prerequisite: skipped here, a failure in CI
prereq_missing() {
    if in_ci; then say "FAILED: $* (CI=true: the setup should have provided it)"; exit 1; fi
    say "skipped: $*"; exit 0
}

jar=""
jdks="21 25"
while [ $# -gt 0 ]; do
    case "$1" in
        --jar) jar="$2"; shift 2 ;;
        --jdks) jdks="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--jar PATH] [--jdks \"21 25\"]" >&2; exit 2 ;;
    esac
done

root="${JVHOST_DEBIAN13_ROOT:-/var/cache/jvhost-ci/trixie}"
max_age="${JVHOST_DEBIAN13_MAX_AGE:-7}"
warnings="${JVHOST_DEBIAN13_WARNINGS:-fail}"
demo_packets=5000
demo_bytes="${JVHOST_DEBIAN13_DEMO_BYTES:-11205368}"  # demo's fixed sequence of 60..9000-byte frames
demo_agreed=220       # translations the default --probes 300 --seed 42 find mapped, all agreeing
tp_bursts=4           # testpmd's tx_first bursts of 32 frames of 64 bytes
tp_packets=$((tp_bursts * 32))
packages=openjdk-21-jre-headless,openjdk-25-jre-headless,libnuma1,libbsd0
started=$SECONDS

case "$warnings" in fail|report) ;; *) echo "JVHOST_DEBIAN13_WARNINGS must be fail or report" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { say "skipped: not root (debootstrap, mount and chroot need it)"; exit 0; }
if [ -z "$jar" ]; then
    jar=$(ls java/cli/target/jvhost-cli-*-all.jar 2>/dev/null | head -n 1 || true)
fi
if [ -z "$jar" ] || [ ! -f "$jar" ]; then
    say "FAILED: no CLI jar (${jar:-java/cli/target/jvhost-cli-*-all.jar}); build it:"
    say "  mvn -B -o -q package -pl java/cli -am -DskipTests -Djvhost.setup.skip=true"
    exit 1
fi
[ "$(uname -m)" = x86_64 ] || { say "skipped: the jar carries libjvhost.so for x86_64 only"; exit 0; }

if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q debootstrap >/dev/null 2>&1 \
        || prereq_missing "no debootstrap, and 'apt-get install debootstrap' failed"
fi

# --- the root, built once and kept (one builder at a time) ---------------------------------------
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock -w 900 9 || { say "FAILED: $root.lock held for 15 minutes"; exit 1; }

# Nothing may be mounted below a root that is removed: rm -rf would go through /dev and /proc.
mounted_below() { awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts; }
for stale in "$root" "$root.new"; do
    for m in $(mounted_below "$stale" | sort -r); do umount -R "$m" 2>/dev/null || umount -R -l "$m"; done
    if [ -n "$(mounted_below "$stale")" ]; then say "FAILED: still mounted below $stale"; exit 1; fi
done

stamp="trixie minbase $packages"
if [ -f "$root/.jvhost-debian13" ] && [ "$(cat "$root/.jvhost-debian13")" = "$stamp" ] \
        && [ -z "$(find "$root/.jvhost-debian13" -mtime +"$max_age")" ]; then
    say "root: $root (cached, built $(date -u -r "$root/.jvhost-debian13" '+%F %H:%M UTC'))"
else
    say "root: building $root with debootstrap (trixie, minbase, $packages)"
    t0=$SECONDS
    rm -rf "$root.new"
    # bounded: a slow mirror must not hold the whole CI run
    if ! timeout 600 debootstrap --variant=minbase --include="$packages" trixie "$root.new" \
            ${JVHOST_DEBIAN13_MIRROR:-} >"$root.log" 2>&1; then
        tail -n 5 "$root.log" | sed 's/^/  /'
        rm -rf "$root.new"
        prereq_missing "debootstrap of Debian 13 failed (no network or no Debian archive?): $root.log"
    fi
    rm -f "$root.new"/var/cache/apt/archives/*.deb
    rm -rf "$root"
    mv "$root.new" "$root"
    echo "$stamp" >"$root/.jvhost-debian13"
    say "root: built in $((SECONDS - t0)) s"
fi

# --- mounts, processes and files of this run, all undone on exit ---------------------------------
work=$(mktemp -d "$root/tmp/jvhost-deb13.XXXXXX")
inside=${work#"$root"}          # the same directory as the root's processes see it
mounts=()
pids=()
prefixes=()
cleanup() {
    local p m i
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        m=${mounts[i]}
        umount -R "$m" 2>/dev/null || umount -R -l "$m" || echo "debian13: could not unmount $m" >&2
    done
    for p in "${prefixes[@]}"; do rm -rf "/var/run/dpdk/$p"; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for d in proc sys dev; do   # /dev recursively: /dev/shm and the hugetlbfs at /dev/hugepages with it
    mount --rbind "/$d" "$root/$d"
    mounts+=("$root/$d")
    mount --make-rslave "$root/$d"   # unmounting here must not unmount the host's
done
mkdir -p "$root/opt/jvhost"
cp "$jar" "$root/opt/jvhost/jvhost.jar"

passed=0
failed=0
results=()
pass() { passed=$((passed + 1)); results+=("ok    $*"); say "ok: $*"; }
fail() { failed=$((failed + 1)); results+=("FAIL  $*"); say "FAILED: $*"; }
# a line of the output, exactly, or the reason it is missing
expect_line() {
    grep -qxF -- "$2" "$1" && return 0
    echo "  expected line: $2" >&2
    return 1
}
# WARNING lines: none, or (report) printed and tolerated
warnings_ok() {
    local n
    n=$(grep -c '^WARNING' "$1" || true)
    [ "$n" = 0 ] && return 0
    grep '^WARNING' "$1" | sed 's/^/  /' >&2
    if [ "$warnings" = report ]; then echo "  ($n WARNING lines: reported only, JVHOST_DEBIAN13_WARNINGS=report)" >&2; return 0; fi
    echo "  $n WARNING lines (JVHOST_DEBIAN13_WARNINGS=report to tolerate them)" >&2
    return 1
}
show_output() { sed 's/^/  | /' "$1" | tail -n 40 >&2; }
# $1 = whether the counts held, $2 = the JVM's output, $3 = what ran, $4 = its figures
verdict() {
    local w=true
    warnings_ok "$2" || w=false
    if $1 && $w; then pass "$3: $4"
    elif $1; then fail "$3: counts right ($4), but WARNING lines"
    else fail "$3"
    fi
}

# --- ldd: libjvhost.so's run-time dependencies are all in Debian 13's packages -------------------
unzip -p "$jar" io/jvhost/native/linux-x86_64/libjvhost.so >"$work/libjvhost.so"
if chroot "$root" ldd "$inside/libjvhost.so" >"$work/ldd.out" 2>&1 && ! grep -q 'not found' "$work/ldd.out"; then
    pass "ldd libjvhost.so: $(awk '/=>/ { print $1 }' "$work/ldd.out" | tr '\n' ' ')all found"
else
    show_output "$work/ldd.out"
    fail "ldd libjvhost.so in the Debian 13 root"
fi

free_hugepages=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
hugepage_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
hugepages_ok=false
if grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts && [ "${free_hugepages:-0}" -ge 64 ] && [ "${hugepage_kb:-0}" = 2048 ]; then
    hugepages_ok=true
fi
testpmd=$(command -v dpdk-testpmd || true)
if [ -z "$testpmd" ] && in_ci; then
    fail "no dpdk-testpmd on the host (scripts/setup.sh installs dpdk-dev)"
fi

# --- demo ------------------------------------------------------------------------------------------
run_demo() {   # $1 = JDK feature version, $2 = java in the root
    local what="JDK $1 demo (no hugepages)" out="$work/demo-$1.out" rc=0 half=$((demo_packets / 2)) ring
    timeout -k 5 180 chroot "$root" "$2" -jar /opt/jvhost/jvhost.jar demo --packets "$demo_packets" \
        >"$out.raw" 2>&1 || rc=$?
    tr '\r' '\n' <"$out.raw" >"$out"   # the progress bar redraws with carriage returns
    local ok=true
    [ "$rc" = 0 ] || { echo "  exit status $rc" >&2; ok=false; }
    expect_line "$out" "frontend -> backend: $demo_packets frames, $demo_bytes bytes (backend dequeued $demo_packets)" || ok=false
    expect_line "$out" "backend -> frontend: $demo_packets frames back, $demo_bytes bytes, 0 corrupt, 0 dropped (backend enqueued $demo_packets)" || ok=false
    expect_line "$out" "byte-exact both ways: yes" || ok=false
    for ring in 0 1 2 3; do
        grep -qE "^  vring $ring \(.*\): $half packets, " "$out" || { echo "  expected vring $ring: $half packets" >&2; ok=false; }
    done
    grep -qE "^Java IOTLB model vs DPDK: $demo_agreed of $demo_agreed random translations agreed" "$out" \
        || { echo "  expected: $demo_agreed of $demo_agreed random translations agreed" >&2; ok=false; }
    expect_line "$out" "RESULT: everything verified" || ok=false
    $ok || show_output "$out"
    verdict "$ok" "$out" "$what" "$demo_packets/$demo_packets frames back byte-exact, $demo_bytes bytes each way, $demo_agreed/$demo_agreed IOTLB translations agreed"
}

# --- serve in the root, testpmd (virtio-user) outside ---------------------------------------------
wait_for() {   # $1 = seconds, $2... = a command that succeeds when ready
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}
hugetlb_kb() {   # hugetlb memory mapped by a process, in KiB
    awk '/^(Private|Shared)_Hugetlb:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps" 2>/dev/null || echo 0
}
run_serve() {   # $1 = JDK feature version, $2 = java in the root, $3 = on|off (hugepages)
    local tag="$1-$3" what ok=true
    local out="$work/serve-$tag.out" tpout="$work/testpmd-$tag.out" fifo="$work/testpmd-$tag.in"
    local sock="$work/vhost-$tag.sock" prefix="jvhost-deb13-$$-$tag" eal=() sp tp java_pid huge_kb rc=0
    what="JDK $1 serve + testpmd ($([ "$3" = on ] && echo "hugepages" || echo "no hugepages"))"
    [ "$3" = on ] && eal=(--hugepages --memory 128)
    timeout -k 5 120 chroot "$root" "$2" -jar /opt/jvhost/jvhost.jar serve --socket "$inside/vhost-$tag.sock" \
        --mode loopback --stats-period 0 "${eal[@]}" >"$out" 2>&1 &
    sp=$!
    pids+=("$sp")
    if ! wait_for 60 test -S "$sock"; then
        show_output "$out"; fail "$what: serve did not listen"; return
    fi
    java_pid=$(pgrep -P "$sp" | head -n 1 || true)   # timeout's child: chroot, which became java
    mkfifo "$fifo"
    exec 8<>"$fifo"   # read-write: opening never blocks, and testpmd never sees an end of input
    prefixes+=("$prefix")
    stdbuf -oL "$testpmd" --lcores 0@0,1@1 --no-huge -m 512 --no-pci --no-shconf --file-prefix="$prefix" \
        --vdev "net_virtio_user0,path=$sock" -- -i --total-num-mbufs=16384 --forward-mode=rxonly \
        <&8 >"$tpout" 2>&1 &
    tp=$!
    pids+=("$tp")
    # rxonly: testpmd sends tx_first's bursts and counts what serve loops back, forwarding nothing
    if wait_for 60 grep -q 'testpmd> ' "$tpout"; then
        echo "start tx_first $tp_bursts" >&8
        local end=$((SECONDS + 30))
        while [ "$SECONDS" -lt "$end" ]; do
            echo "show port stats 0" >&8
            sleep 0.5
            [ "$(grep -oE 'RX-packets: [0-9]+ +RX-missed' "$tpout" | tail -n 1 | awk '{ print $2 }')" = "$tp_packets" ] && break
        done
        huge_kb=$(hugetlb_kb "${java_pid:-0}")
        echo stop >&8
        wait_for 30 grep -q 'Accumulated forward statistics' "$tpout" || true
        echo quit >&8
        wait_for 30 grep -q 'Bye' "$tpout" || true
    else
        ok=false
        echo "  testpmd did not reach its prompt" >&2
    fi
    kill -TERM "$tp" 2>/dev/null || true
    wait "$tp" 2>/dev/null || true
    exec 8>&-
    # serve's counts are final once the frontend is gone; SIGTERM then stops it with its totals
    wait_for 30 grep -q 'frontend gone' "$out" || { echo "  serve did not see the frontend go" >&2; ok=false; }
    kill -TERM "$sp" 2>/dev/null || true
    wait "$sp" || rc=$?
    [ "$rc" = 0 ] || { echo "  serve's exit status $rc" >&2; ok=false; }
    local acc
    acc=$(sed -n '/Accumulated forward statistics/,/+++++$/p' "$tpout")
    grep -qE "RX-packets: $tp_packets +RX-dropped: 0 " <<<"$acc" || { echo "  testpmd: expected RX-packets: $tp_packets, RX-dropped: 0" >&2; ok=false; }
    grep -qE "TX-packets: $tp_packets +TX-dropped: 0 " <<<"$acc" || { echo "  testpmd: expected TX-packets: $tp_packets, TX-dropped: 0" >&2; ok=false; }
    expect_line "$out" "port0 q0: rx $tp_packets packets $((tp_packets * 64)) bytes | tx $tp_packets packets $((tp_packets * 64)) bytes | dropped 0" || ok=false
    expect_line "$out" "mbufs in use at exit: 0 of 16384" || ok=false
    if [ "$3" = on ]; then
        [ "${huge_kb:-0}" -gt 0 ] || { echo "  serve mapped no hugetlb memory with --hugepages" >&2; ok=false; }
    else
        [ "${huge_kb:-0}" = 0 ] || { echo "  serve mapped $huge_kb KiB of hugetlb memory without --hugepages" >&2; ok=false; }
    fi
    $ok || { show_output "$out"; show_output "$tpout"; }
    verdict "$ok" "$out" "$what" "$tp_packets/$tp_packets packets each way counted by both ends, 0 dropped, $((huge_kb / 1024)) MiB hugetlb mapped"
}

for jdk in $jdks; do
    java="/usr/lib/jvm/java-$jdk-openjdk-amd64/bin/java"
    if [ ! -x "$root$java" ]; then
        fail "JDK $jdk: no $java in the root"
        continue
    fi
    say "JDK $jdk: $(chroot "$root" "$java" -version 2>&1 | head -n 1)"
    t0=$SECONDS
    run_demo "$jdk" "$java"
    if [ -n "$testpmd" ]; then
        run_serve "$jdk" "$java" off
        if $hugepages_ok; then
            run_serve "$jdk" "$java" on
        else
            say "JDK $jdk serve + testpmd (hugepages): skipped: ${free_hugepages:-0} free 2 MiB hugepages, 64 needed (scripts/setup.sh --hugepages N)"
        fi
    else
        say "JDK $jdk serve + testpmd: skipped: no dpdk-testpmd on the host (scripts/setup.sh installs it)"
    fi
    say "JDK $jdk: $((SECONDS - t0)) s"
done

say "summary ($((SECONDS - started)) s):"
for r in "${results[@]}"; do echo "  $r"; done
say "$passed passed, $failed failed"
[ "$failed" = 0 ]
