# Takeovers in a row, each after a crash of the active node, with every byte
# checked after each one.
ROUNDS=${ROUNDS:-20}
for i in 1 2 3; do node_create $i; done
for i in 1 2 3; do activate $i; done
kit 1 start "$(peers 2 3)" || fail "create on n1"
md_wait 1; kit 1 check || fail "check"
expect_init 1
a=1
r=1
while [ $r -le $ROUNDS ]; do
    write_data $a $(( r % 6 )) 1
    crash $a
    b=$(( a % 3 + 1 )); c=$(( b % 3 + 1 ))
    t=$(now)
    kit_until_done $b start "$(peers $c)" || fail "round $r: takeover on n$b"
    log "RESULT takeover round=$r n$a->n$b $(since $t)s"
    verify $b
    boot $a; activate $a
    kit $b join SRRD_PEER=$(rid $a) || fail "round $r: join n$a"
    md_wait $b
    kit $b check >/dev/null || fail "round $r: check"
    a=$b
    r=$((r + 1))
done
verify $a
log "RESULT takeovers=$ROUNDS bytes-lost=0"
