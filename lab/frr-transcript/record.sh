#!/usr/bin/env bash
# Records OSPF API transcripts from real FRR ospfd into srrd/tests/transcripts/.
#
# Two network namespaces, srrdtr-a and srrdtr-b, joined by a veth on
# 198.51.100.0/24, each running zebra + ospfd -a (FRR 8.4). recorder.py on A
# originates, updates and deletes opaque LSAs (type 10, opaque type 222);
# recorder.py on B syncs state and records the notifications, then A's ospfd
# is SIGKILLed so B records the peer becoming unreachable.
#
# Needs root and the Debian packages frr and frr-pythontools (for reference
# only). Touches nothing in the root namespace. Every process it starts is
# killed by PID, and the namespaces and the temp dir are removed on exit,
# also on failure.
#
# Usage: sudo lab/frr-transcript/record.sh [OUT_DIR]   (default srrd/tests/transcripts)
#        SRRDTR_KEEP=1 keeps the temp dir (configs, daemon logs) for a look.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/srrd/tests/transcripts}
FRR=/usr/lib/frr
NS_A=srrdtr-a
NS_B=srrdtr-b
RID_A=10.255.0.1
RID_B=10.255.0.2
ADDR_A=198.51.100.1
ADDR_B=198.51.100.2

DAEMONS=()        # zebra/ospfd PIDs, in start order
RECORDERS=()      # recorder.py PIDs
CREATED_NS=()     # namespaces this run created
TMP=""

log() { printf '%s record.sh: %s\n' "$(date +%T.%3N)" "$*" >&2; }

stop_pid() { # pid: TERM, up to 5 s, then KILL; reaps it
    local pid=$1
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}

