# Helpers for the VM cases (docs/storage.md, "Tests"). Nodes n1..n3 are
# network namespaces at 10.99.I.2, routed through the root namespace; node
# I's disk is /dev/loopI over /tmp/diskI.img, its array /dev/md1I.
set -u
SIZE_MB=${SIZE_MB:-64}
now() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[$(now)] $*"; }
fail() { log "FAIL: $*"; cat /proc/mdstat; dmesg | tail -30; exit 1; }
# seconds since $1 (an earlier `now`), with millisecond precision
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

echo 1 > /proc/sys/net/ipv4/ip_forward
echo 200000 > /proc/sys/dev/raid/speed_limit_min
echo 200000 > /proc/sys/dev/raid/speed_limit_max

rid() { echo "10.255.0.$1"; }

node_create() {
    i=$1
    ip netns add n$i
    ip link add v$i type veth peer name e$i
    ip link set e$i netns n$i
    ip addr add 10.99.$i.1/24 dev v$i
    ip link set v$i up
    ip -n n$i addr add 10.99.$i.2/24 dev e$i
    ip -n n$i link set e$i up
    ip -n n$i link set lo up
    ip -n n$i route add default via 10.99.$i.1
    truncate -s ${SIZE_MB}M /tmp/disk$i.img
    losetup /dev/loop$i /tmp/disk$i.img
    mkdir -p /tmp/n$i/state
    {
        echo "md_device = \"/dev/md1$i\""
        echo "local_device = \"/dev/loop$i\""
        echo "nbd_first = $(( (i - 1) * 3 ))"
        echo "state_dir = \"/tmp/n$i/state\""
        for j in 1 2 3; do
            printf '[[node]]\nname = "n%s"\nrouter_id = "%s"\naddress = "10.99.%s.2"\n' $j "$(rid $j)" $j
        done
    } > /tmp/n$i/raid1.toml
}

# kit I COMMAND [VAR=VALUE...]: the kit as srrd would run it on node I
kit() {
    i=$1; cmd=$2; shift 2
    env SRRD_SERVICE=disk SRRD_NODE=n$i "$@" nsenter --net=/run/netns/n$i srrd-raid1 --config /tmp/n$i/raid1.toml "$cmd"
}

# peers I J...: SRRD_PEERS for the given nodes
peers() { p=""; for j in "$@"; do p="$p $(rid $j)"; done; echo "SRRD_PEERS=${p# }"; }

# Runs a primitive until it stops answering recall (75), like srrd.
kit_until_done() {
    n=0
    while :; do
        kit "$@"; rc=$?
        [ $rc = 75 ] || return $rc
        n=$((n + 1)); [ $n -lt 200 ] || return 75
        sleep 0.2
    done
}

activate() { kit_until_done $1 activate || fail "activate n$1"; }

md_wait() { mdadm --wait /dev/md1$1 >/dev/null 2>&1; while grep -q -E 'resync|recovery' /proc/mdstat; do sleep 0.1; done; }

# crash I: the node stops dead. Its disk keeps what it held at that moment
# (a copy taken first, put back after the kernel's md is torn down: the
# nodes share one kernel here).
crash() {
    i=$1
    cp /tmp/disk$i.img /tmp/disk$i.crash || fail "crash copy of n$i (out of memory?)"
    ip -n n$i link set e$i down
    for p in $(ip netns pids n$i); do kill -9 $p 2>/dev/null; done
    sleep 0.2
    ! mountpoint -q /tmp/n$i/mnt || umount -l /tmp/n$i/mnt
    [ -e /sys/block/md1$i/md/array_state ] && mdadm --stop /dev/md1$i >/dev/null 2>&1
    for d in 0 1 2; do nbd-client -d /dev/nbd$(( (i - 1) * 3 + d )) >/dev/null 2>&1; done
    losetup -d /dev/loop$i
    mv /tmp/disk$i.crash /tmp/disk$i.img
    log "n$i crashed"
}

# boot I: power the crashed node on again (its export is not started yet)
boot() {
    i=$1
    losetup /dev/loop$i /tmp/disk$i.img
    ip -n n$i link set e$i up
    ip -n n$i route add default via 10.99.$i.1
    # Forget the failed ARP entry from while it was down (a switch would
    # learn the returning node at once).
    ip neigh flush dev v$i
}

# The expected content of the array, kept beside it.
expect_init() { truncate -s "$(blockdev --getsize64 /dev/md1$1)" /tmp/expect.img; }

# write_data I OFFSET_MB COUNT_MB: random data to node I's array and to the copy
write_data() {
    dd if=/dev/urandom of=/tmp/chunk bs=1M count=$3 2>/dev/null
    dd if=/tmp/chunk of=/dev/md1$1 bs=1M seek=$2 oflag=direct conv=fsync,notrunc 2>/dev/null || fail "write to md1$1"
    dd if=/tmp/chunk of=/tmp/expect.img bs=1M seek=$2 conv=notrunc 2>/dev/null
}

# verify I: every byte of node I's array against the copy
verify() {
    cmp -n "$(stat -c %s /tmp/expect.img)" /dev/md1$1 /tmp/expect.img || fail "data differs on md1$1"
}

fixture() { echo "@@FIXTURE $1"; shift; "$@" 2>&1; echo "@@END"; }

# partition I: node I's link goes down; packets to it are dropped silently.
partition() { ip -n n$1 link set e$1 down; }
heal() { ip -n n$1 link set e$1 up; ip -n n$1 route add default via 10.99.$1.1; }

# Dirty chunks in the write-intent bitmap of node I's disk.
dirty_chunks() { mdadm --examine-bitmap /dev/loop$1 | sed -n 's/.*Bitmap : [0-9]* bits (chunks), \([0-9]*\) dirty.*/\1/p'; }

# md clears bitmap bits a few seconds after the writes reached every member.
wait_bitmap_clean() {
    n=0
    while [ "$(dirty_chunks $1)" != 0 ]; do
        n=$((n + 1)); [ $n -lt 300 ] || fail "bitmap of n$1 never got clean"
        sleep 0.1
    done
}

# make_primitive I TARGET [VAR=VALUE...]: the example Makefile
# (examples/disk.mk) run the way srrd runs it: `make -s -f FILE TARGET` in
# the file's directory, with only PATH and SRRD_* in the environment.
make_primitive() {
    i=$1; target=$2; shift 2
    mkdir -p /tmp/n$i/etc
    sed "s|/etc/srrd/raid1.toml|/tmp/n$i/raid1.toml|" /test/disk.mk > /tmp/n$i/etc/disk.mk
    (cd /tmp/n$i/etc && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        SRRD_SERVICE=disk SRRD_PRIMITIVE=$target SRRD_NODE=n$i SRRD_ROUTER_ID=$(rid $i) SRRD_KIND=resource \
        SRRD_STATE_DIR=/tmp/n$i/srrd-state SRRD_PEERS= SRRD_ADDRESSES= "$@" \
        nsenter --net=/run/netns/n$i make -s -f /tmp/n$i/etc/disk.mk $target)
}
