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

# ----- srrd and FRR (srrd.sh) -----------------------------------------------
# The VM's root namespace is the router r1 (router id 10.255.0.254) between
# the nodes' subnets 10.99.I.0/24; every node runs zebra, `ospfd -a` and
# srrd with the group `files`: the `disk` mirror and `records`, which
# depends on it (docs/storage.md, "End to end with srrd").
FRR=/usr/bin
VIP=192.0.2.50

# frr_conf NAME ROUTER_ID PRIORITY "IFACES" NETWORK...: FRR's fast profile
# (docs/frr.md): hello 250 ms, dead interval 1 s, no LSA throttling.
frr_conf() {
    name=$1; rid=$2; prio=$3; ifaces=$4; shift 4
    d=/tmp/frr/$name
    mkdir -p $d
    printf 'hostname %s\nlog file %s/zebra.log informational\n' $name $d > $d/zebra.conf
    {
        printf 'hostname %s\nlog file %s/ospfd.log informational\nlog timestamp precision 6\n' $name $d
        for ifc in $ifaces; do
            printf 'interface %s\n ip ospf priority %s\n ip ospf dead-interval minimal hello-multiplier 4\nexit\n' $ifc $prio
        done
        printf 'router ospf\n ospf router-id %s\n capability opaque\n log-adjacency-changes detail\n' $rid
        printf ' timers throttle spf 0 50 500\n timers throttle lsa all 0\n timers lsa min-arrival 0\n'
        for n in "$@"; do printf ' network %s area 0\n' $n; done
        echo exit
    } > $d/ospfd.conf
    chown -R frr:frr $d
}

# frr_start NAME [nsenter ...]: zebra, then ospfd with its API server; done
# once the API server listens (TCP 2607).
frr_start() {
    name=$1; shift
    d=/tmp/frr/$name
    rm -f $d/zserv.api
    for daemon in zebra ospfd; do
        extra=""; [ $daemon = ospfd ] && extra=-a
        "$@" $FRR/$daemon $extra -f $d/$daemon.conf -i $d/$daemon.pid --vty_socket $d \
            -z $d/zserv.api -A 127.0.0.1 -P 0 </dev/null >>$d/$daemon.out 2>&1 &
        n=0
        while :; do
            if [ $daemon = zebra ]; then [ -S $d/zserv.api ] && break
            else "$@" cat /proc/net/tcp | grep -q ':0A2F 00000000:0000 0A' && break; fi
            n=$((n + 1)); [ $n -lt 300 ] || { cat $d/$daemon.out $d/$daemon.log; fail "$daemon of $name does not start"; }
            sleep 0.1
        done
    done
}

# full_count I: how often r1's adjacency to node I reached Full (its log;
# vtysh needs PAM, which the guest has not).
full_count() { grep -c "Nbr $(rid $1), .*-> Full" /tmp/frr/r1/ospfd.log 2>/dev/null; }

router_start() {
    frr_conf r1 10.255.0.254 255 "v1 v2 v3" 10.99.0.0/16
    frr_start r1
}

# srrd_node_create I: the node with its FRR and srrd configuration.
srrd_node_create() {
    i=$1
    node_create $i
    echo "0 $(blockdev --getsz /dev/loop$i) linear /dev/loop$i 0" | dmsetup create d$i --noudevsync && dmsetup mknodes d$i || fail "dmsetup create d$i"
    sed -i "s|^local_device = .*|local_device = \"/dev/mapper/d$i\"|" /tmp/n$i/raid1.toml
    frr_conf n$i $(rid $i) 0 e$i 10.99.$i.0/24 192.0.2.0/24
    mkdir -p /tmp/n$i/etc /tmp/n$i/srrd /tmp/n$i/mnt
    sed "s|/etc/srrd/raid1.toml|/tmp/n$i/raid1.toml|" /test/disk.mk > /tmp/n$i/etc/disk.mk
    sed -e "s|@DEV@|/dev/md1$i|" -e "s|@DIR@|/tmp/n$i/mnt|" /test/records.mk > /tmp/n$i/etc/records.mk
    cat > /tmp/n$i/srrd.toml <<TOML
[node]
name = "n$i"
router_id = "$(rid $i)"
state_dir = "/tmp/n$i/srrd"
# srrd starts on the three nodes together, but under emulation their OSPF
# API sessions come up seconds apart.
startup_hold = "5s"

[[service]]
name = "disk"
kind = "resource"
group = "files"
primitives = "/tmp/n$i/etc/disk.mk"
check_interval = "2s"

[service.timeouts]
activate = "2m"
start = "2m"
stop = "1m"
check = "30s"

[[service]]
name = "records"
addresses = ["$VIP"]
group = "files"
depends = ["disk"]
critical = true
primitives = "/tmp/n$i/etc/records.mk"
check_interval = "2s"

[service.timeouts]
check = "30s"
TOML
}

