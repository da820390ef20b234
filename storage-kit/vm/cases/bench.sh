# Failover of a service that keeps its data on a 512 MiB mirror
# (docs/benchmarks.md): from the crash of the active node until the next
# node has assembled the mirror, mounted its ext4 file system and read the
# last file written before the crash.
ROUNDS=${ROUNDS:-10}
for i in 1 2 3; do node_create $i; mkdir -p /tmp/n$i/mnt; done
for i in 1 2 3; do activate $i; done
kit 1 start "$(peers 2 3)" || fail "create on n1"
t=$(now); md_wait 1; log "RESULT initial-resync $(( $(blockdev --getsize64 /dev/md11) / 1048576 ))MiB $(since $t)s"
mkfs.ext4 -q /dev/md11 && mount /dev/md11 /tmp/n1/mnt || fail "mkfs"
kit 1 check >/dev/null || fail "check"
# Reference for the emulation's cost: the same steps run on the host too.
t=$(now); for k in $(seq 20); do srrd-raid1 --help >/dev/null; done; log "RESULT ref spawn20 $(since $t)s"
t=$(now); dd if=/dev/zero bs=1M count=256 2>/dev/null | sha256sum >/dev/null; log "RESULT ref sha256-256MiB $(since $t)s"
a=1
r=1
while [ $r -le $ROUNDS ]; do
    dd if=/dev/urandom of=/tmp/n$a/mnt/data.$r bs=1M count=4 conv=fsync 2>/dev/null || fail "write"
    sum=$(sha256sum < /tmp/n$a/mnt/data.$r)
    # Let md mark the array clean, so the crashed node rejoins by bitmap
    # and the next round starts without a full copy.
    sleep 1
    crash $a
    b=$(( a % 3 + 1 )); c=$(( b % 3 + 1 ))
    t=$(now)
    kit_until_done $b start "$(peers $c)" >/dev/null || fail "round $r: takeover on n$b"
    t1=$(now)
    mount /dev/md1$b /tmp/n$b/mnt || fail "round $r: mount"
    t2=$(now)
    [ "$(sha256sum < /tmp/n$b/mnt/data.$r)" = "$sum" ] || fail "round $r: data"
    log "RESULT failover round=$r kit-start=$(awk -v a=$t -v b=$t1 'BEGIN{printf "%.2f", b-a}')s mount=$(awk -v a=$t1 -v b=$t2 'BEGIN{printf "%.2f", b-a}')s total=$(since $t)s"
    boot $a; activate $a
    t=$(now); kit $b join SRRD_PEER=$(rid $a) || fail "round $r: join"; md_wait $b
    log "RESULT rejoin round=$r $(since $t)s"
    kit $b check >/dev/null || fail "round $r: check"
    a=$b
    r=$((r + 1))
done
log "bench OK"
