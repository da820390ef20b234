# "The last two nodes switched off and on in the other order": the stale
# node waits for the freshest one instead of syncing the wrong way; a
# forced start works and is logged.
for i in 1 2 3; do node_create $i; done
for i in 1 2 3; do activate $i; done
kit 1 start "$(peers 2 3)" || fail "create on n1"
md_wait 1; kit 1 check || fail "check"
expect_init 1
write_data 1 0 4
crash 3
kit 1 leave SRRD_PEER=$(rid 3) || fail "leave n3"
write_data 1 4 4
cp /tmp/expect.img /tmp/expect-n1.img
crash 1
kit_until_done 2 start "SRRD_PEERS=" || fail "n2 takes over alone"
write_data 2 8 4
fixture examine-alone.txt mdadm --examine /dev/loop2
crash 2
# n1 (stale: n2 went on without it) and n3 power on first.
boot 1; boot 3; activate 1; activate 3
kit 1 start "$(peers 3)"; rc=$?
[ $rc = 75 ] || fail "stale n1 started (rc $rc) instead of waiting"
kit 1 status | tee /tmp/status
grep -q "waiting: .*n2" /tmp/status || fail "status does not say it waits for n2"
log "RESULT stale-first waits (recall)"
# Keep this moment for the forced start below.
crash 1; crash 3
for i in 1 2 3; do cp /tmp/disk$i.img /tmp/saved$i.img; done
boot 1; boot 3; activate 1; activate 3
# n2 comes back: its copy is the source, n1 and n3 resync from it.
boot 2; activate 2
t=$(now); kit_until_done 1 start "$(peers 2 3)" || fail "start once n2 is back"
md_wait 1; kit 1 check || fail "check"
log "RESULT fresh-source-back start+resync $(since $t)s"
verify 1
kit 1 status
# The same moment again, and the operator forces n1.
crash 1; crash 2; crash 3
for i in 1 2 3; do cp /tmp/saved$i.img /tmp/disk$i.img; done
boot 1; boot 3; activate 1; activate 3
kit 1 start "$(peers 3)"; [ $? = 75 ] || fail "n1 did not wait"
kit 1 force-start "$(peers 3)" || fail "force-start"
grep -q "FORCED START of disk on n1" /tmp/n1/state/force.log || fail "forced start not logged"
cp /tmp/expect-n1.img /tmp/expect.img
verify 1
boot 2; activate 2
kit 1 join SRRD_PEER=$(rid 2) || fail "join n2"
md_wait 1; kit 1 check || fail "check"
kit 1 status
verify 1
log "RESULT forced start from n1 logged, n2 copied over"
log "stale OK"
