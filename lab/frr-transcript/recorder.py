#!/usr/bin/env python3
"""Minimal OSPF API client for FRR 8.4 ospfd that records every byte.

Run inside a node's network namespace by record.sh. Written from the wire
format (docs/ospf-api.md); FRR's ospfclient.py was only read for reference.

Transcript format, one line per socket operation:
    tx sync <hex>      bytes this client sent (always whole requests)
    rx sync <hex>      one recv() chunk from the sync channel (REPLYs)
    rx async <hex>     one recv() chunk from the async channel (notifications)
    # ...              comments: elapsed time and what the recorder was doing
rx chunks are recorded as the kernel delivered them, so a frame may span
lines and a line may hold several frames.
"""

import argparse
import os
import select
import socket
import struct
import sys
import time

API_PORT = 2607
HDR = struct.Struct(">BBHI")
LSA_HDR = struct.Struct(">HBBIIIHH")

REGISTER_OPAQUETYPE = 1
UNREGISTER_OPAQUETYPE = 2
REGISTER_EVENT = 3
SYNC_LSDB = 4
ORIGINATE_REQUEST = 5
DELETE_REQUEST = 6
SYNC_REACHABLE = 7
SYNC_ISM = 8
SYNC_NSM = 9
REPLY = 10
READY_NOTIFY = 11
LSA_UPDATE_NOTIFY = 12
LSA_DELETE_NOTIFY = 13
NSM_CHANGE = 17
REACHABLE_CHANGE = 18
SYNC_ROUTER_ID = 19

ORIGIN_ANY = 2
LSA_TYPE_OPAQUE_AREA = 10
OPAQUE_TYPE = 222
MAX_AGE = 3600


def typemask(*lsa_types):
    # Bit (t-1) selects type t (ospf_apiserver.c); ospfclient.py uses 1 << t.
    mask = 0
    for t in lsa_types:
        mask |= 1 << (t - 1)
    return mask


def lsa_filter(mask, origin=ORIGIN_ANY):
    return struct.pack(">HBB", mask, origin, 0)


class Transcript:
    def __init__(self, path):
        self.f = open(path, "w")
        self.t0 = time.monotonic()
        self.last = 0.0

    def _elapsed(self):
        now = time.monotonic() - self.t0
        quiet = now - self.last
        self.last = now
        return now, quiet

    def note(self, text):
        now, _ = self._elapsed()
        self.f.write("# +%.3fs %s\n" % (now, text))
        self.f.flush()

    def data(self, direction, channel, data):
        now, quiet = self._elapsed()
        # Time-stamp chunks that come after a pause, so a reader sees delays.
        if quiet > 0.010:
            self.f.write("# +%.3fs\n" % now)
        self.f.write("%s %s %s\n" % (direction, channel, data.hex()))
        self.f.flush()


class Frame:
    def __init__(self, mtype, seq, body):
        self.mtype, self.seq, self.body = mtype, seq, body

    def lsa(self):
        """(age, ls_id, adv_router, is_self, data) of an LSA notification."""
        is_self = self.body[8]
        age, _opt, _t, ls_id, adv, _seq, _ck, length = LSA_HDR.unpack_from(self.body, 12)
        return age, ls_id, adv, is_self, self.body[12 + 20 : 12 + length]


