# A member that was away resyncs only what changed (write-intent bitmap),
# and a silent partition fails it out within the nbd timeout.
for i in 1 2 3; do node_create $i; done
for i in 1 2 3; do activate $i; done
kit 1 start "$(peers 2 3)" || fail "create on n1"
t=$(now); md_wait 1; log "RESULT full-resync $(( $(blockdev --getsize64 /dev/md11) / 1048576 ))MiB $(since $t)s"
kit 1 check || fail "check"
expect_init 1
write_data 1 0 8
t=$(now); wait_bitmap_clean 1; log "RESULT bitmap-clean-after $(since $t)s"

# Round 1: n3 is cut off silently while n1 writes.
partition 3
t=$(now); write_data 1 8 1; log "RESULT partition-write-blocked $(since $t)s (nbd_timeout 5s)"
fixture detail-faulty.txt mdadm --detail /dev/md11
kit 1 check || fail "check after the partition"
write_data 1 9 3
dirty=$(dirty_chunks 1)
fixture examine-bitmap.txt mdadm --examine-bitmap /dev/loop1
heal 3
t=$(now); kit 1 join SRRD_PEER=$(rid 3) || fail "join n3"; md_wait 1
log "RESULT resync changed=4MiB dirty=${dirty} $(since $t)s"
kit 1 check || fail "check"
verify 1

# Round 2: n3 leaves (srrd's leave primitive) while 16 MiB change.
wait_bitmap_clean 1
kit 1 leave SRRD_PEER=$(rid 3) || fail "leave n3"
write_data 1 16 16
dirty=$(dirty_chunks 1)
t=$(now); kit 1 join SRRD_PEER=$(rid 3) || fail "join n3"
fixture detail-recovering.txt mdadm --detail /dev/md11
fixture mdstat-recovering.txt cat /proc/mdstat
md_wait 1
log "RESULT resync changed=16MiB dirty=${dirty} $(since $t)s"
kit 1 check || fail "check"
kit 1 status
verify 1
# n3's copy alone must hold every byte too: fail the other two out.
mdadm /dev/md11 --fail /dev/loop1 >/dev/null && mdadm /dev/md11 --fail /dev/nbd1 >/dev/null
verify 1
log "resync OK"
