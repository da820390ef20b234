# End to end with srrd (docs/storage.md, "End to end with srrd"): FRR and
# srrd on three nodes in three subnets, the group `files` (the `disk`
# mirror and `records`, which keeps acknowledged records on it). A client
# in r1 writes records to the service address without a pause; the node
# that runs the group crashes; the group comes up on another node with
# every acknowledged record. ROUNDS > 1: the crashed node boots again,
# rejoins the mirror, and the next round crashes the new active node.
ROUNDS=${ROUNDS:-1}
for i in 1 2 3; do srrd_node_create $i; done
router_start
t=$(now)
for i in 1 2 3; do frr_up $i; done
log "RESULT ospf-full $(since $t)s"
# srrd starts on the three nodes together, as after a power cut: they
# place the group by the rules (highest router id) within startup_hold.
t=$(now)
for i in 1 2 3; do srrd_up $i; done
n=0
while [ -z "$(active_node)" ]; do
    n=$((n + 1)); [ $n -lt 1800 ] || { srrd_logs; fail "no node started the group"; }
    sleep 0.1
done
a=$(active_node)
wait_group $a 120
log "RESULT group-up n$a $(since $t)s"
t=$(now); md_wait $a; log "RESULT initial-resync $(since $t)s"
grep AdjChg /tmp/frr/r1/ospfd.log
ip route show $VIP
if [ -n "${REF:-}" ]; then
    # The emulation's cost (docs/benchmarks.md): the host runs these too.
    t=$(now); for k in $(seq 20); do srrd-raid1 --help >/dev/null; done; log "RESULT ref spawn20 $(since $t)s"
    t=$(now); dd if=/dev/zero bs=1M count=256 2>/dev/null | sha256sum >/dev/null; log "RESULT ref sha256-256MiB $(since $t)s"
fi
recordd client $VIP:7000 /tmp/acks </dev/null >/tmp/client.log 2>&1 &
client=$!
# acked_since T: the number of records acknowledged after uptime T
acked_since() { awk -v t="$1" '$2 > t { n++ } END { print n + 0 }' /tmp/acks 2>/dev/null || echo 0; }
wait_acks() {
    n=0
    while [ "$(acked_since $1)" -lt $2 ]; do
        n=$((n + 1)); [ $n -lt $(( $3 * 10 )) ] || { srrd_logs; cat /tmp/client.log; fail "fewer than $2 records acknowledged after $3 s"; }
        sleep 0.1
    done
}
wait_acks 0 50 120
r=1
while [ $r -le $ROUNDS ]; do
    srrd_crash $a
    before=$(acked | cut -d' ' -f1)
    b=""
    n=0
    while [ -z "$b" ]; do
        n=$((n + 1)); [ $n -lt 1200 ] || { srrd_logs; fail "round $r: no node took the group over"; }
        sleep 0.05
        b=$(active_node)
    done
    wait_group $b 120
    group=$(since $crashed_at)
    wait_acks $crashed_at 1 120
    first=$(awk -v t="$crashed_at" '$2 > t { print $2; exit }' /tmp/acks)
    log "RESULT failover round=$r from=n$a to=n$b acked-before=$before group-up=${group}s first-ack=$(awk -v a=$crashed_at -v b=$first 'BEGIN { printf "%.2f", b - a }')s $(srrd_phases $b $crash_clock)"
    ip route show $VIP
    log "n$b's srrd after the crash (at $crash_clock):"
    grep -E 'state service|primitive (started|ended)|VIP' /tmp/n$b/srrd.log | grep -v primitive=check | tail -14
    wait_acks $crashed_at 20 120
    if [ $r -lt $ROUNDS ]; then
        # A power-on: no service address on lo, FRR and srrd start again;
        # srrd on n$b joins its disk to the mirror, which resyncs.
        t=$(now)
        srrd_boot $a
        n=0
        until [ "$(cat /sys/block/md1$b/md/degraded)" = 0 ] && ! grep -q -E 'resync|recovery' /proc/mdstat; do
            n=$((n + 1)); [ $n -lt 3000 ] || { srrd_logs; cat /proc/mdstat; mdadm --detail /dev/md1$b; fail "round $r: n$a does not rejoin"; }
            sleep 0.1
        done
        log "RESULT rejoin round=$r n$a $(since $t)s"
    fi
    a=$b
    r=$((r + 1))
done
kill $client
sleep 0.5
v=$(recordd verify /tmp/n$a/mnt/records /tmp/acks) || fail "records lost: $v"
log "RESULT records $v"
log "srrd OK"