class Session:
    """One API session: the sync channel we connect, the async channel
    ospfd connects back to (client port + 1)."""

    def __init__(self, transcript, server="127.0.0.1", timeout=10.0):
        self.tr = transcript
        self.seq = 0
        self.buf = {"sync": b"", "async": b""}
        self.frames = {"sync": [], "async": []}
        last_error = None
        for port in range(49152, 65534, 2):
            sync = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sync.bind((server, port))
                listener.bind((server, port + 1))
                # ospfd connects back from inside its accept handler: the
                # listener must exist before our connect.
                listener.listen(1)
                listener.settimeout(timeout)
                sync.settimeout(timeout)
                sync.connect((server, API_PORT))
                conn, peer = listener.accept()
            except OSError as e:
                # Any failure (not just EADDRINUSE): next port pair.
                last_error = e
                sync.close()
                listener.close()
                continue
            listener.close()
            self.sock = {"sync": sync, "async": conn}
            for s in self.sock.values():
                s.settimeout(None)
            self.tr.note(
                "connected: sync %s:%d -> %s:%d, async from %s:%d to port %d"
                % (server, port, server, API_PORT, peer[0], peer[1], port + 1)
            )
            return
        raise RuntimeError("cannot connect to the OSPF API: %s" % last_error)

    def close(self):
        for s in self.sock.values():
            s.close()
        self.tr.note("closed")

    def _pump(self, deadline):
        """Reads whatever arrives before the deadline; False on timeout."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        by_fd = {s.fileno(): name for name, s in self.sock.items()}
        ready, _, _ = select.select(list(self.sock.values()), [], [], left)
        for s in ready:
            name = by_fd[s.fileno()]
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("ospfd closed the %s channel" % name)
            self.tr.data("rx", name, chunk)
            buf = self.buf[name] + chunk
            while len(buf) >= HDR.size:
                version, mtype, length, seq = HDR.unpack_from(buf)
                if version != 1:
                    raise RuntimeError("API version %d on %s" % (version, name))
                if len(buf) < HDR.size + length:
                    break
                self.frames[name].append(Frame(mtype, seq, buf[HDR.size : HDR.size + length]))
                buf = buf[HDR.size + length :]
            self.buf[name] = buf
        return True

    def request(self, mtype, body, what, timeout=10.0):
        """Sends a request and returns the REPLY's errcode."""
        self.seq += 1
        self.tr.note("request seq %d: %s" % (self.seq, what))
        msg = HDR.pack(1, mtype, len(body), self.seq) + body
        self.sock["sync"].sendall(msg)
        self.tr.data("tx", "sync", msg)
        deadline = time.monotonic() + timeout
        while not self.frames["sync"]:
            if not self._pump(deadline):
                raise TimeoutError("no REPLY to %s" % what)
        reply = self.frames["sync"].pop(0)
        if reply.mtype != REPLY or reply.seq != self.seq:
            raise RuntimeError("want REPLY seq %d, got type %d seq %d" % (self.seq, reply.mtype, reply.seq))
        errcode = struct.unpack_from(">b", reply.body)[0]
        self.tr.note("reply seq %d: errcode %d" % (self.seq, errcode))
        return errcode

    def request_ok(self, mtype, body, what):
        errcode = self.request(mtype, body, what)
        if errcode != 0:
            raise RuntimeError("%s failed: errcode %d" % (what, errcode))

    def wait(self, pred, what, timeout):
        """Consumes async frames until one matches; returns it or None."""
        deadline = time.monotonic() + timeout
        while True:
            while self.frames["async"]:
                frame = self.frames["async"].pop(0)
                if pred(frame):
                    self.tr.note("seen: %s" % what)
                    return frame
            if not self._pump(deadline):
                self.tr.note("not seen within %.1fs: %s" % (timeout, what))
                return None

    def must_wait(self, pred, what, timeout=10.0):
        frame = self.wait(pred, what, timeout)
        if frame is None:
            raise TimeoutError(what)
        return frame

    def drain(self, seconds):
        """Records whatever comes in the next `seconds`."""
        self.wait(lambda f: False, "(drain %.1fs)" % seconds, seconds)


def lsa_notify(mtype, ls_id, pred=lambda age, data, is_self: True):
    def match(f):
        if f.mtype != mtype:
            return False
        age, lsid, _adv, is_self, data = f.lsa()
        return lsid == ls_id and pred(age, data, is_self)

    return match


def lsid(opaque_id):
    return (OPAQUE_TYPE << 24) | opaque_id


def pad4(data):
    return data + b"\0" * (-len(data) % 4)


def originate(session, opaque_id, payload, what):
    data = pad4(payload)
    lsa = LSA_HDR.pack(0, 0, LSA_TYPE_OPAQUE_AREA, lsid(opaque_id), 0, 0, 0, 20 + len(data)) + data
    body = struct.pack(">II", 0, 0) + lsa  # ifaddr (type 9 only), area 0.0.0.0
    session.request_ok(ORIGINATE_REQUEST, body, what)
    return data


def delete(session, opaque_id, what):
    body = struct.pack(">IBBBBI", 0, LSA_TYPE_OPAQUE_AREA, OPAQUE_TYPE, 0, 0, opaque_id)
    return session.request(DELETE_REQUEST, body, what)


