#!/usr/bin/env bash
# Builds the small QEMU guest the guest tests boot: Debian's kernel (/boot/vmlinuz-*, package
# linux-image-amd64) and an initramfs made with cpio from busybox-static plus the virtio-net modules
# of that kernel. Its /init brings eth0 up, sends frames to a peer, prints the interface counters on
# the console in one parseable line and powers off.
#
#   scripts/guest-image.sh [--kernel VERSION] [--force]
#
# Prints two lines, "kernel=PATH" and "initrd=PATH". The image is cached under
# $JVHOST_CACHE/guest/<kernel version>-<hash of this script> (default cache: <repo>/.cache), so a
# second call costs nothing and a changed /init rebuilds it.
#
# What the guest does is set on the kernel command line (QEMU -append), all optional:
#   jvhost.ip=10.0.0.2/24      eth0's address
#   jvhost.peer=10.0.0.1       where the pings go; its neighbour entry is static (no ARP on the wire)
#   jvhost.peermac=02:00:00:00:00:01
#   jvhost.count=50            pings (ICMP echo requests) to send, per pinger
#   jvhost.pingers=1           pingers, pinger i pinned to CPU i (with -smp 2 and two queue pairs
#                              virtio-net maps CPU i to TX queue i, so both queues carry frames)
#   jvhost.interval=0.05       seconds between them
#   jvhost.settle=1            seconds to wait after the last ping before reading the counters
#   jvhost.arp=1               also send one ARP request for jvhost.arpip (default: the peer's .254)
#   jvhost.pair=send|recv      one of two guests switched through jvhost (serve --mode forward): both
#                              wait for the peer to answer, then ping it; "send" then sends
#                              jvhost.bulk= lines of `seq` (default 300000: 1.99 MB) over TCP to the
#                              "recv" guest (busybox nc, port 5000), which answers "done" on port
#                              5001 once it has it all, so both read their counters with no traffic
#                              left in flight. Extra console lines:
#     JVHOST-PING 50 packets transmitted, 50 packets received, 0% packet loss
#     JVHOST-BULK role=send|recv bytes=N md5=HEX
# The console line is:
#   JVHOST-GUEST iface=eth0 tx_packets=N rx_packets=N tx_bytes=N rx_bytes=N rx_dropped=N queues=N features=0101...
# (features: the virtio feature bits the driver negotiated, bit 0 first, from the device's sysfs file)
# and, when eth0 never appears, "JVHOST-GUEST error=...". Boot with ipv6.disable=1 so that the
# kernel sends nothing on its own (router solicitations, MLD) and tx_packets is exactly what
# /init sent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cache=${JVHOST_CACHE:-$repo/.cache}
kver=""
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) kver=${2:?--kernel needs a version}; shift ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,34p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "guest-image.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
die() { echo "guest-image.sh: ERROR: $*" >&2; exit 1; }

if [ -z "$kver" ]; then
    # the newest installed Debian kernel that has its modules
    for k in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V -r); do
        if [ -d "/lib/modules/$k" ]; then kver=$k; break; fi
    done
fi
[ -n "$kver" ] || die "no kernel in /boot with modules in /lib/modules: run scripts/setup.sh --guests (installs linux-image-amd64)"
vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -d "$moddir" ] || die "no modules for $kver in $moddir"
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || die "busybox not found: run scripts/setup.sh --guests (installs busybox-static)"
readelf -l "$busybox" 2>/dev/null | grep -q "program interpreter" && die "$busybox is dynamically linked: install busybox-static"
command -v cpio >/dev/null 2>&1 || die "cpio not found: run scripts/setup.sh --guests"

hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
out=$cache/guest/$kver-$hash
if [ "$force" = 0 ] && [ -s "$out/initrd.img" ] && [ -s "$out/vmlinuz" ]; then
    echo "kernel=$out/vmlinuz"
    echo "initrd=$out/initrd.img"
    exit 0
fi

[ -r "$vmlinuz" ] || die "$vmlinuz is not readable (Debian installs it mode 0600): run this script once as root (the cached copy is readable by all), or sudo chmod a+r $vmlinuz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,lib/modules,etc}
cp "$busybox" "$root/bin/busybox"

# virtio_net and what it needs, in load order (modules.dep lists a module's dependencies; these are
# modules in Debian's kernel, intel-iommu is built in)
wanted=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net)
: > "$root/lib/modules/load-order"
for m in "${wanted[@]}"; do
    rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); if (n == m) { print $1; exit } }' "$moddir/modules.dep")
    if [ -z "$rel" ]; then
        # built into this kernel: nothing to load
        grep -qw "$m" "$moddir/modules.builtin" 2>/dev/null || die "module $m is neither in $moddir/modules.dep nor built in"
        continue
    fi
    case "$rel" in
        *.ko) cp "$moddir/$rel" "$root/lib/modules/$m.ko" ;;
        *.ko.xz) xz -dc "$moddir/$rel" > "$root/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -qdc "$moddir/$rel" > "$root/lib/modules/$m.ko" ;;
        *.ko.gz) gzip -dc "$moddir/$rel" > "$root/lib/modules/$m.ko" ;;
        *) die "unknown module format: $rel" ;;
    esac
    echo "$m" >> "$root/lib/modules/load-order"
