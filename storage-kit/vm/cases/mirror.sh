# Build the mirror over three nodes, write a known data set, kill the
# active node, take over on another, verify every byte; the node comes back.
for i in 1 2 3; do node_create $i; done
fixture examine-none.txt mdadm --examine /dev/loop3
t=$(now); for i in 1 2 3; do activate $i; done; log "RESULT activate3 $(since $t)s"
t=$(now)
kit 1 start "$(peers 2 3)" || fail "create on n1"
log "RESULT create $(since $t)s"
t=$(now); md_wait 1; log "RESULT initial-resync ${SIZE_MB}MiB $(since $t)s"
kit 1 check || fail "check n1"
fixture examine-in-sync.txt mdadm --examine /dev/loop1
fixture detail-clean.txt mdadm --detail /dev/md11
expect_init 1
t=$(now); write_data 1 0 $(( $(stat -c %s /tmp/expect.img) / 1048576 )); log "RESULT write-all $(since $t)s"
verify 1
sleep 0.5
crash 1
t=$(now)
# The takeover goes through the example Makefile, as srrd would run it.
make_primitive 2 start "$(peers 3)" || fail "takeover on n2"
log "RESULT takeover $(since $t)s"
t=$(now); verify 2; log "RESULT verify $(since $t)s"
kit 2 status
boot 1
activate 1
fixture examine-after-crash.txt mdadm --examine /dev/loop1
kit 2 join SRRD_PEER=$(rid 1) || fail "join n1"
fixture detail-recovering.txt mdadm --detail /dev/md12
fixture mdstat-recovering.txt cat /proc/mdstat
md_wait 2
kit 2 check || fail "check n2"
kit 2 status
verify 2
log "mirror OK"