cleanup() {
    local rc=$?
    set +e
    # Recorders first, and give ospfd a moment to see them go: FRR 8.4's
    # ospfd aborts on SIGTERM while an API client is registered.
    local pid i
    for pid in "${RECORDERS[@]}"; do stop_pid "$pid"; done
    [[ ${#RECORDERS[@]} -gt 0 ]] && sleep 0.5
    # Then ospfd before the zebra it talks to.
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        pid=${DAEMONS[i]}
        stop_pid "$pid"
        # FRR keeps a per-process dir there that only a clean exit removes.
        rm -rf "/var/tmp/frr/zebra.$pid" "/var/tmp/frr/ospfd.$pid"
    done
    for ns in "${CREATED_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [[ $rc -ne 0 && -n "$TMP" ]]; then
        log "failed (exit $rc); last lines of the logs:"
        for f in "$TMP"/*.out "$TMP"/*/*.log "$TMP"/run/*.body; do
            [[ -s $f ]] && { echo "==> $f" && tail -n 15 "$f"; } >&2
        done
    fi
    if [[ -n "$TMP" ]]; then
        if [[ -n ${SRRDTR_KEEP:-} ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $EUID -eq 0 ]] || { log "must run as root"; exit 1; }
[[ -x $FRR/ospfd && -x $FRR/zebra ]] || { log "FRR not installed (apt-get install -y frr frr-pythontools)"; exit 1; }
for ns in $NS_A $NS_B; do
    if ip netns list | grep -qw "$ns"; then
        log "namespace $ns exists: another recording is running, or a leftover (ip netns del $ns)"
        exit 1
    fi
done

TMP=$(mktemp -d /tmp/srrdtr.XXXXXX)
chmod 755 "$TMP"

# --- namespaces and the veth (created inside the namespaces) ---------------
for ns in $NS_A $NS_B; do
    ip netns add "$ns"
    CREATED_NS+=("$ns")
    ip -n "$ns" link set lo up
done
ip -n $NS_A link add eth0 type veth peer name eth0 netns $NS_B
ip -n $NS_A addr add $ADDR_A/24 dev eth0
ip -n $NS_B addr add $ADDR_B/24 dev eth0
ip -n $NS_A link set eth0 up
ip -n $NS_B link set eth0 up

# --- FRR per node ------------------------------------------------------------
write_conf() { # node rid
    local node=$1 rid=$2 dir=$TMP/$1
    mkdir -p "$dir"
    cat >"$dir/zebra.conf" <<EOF
hostname srrdtr-$node-zebra
log file $dir/zebra.log informational
EOF
    cat >"$dir/ospfd.conf" <<EOF
hostname srrdtr-$node-ospfd
log file $dir/ospfd.log informational
log timestamp precision 6
interface eth0
 ip ospf dead-interval minimal hello-multiplier 4
router ospf
 ospf router-id $rid
 capability opaque
 log-adjacency-changes detail
 timers throttle spf 0 50 500
 timers lsa min-arrival 0
 network 198.51.100.0/24 area 0
EOF
    # The daemons drop to user frr.
    chown -R frr:frr "$dir"
}

start_daemon() { # node ns daemon [extra args]
    local node=$1 ns=$2 daemon=$3 dir=$TMP/$1
    shift 3
    # `ip netns exec` execs the daemon, so $! is the daemon's PID. No -d:
    # the daemon stays our child and its PID stays ours to kill.
    ip netns exec "$ns" "$FRR/$daemon" "$@" -f "$dir/$daemon.conf" \
        -i "$dir/$daemon.pid" --vty_socket "$dir" \
        -z "$dir/zserv.api" -A 127.0.0.1 -P 0 \
        >"$TMP/$node-$daemon.out" 2>&1 &
    DAEMONS+=($!)
    eval "PID_${node^^}_${daemon^^}=$!"
}

vty() { # node ns command
    ip netns exec "$2" vtysh --vty_socket "$TMP/$1" -c "$3"
}

write_conf a $RID_A
write_conf b $RID_B
for node in a b; do
    ns=srrdtr-$node
    start_daemon $node "$ns" zebra
    for _ in $(seq 50); do [[ -S $TMP/$node/zserv.api ]] && break; sleep 0.1; done
    start_daemon $node "$ns" ospfd -a
done

log "waiting for a Full adjacency"
full=""
for _ in $(seq 120); do
    if vty a $NS_A 'show ip ospf neighbor' 2>/dev/null | grep -q "^$RID_B .*Full" &&
        vty b $NS_B 'show ip ospf neighbor' 2>/dev/null | grep -q "^$RID_A .*Full"; then
        full=1
        break
    fi
    sleep 0.5
done
[[ -n $full ]] || { log "no Full adjacency within 60 s"; vty a $NS_A 'show ip ospf neighbor' >&2 || true; exit 1; }
# Let the SPF after Full run, so B's SYNC_REACHABLE already lists A.
sleep 1
vty b $NS_B 'show ip ospf neighbor' >&2

# --- recording ---------------------------------------------------------------
ospfd_version=$("$FRR/ospfd" --version | head -n 1)
frr_package=$(dpkg-query -W -f '${Version}' frr 2>/dev/null || echo unknown)
header() { # role description
    cat <<EOF
# OSPF API transcript recorded from real $ospfd_version (Debian frr $frr_package)
# by lab/frr-transcript/record.sh on $(date -u +%F).
# Topology: namespaces $NS_A ($ADDR_A, router-id $RID_A) and $NS_B ($ADDR_B,
# router-id $RID_B) on one veth, area 0, dead interval 1 s, capability opaque.
# This file: $1 on $2.
# Lines: "tx sync <hex>" = whole request sent; "rx sync|async <hex>" = one
# recv() chunk as delivered (frames may span lines); "#" = recorder notes.
EOF
}

RUN=$TMP/run
mkdir -p "$RUN"
ip netns exec $NS_B python3 "$HERE/recorder.py" observer "$RUN/observer.body" \
    --ready-file "$RUN/observer.ready" --phase-file "$RUN/observer.phase1" \
    --peer $RID_A >"$TMP/observer.out" 2>&1 &
observer=$!
RECORDERS+=($observer)
for _ in $(seq 100); do [[ -e $RUN/observer.ready ]] && break; sleep 0.1; done
[[ -e $RUN/observer.ready ]] || { log "observer did not sync"; exit 1; }

log "originator: originate / update / delete on $NS_A (about 70 s)"
ip netns exec $NS_A python3 "$HERE/recorder.py" originator "$RUN/originator.body" \
    >"$TMP/originator.out" 2>&1 &
originator=$!
RECORDERS+=($originator)
# In the background + wait, so INT/TERM interrupt the wait and clean up at once.
wait $originator || { log "originator failed"; exit 1; }

log "observer: waiting for the MaxAge deletes"
for _ in $(seq 1100); do
    [[ -e $RUN/observer.phase1 ]] && break
    kill -0 $observer 2>/dev/null || break
    sleep 0.1
done
[[ -e $RUN/observer.phase1 ]] || { log "observer stopped early"; exit 1; }

# A node dying without carrier loss: B must notice by the dead interval.
log "SIGKILL ospfd on $NS_A (pid $PID_A_OSPFD)"
kill -KILL "$PID_A_OSPFD"
wait "$PID_A_OSPFD" 2>/dev/null || true
if ! wait $observer; then
    log "observer failed"
    exit 1
fi

mkdir -p "$OUT"
{ header "the originator (recorder.py originator)" "$NS_A"; cat "$RUN/originator.body"; } >"$OUT/originator.txt"
{ header "the observer (recorder.py observer)" "$NS_B"; cat "$RUN/observer.body"; } >"$OUT/observer.txt"
log "wrote $OUT/originator.txt and $OUT/observer.txt"