def run_originator(s, args):
    """Node A: registers type 10/222 and originates, updates (in place and
    by fresh id, SPEC 5) and deletes LSAs, watching its own notifications."""
    s.request_ok(REGISTER_EVENT, lsa_filter(typemask(LSA_TYPE_OPAQUE_AREA)), "REGISTER_EVENT type 10, origin any")
    s.request_ok(SYNC_ROUTER_ID, b"\0" * 4, "SYNC_ROUTER_ID")
    s.must_wait(lambda f: f.mtype == 20, "ROUTER_ID_CHANGE")
    s.request_ok(REGISTER_OPAQUETYPE, struct.pack(">BBH", LSA_TYPE_OPAQUE_AREA, OPAQUE_TYPE, 0), "REGISTER_OPAQUETYPE 10/222")
    s.must_wait(lambda f: f.mtype == READY_NOTIFY and f.body[:2] == bytes([10, 222]), "READY_NOTIFY 10/222")
    errcode = s.request(REGISTER_OPAQUETYPE, struct.pack(">BBH", LSA_TYPE_OPAQUE_AREA, OPAQUE_TYPE, 0), "REGISTER_OPAQUETYPE 10/222 again (expect an error)")
    s.tr.note("duplicate register errcode %d" % errcode)

    v1 = originate(s, 1, b"srrd transcript v1", "ORIGINATE 222.0.0.1 v1")
    s.must_wait(lsa_notify(LSA_UPDATE_NOTIFY, lsid(1), lambda a, d, me: d == v1 and me), "self UPDATE 222.0.0.1 v1")
    # ospfd holds an in-place update until 5 s after the previous origination
    # (notes, pitfall 8); wait that out so the update goes straight through.
    s.drain(5.5)
    v2 = originate(s, 1, b"srrd transcript v2: in-place update", "ORIGINATE 222.0.0.1 v2 (same LSID)")
    s.must_wait(lsa_notify(LSA_UPDATE_NOTIFY, lsid(1), lambda a, d, me: d == v2), "self UPDATE 222.0.0.1 v2")
    # srrd's way (SPEC 5): new state under a fresh id, then drop the old one.
    v3 = originate(s, 2, b"srrd transcript v3: fresh opaque id", "ORIGINATE 222.0.0.2 v3 (fresh id)")
    s.must_wait(lsa_notify(LSA_UPDATE_NOTIFY, lsid(2), lambda a, d, me: d == v3), "self UPDATE 222.0.0.2 v3")
    if delete(s, 1, "DELETE 222.0.0.1") != 0:
        raise RuntimeError("delete failed")
    errcode = delete(s, 3, "DELETE 222.0.0.3 (never originated; expect an error)")
    s.tr.note("delete of unknown LSA errcode %d" % errcode)
    if delete(s, 2, "DELETE 222.0.0.2") != 0:
        raise RuntimeError("delete failed")
    # Remote clients get a DELETE at once; the first recording showed the
    # originator getting none within 40 s, so wait for the MaxAge removal
    # (60 s after the flush on the observer) to see whether one comes.
    deleted = set()

    def both_deleted(f):
        if f.mtype == LSA_DELETE_NOTIFY:
            deleted.add(f.lsa()[1])
        return {lsid(1), lsid(2)} <= deleted

    s.wait(both_deleted, "self DELETE of 222.0.0.1 and 222.0.0.2", 75.0)
    s.drain(1.0)
    # Unregister before closing: an ospfd stopped with a registered client
    # aborts (notes, pitfall 7).
    s.request_ok(UNREGISTER_OPAQUETYPE, struct.pack(">BBH", LSA_TYPE_OPAQUE_AREA, OPAQUE_TYPE, 0), "UNREGISTER_OPAQUETYPE 10/222")
    s.drain(0.5)


def touch(path):
    with open(path, "w"):
        pass


def run_observer(s, args):
    """Node B: syncs state, then records what A's actions look like from a
    neighbour, and finally A's ospfd dying."""
    s.request_ok(REGISTER_EVENT, lsa_filter(typemask(LSA_TYPE_OPAQUE_AREA)), "REGISTER_EVENT type 10, origin any")
    s.request_ok(SYNC_REACHABLE, b"\0" * 4, "SYNC_REACHABLE")
    s.request_ok(SYNC_LSDB, lsa_filter(0xFFFF), "SYNC_LSDB all types")
    s.request_ok(SYNC_ISM, b"\0" * 4, "SYNC_ISM")
    s.request_ok(SYNC_NSM, b"\0" * 4, "SYNC_NSM")
    s.request_ok(SYNC_ROUTER_ID, b"\0" * 4, "SYNC_ROUTER_ID")
    touch(args.ready_file)
    s.tr.note("synced; originator may start")

    # The second DELETE (age MaxAge) of a flushed LSA comes when the MaxAge
    # copy leaves the LSDB: seconds to tens of seconds later.
    maxage_seen = set()

    def maxage_delete(f):
        if f.mtype != LSA_DELETE_NOTIFY:
            return False
        age, ls_id, _adv, _me, _data = f.lsa()
        if age >= MAX_AGE and ls_id in (lsid(1), lsid(2)):
            maxage_seen.add(ls_id)
        return len(maxage_seen) == 2

    s.wait(maxage_delete, "MaxAge DELETE of 222.0.0.1 and 222.0.0.2", args.maxage_timeout)
    s.drain(0.5)
    touch(args.phase_file)
    s.tr.note("waiting for the peer %s to become unreachable" % args.peer)

    peer = struct.unpack(">I", socket.inet_aton(args.peer))[0]

    def peer_removed(f):
        if f.mtype != REACHABLE_CHANGE:
            return False
        nadd, nremove = struct.unpack_from(">HH", f.body)
        ids = struct.unpack_from(">%dI" % (nadd + nremove), f.body, 4)
        return peer in ids[nadd:]

    s.must_wait(peer_removed, "REACHABLE_CHANGE removing %s" % args.peer, 20.0)
    s.drain(1.0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("role", choices=["originator", "observer"])
    p.add_argument("transcript")
    p.add_argument("--ready-file", help="observer: touched once synced")
    p.add_argument("--phase-file", help="observer: touched once the MaxAge deletes are in")
    p.add_argument("--peer", help="observer: router id of the originator")
    p.add_argument("--maxage-timeout", type=float, default=100.0)
    args = p.parse_args()

    tr = Transcript(args.transcript)
    s = Session(tr)
    try:
        (run_originator if args.role == "originator" else run_observer)(s, args)
    finally:
        s.close()
    tr.note("done")


if __name__ == "__main__":
    sys.exit(main())
