#!/usr/bin/env bash
# jvhost setup: installs what the build and the tests need, and fetches the internal headers of
# DPDK's vhost library (lib/vhost/vhost.h, iotlb.h, ...) from the Debian source package of exactly
# the installed DPDK version.
#
# Idempotent and cheap when everything is in place (Maven runs it on every build).
#
#   scripts/setup.sh [--quiet] [--hugepages N] [--guests]
#
#   --quiet          print nothing when there is nothing to do
#   --guests         also install what the QEMU guest tests need (QemuGuestTest, docs/guests.md):
#                    qemu-system-x86, linux-image-amd64 (the guest's kernel), busybox-static, cpio.
#                    Not by default: it is about 300 MB more, and it installs a kernel package (with
#                    an initramfs generated for it) on the machine. Without it those tests skip,
#                    except in CI (CI=true), where .ci/run passes --guests and they must run.
#   --hugepages N    also reserve N 2 MiB hugepages and mount hugetlbfs at /dev/hugepages
#                    (needs root; the tests then also run their hugepage cases)
#
# Environment: JVHOST_CACHE (default: <repo>/.cache) holds the DPDK source headers.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cache=${JVHOST_CACHE:-$repo/.cache}
quiet=0
hugepages=""
guests=0

while [ $# -gt 0 ]; do
    case "$1" in
        --quiet) quiet=1 ;;
        --hugepages) hugepages=${2:?--hugepages needs a number}; shift ;;
        --guests) guests=1 ;;
        -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "setup.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { [ "$quiet" = 1 ] || echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# Run as root directly, otherwise through sudo when there is one.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root to run '$*' (no sudo found); run scripts/setup.sh as root once"
    fi
}

# --- 1. Debian packages ---------------------------------------------------------------------
# libdpdk-dev: headers, pkg-config file and the PIC static archives (librte_*.a) the shim links.
# dpdk-dev/dpdk: dpdk-testpmd, the real frontend and the native yardstick in tests/benchmarks.
# python3: scripts/bench.py (bench.sh), run by .ci/run too.
packages=(libdpdk-dev dpdk-dev dpdk cmake make gcc pkg-config libnuma-dev libbsd-dev
          libatomic1 xz-utils patch iproute2 procps unzip binutils python3)
command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 || packages+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
# --guests: QEMU and a guest built from Debian's kernel and busybox (scripts/guest-image.sh)
[ "$guests" = 1 ] && packages+=(qemu-system-x86 linux-image-amd64 busybox-static cpio)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: jvhost's setup needs Debian 12 (bookworm) or a derivative; missing: ${missing[*]}"
    echo "setup: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
        || die "'apt-get update' failed (no network, or a broken source list?)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || die "'apt-get install ${missing[*]}' failed"
fi

dpdk_version=$(pkg-config --modversion libdpdk 2>/dev/null) \
    || die "pkg-config does not know libdpdk although libdpdk-dev is installed"

# --- 2. DPDK internal headers of the same version -------------------------------------------
src_dir=$cache/dpdk-src
stamp=$src_dir/STAMP
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$dpdk_version" ] \
        && [ -f "$src_dir/lib/vhost/vhost.h" ] && [ -f "$src_dir/lib/vhost/iotlb.h" ]; then
    say "DPDK $dpdk_version internal headers present in $src_dir"