# frr_up I: FRR on node I, until r1 has it as a Full neighbour.
frr_up() {
    before=$(full_count $1)
    frr_start n$1 nsenter --net=/run/netns/n$1
    n=0
    until [ "$(full_count $1)" -gt "$before" ]; do
        n=$((n + 1)); [ $n -lt 600 ] || { grep AdjChg /tmp/frr/r1/ospfd.log; fail "n$1 is no Full neighbour of r1"; }
        sleep 0.1
    done
}

srrd_up() {
    nsenter --net=/run/netns/n$1 env NO_COLOR=1 srrd run --config /tmp/n$1/srrd.toml --log srrd=debug \
        </dev/null >>/tmp/n$1/srrd.log 2>&1 &
}

# srrd_crash I: node I loses power while it serves writes. Its disk
# (/dev/mapper/dI, a linear map over its loop device) stops first: I/O in
# flight is held and then fails, so the disk keeps exactly what it had
# acknowledged. Then its processes die and its link goes down at once.
srrd_crash() {
    i=$1
    dmsetup suspend --noflush --noudevsync d$i
    crashed_at=$(now)
    rm -f /tmp/clock; : > /tmp/clock
    crash_clock=$(stat -c %y /tmp/clock | cut -d' ' -f2)
    for p in $(ip netns pids n$i); do kill -9 $p 2>/dev/null; done
    ip -n n$i link set e$i down
    dmsetup load d$i --table "0 $(blockdev --getsz /dev/loop$i) error" && dmsetup resume --noudevsync d$i
    sleep 0.2
    ! mountpoint -q /tmp/n$i/mnt || umount -l /tmp/n$i/mnt
    [ -e /sys/block/md1$i/md/array_state ] && mdadm --stop /dev/md1$i >/dev/null 2>&1
    for d in 0 1 2; do nbd-client -d /dev/nbd$(( (i - 1) * 3 + d )) >/dev/null 2>&1; done
    log "n$i crashed"
}

# srrd_boot I: power on: the disk as it was, no service address on lo, no
# pid files; FRR and srrd start.
srrd_boot() {
    i=$1
    dmsetup suspend --noudevsync d$i
    dmsetup load d$i --table "0 $(blockdev --getsz /dev/loop$i) linear /dev/loop$i 0"
    dmsetup resume --noudevsync d$i
    ip -n n$i link set e$i up
    ip -n n$i route add default via 10.99.$i.1
    ip neigh flush dev v$i
    ip -n n$i addr del $VIP/32 dev lo 2>/dev/null
    rm -f /tmp/n$i/srrd/services/records/recordd.pid
    frr_up $i
    srrd_up $i
}

# The node whose array runs (the group's node), or nothing.
active_node() {
    for j in 1 2 3; do [ -e /sys/block/md1$j/md/array_state ] && echo $j; done
}

# wait_group I TIMEOUT_S: until node I runs the group (recordd answers on
# its mount) and holds the VIP.
wait_group() {
    n=0
    while ! { ip -n n$1 addr show dev lo | grep -q "$VIP/32" && [ -s /tmp/n$1/srrd/services/records/recordd.pid ]; }; do
        n=$((n + 1)); [ $n -lt $(( $2 * 10 )) ] || { srrd_logs; fail "the group does not run on n$1 after $2 s"; }
        sleep 0.1
    done
}

# srrd_phases I CLOCK: from node I's srrd log, the takeover after a crash
# at wall clock CLOCK (HH:MM:SS.fraction): until srrd starts the group
# (detection), the kit's leave of the crashed peer, its start, the start of
# records (mount, recordd).
srrd_phases() {
    awk -v c="$2" '
        function s(t) { split(t, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
        BEGIN { c0 = s(c) }
        { t = s(substr($1, 12, 15)); if (t < c0) next }
        /state service=disk config=active run=starting/ && !st { st = t }
        /primitive ended service=disk primitive=leave/ && !le { le = t }
        /primitive ended service=disk primitive=start/ && !ds { ds = t }
        /state service=records config=active run=started/ && !rs { rs = t }
        END { printf "detect=%.2fs leave=%.2fs kit-start=%.2fs records-start=%.2fs", st - c0, le - st, ds - le, rs - ds }
    ' /tmp/n$1/srrd.log
}

srrd_logs() {
    for j in 1 2 3; do echo "--- n$j srrd"; tail -40 /tmp/n$j/srrd.log; done
}

# acked: the number of records acknowledged so far, and when the last was.
acked() { tail -1 /tmp/acks 2>/dev/null || echo "0 0"; }