done

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /lib/modules/load-order); do insmod /lib/modules/$m.ko || echo "JVHOST-GUEST warning=insmod-$m-failed"; done

ip=10.0.0.2/24; peer=10.0.0.1; peermac=02:00:00:00:00:01; count=50; pingers=1; interval=0.05; settle=1; arp=0; arpip=""; pair=""; bulk=300000
for a in $(cat /proc/cmdline); do
    case "$a" in
        jvhost.ip=*) ip=${a#*=} ;;
        jvhost.peer=*) peer=${a#*=} ;;
        jvhost.peermac=*) peermac=${a#*=} ;;
        jvhost.count=*) count=${a#*=} ;;
        jvhost.pingers=*) pingers=${a#*=} ;;
        jvhost.interval=*) interval=${a#*=} ;;
        jvhost.settle=*) settle=${a#*=} ;;
        jvhost.arp=*) arp=${a#*=} ;;
        jvhost.arpip=*) arpip=${a#*=} ;;
        jvhost.pair=*) pair=${a#*=} ;;
        jvhost.bulk=*) bulk=${a#*=} ;;
    esac
done

n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
if [ ! -e /sys/class/net/eth0 ]; then
    echo "JVHOST-GUEST error=no-eth0"
    poweroff -f
fi
ip link set lo up
ip addr add "$ip" dev eth0
ip link set eth0 up
n=0
while [ "$(cat /sys/class/net/eth0/operstate)" != up ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
ip neigh add "$peer" lladdr "$peermac" dev eth0 nud permanent 2>/dev/null || arp -i eth0 -s "$peer" "$peermac"
echo "JVHOST-GUEST ready operstate=$(cat /sys/class/net/eth0/operstate)"
if [ "$arp" = 1 ]; then
    [ -n "$arpip" ] || arpip=${peer%.*}.254
    arping -c 1 -w 1 -I eth0 "$arpip" >/dev/null 2>&1
fi
if [ -n "$pair" ]; then
    # nc's stdin must never reach EOF (nc would half-close and the peer's nc quit early): a fifo
    # held open for reading and writing gives it one that never does
    mkfifo /tmp/hold; exec 3<>/tmp/hold
    if [ "$pair" = recv ]; then nc -l -p 5000 <&3 > /tmp/bulk & else nc -l -p 5001 <&3 > /tmp/done & fi
    listener=$!
    if [ "$pair" = send ]; then
        seq 1 "$bulk" > /tmp/bulk
        echo "JVHOST-BULK role=send bytes=$(wc -c < /tmp/bulk) md5=$(md5sum < /tmp/bulk | cut -d' ' -f1)"
    fi
    # the peer boots in its own time: probe until it answers (probes are counted like any frame)
    n=0
    until ping -c 1 -W 1 "$peer" >/dev/null 2>&1 || [ $n -ge 200 ]; do n=$((n + 1)); done
    echo "JVHOST-PING $(ping -c "$count" -i "$interval" -W 2 -q "$peer" 2>&1 | grep transmitted)"
    if [ "$pair" = send ]; then
        n=0
        until nc "$peer" 5000 < /tmp/bulk || [ $n -ge 60 ]; do n=$((n + 1)); sleep 1; done
    else
        wait $listener
        echo "JVHOST-BULK role=recv bytes=$(wc -c < /tmp/bulk) md5=$(md5sum < /tmp/bulk | cut -d' ' -f1)"
        n=0
        until echo done | nc "$peer" 5001 || [ $n -ge 60 ]; do n=$((n + 1)); sleep 1; done
    fi
    [ "$pair" = send ] && wait $listener
    exec 3>&-
fi
i=0
[ -n "$pair" ] && pingers=0
while [ $i -lt "$pingers" ]; do
    taskset -c $i ping -c "$count" -i "$interval" -W 1 -q "$peer" >/dev/null 2>&1 &
    i=$((i + 1))
done
wait
sleep "$settle"
s=/sys/class/net/eth0/statistics
echo "JVHOST-GUEST iface=eth0 tx_packets=$(cat $s/tx_packets) rx_packets=$(cat $s/rx_packets) tx_bytes=$(cat $s/tx_bytes) rx_bytes=$(cat $s/rx_bytes) rx_dropped=$(cat $s/rx_dropped) queues=$(ls -d /sys/class/net/eth0/queues/tx-* | wc -l) features=$(cat /sys/class/net/eth0/device/features)"
poweroff -f
EOF
chmod 755 "$root/init"

mkdir -p "$out.new"
(cd "$root" && find . | sort | cpio -o -H newc --quiet) | gzip -1 > "$out.new/initrd.img"
cp "$vmlinuz" "$out.new/vmlinuz"
chmod 644 "$out.new/vmlinuz" "$out.new/initrd.img"   # readable by QEMU run as any user
rm -rf "$out"
mv "$out.new" "$out"
# images of an older version of this script for the same kernel are of no use any more
for old in "$cache/guest/$kver"-*; do
    [ "$old" = "$out" ] || rm -rf "$old"
done
echo "kernel=$out/vmlinuz"
echo "initrd=$out/initrd.img"