else
    read -r src_pkg src_ver < <(dpkg-query -W -f '${source:Package} ${source:Version}\n' libdpdk-dev)
    say "fetching Debian source package $src_pkg $src_ver for DPDK $dpdk_version's lib/vhost headers"

    # A private apt configuration: deb-src entries for exactly the archives the installed
    # binary package came from. The system's own source lists are left untouched.
    apt_dir=$cache/apt-src
    rm -rf "$apt_dir"
    mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/download"
    apt-cache policy libdpdk-dev | awk -v ver="$src_ver" '
        /^ *(\*\*\* )?[0-9][^ ]* [0-9]+$/ { sub(/^ *(\*\*\* )?/, ""); cur = $1; next }
        cur == ver && $2 ~ /^(https?|file):/ && $3 ~ /\// {
            split($3, sc, "/"); print "deb-src " $2 " " sc[1] " " sc[2]
        }' | sort -u > "$apt_dir/sources.list.d/jvhost-src.list"
    if [ ! -s "$apt_dir/sources.list.d/jvhost-src.list" ]; then
        # Installed from a local .deb, or the archive dropped the version: try every Debian
        # archive the system knows.
        apt-cache policy | awk '$2 ~ /^https?:/ && $3 ~ /\// && $0 ~ /Packages/ {
            split($3, sc, "/"); print "deb-src " $2 " " sc[1] " " sc[2] }' \
            | sort -u > "$apt_dir/sources.list.d/jvhost-src.list"
    fi
    [ -s "$apt_dir/sources.list.d/jvhost-src.list" ] || die "no apt archive found to fetch the $src_pkg source package from"
    apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
              -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
    apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 \
        || die "fetching source indexes failed (see $apt_dir/update.log; no network?)"
    (cd "$apt_dir/download" && apt-get "${apt_opts[@]}" -q source --download-only "$src_pkg=$src_ver") \
        >"$apt_dir/source.log" 2>&1 \
        || die "'apt-get source $src_pkg=$src_ver' failed: the archive has no source for the installed DPDK (see $apt_dir/source.log)"

    orig=$(ls "$apt_dir"/download/*.orig.tar.* 2>/dev/null | head -n 1)
    [ -n "$orig" ] || die "no upstream tarball in the $src_pkg source package"
    rm -rf "$src_dir.new"
    mkdir -p "$src_dir.new"
    tar -xf "$orig" -C "$src_dir.new" --strip-components=1 --wildcards '*/lib/vhost/*' '*/VERSION' \
        || die "could not unpack lib/vhost from $orig"

    # Apply the Debian patches that touch lib/vhost, so the headers are what the binary was built from.
    debian_tar=$(ls "$apt_dir"/download/*.debian.tar.* 2>/dev/null | head -n 1)
    if [ -n "$debian_tar" ]; then
        mkdir -p "$apt_dir/debian"
        tar -xf "$debian_tar" -C "$apt_dir/debian"
        series=$apt_dir/debian/debian/patches/series
        if [ -f "$series" ]; then
            grep -v '^\s*#' "$series" | while read -r patch _; do
                [ -n "$patch" ] || continue
                if grep -q '^+++ [^ ]*lib/vhost/' "$apt_dir/debian/debian/patches/$patch"; then
                    say "applying Debian patch $patch (touches lib/vhost)"
                    patch -s -p1 -d "$src_dir.new" -i "$apt_dir/debian/debian/patches/$patch" \
                        || die "Debian patch $patch does not apply to lib/vhost"
                fi
            done
        fi
    fi

    src_version=$(tr -d '[:space:]' < "$src_dir.new/VERSION")
    if [ "$src_version" != "$dpdk_version" ]; then
        rm -rf "$src_dir.new"
        die "DPDK version mismatch: the source package $src_pkg $src_ver is DPDK $src_version, but 'pkg-config --modversion libdpdk' says $dpdk_version. The shim reads DPDK's private structs and must be built against the headers of the installed version."
    fi
    echo "$dpdk_version" > "$src_dir.new/STAMP"
    rm -rf "$src_dir"
    mv "$src_dir.new" "$src_dir"
    rm -rf "$apt_dir"
    say "DPDK $dpdk_version internal headers in $src_dir"
fi

# --- 3. Hugepages (optional) ----------------------------------------------------------------
if [ -n "$hugepages" ]; then
    case "$hugepages" in *[!0-9]*|"") die "--hugepages takes a number of 2 MiB pages" ;; esac
    echo "$hugepages" | as_root tee /proc/sys/vm/nr_hugepages >/dev/null \
        || die "could not reserve hugepages"
    got=$(cat /proc/sys/vm/nr_hugepages)
    [ "$got" -ge "$hugepages" ] || echo "setup: warning: asked for $hugepages hugepages, the kernel gave $got" >&2
    if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
        as_root mkdir -p /dev/hugepages
        as_root mount -t hugetlbfs nodev /dev/hugepages || die "could not mount hugetlbfs at /dev/hugepages"
    fi
    say "$got hugepages of 2 MiB reserved, hugetlbfs at /dev/hugepages"
fi
exit 0
