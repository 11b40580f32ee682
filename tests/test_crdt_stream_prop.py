"""Streams (crdt/stream_log.py, crdt/stream_cg.py): three simulated replicas run random
stream commands with random causal delivery (duplicates too), ops pass through the op-log
encoding, replicas restart from a base snapshot now and then; every replica must equal a
spec computed from the emitted ops and their causal pasts alone (antidote_crdt's checker).
"""
from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crdtredis.crdt.keys  # noqa: F401 - registers DEL / FLUSHDB
from crdtredis.client import Client
from crdtredis.commands import new_node
from crdtredis.crdt import codes
from crdtredis.crdt.stream_log import (
    XADD,
    XDEL,
    XGACK,
    XGCURSOR,
    XGPEL,
    XGREAD,
    XGREMOVE,
    XLOAD,
    XSETID,
    XTRIM,
    StreamEntry,
    existing,
)
from crdtredis.crdt.stream_store import sid_str
from crdtredis.keyspace import CREATE, entry_from_state, entry_state
from crdtredis.op import Op
from crdtredis.storage.snapshot import load_base_bytes, write_base
from crdtredis.wire import codec
from tests.support.sim import Cluster, Replica, sim_config

KEY = b"s"
GROUPS = [b"g0", b"g1"]
CONSUMERS = [b"c0", b"c1"]

Dot = tuple[str, int]


class Eff:
    """One effect of the history with what its origin had observed."""

    __slots__ = ("op", "i", "vv", "e")

    def __init__(self, op: Op, i: int, vv: dict[str, int]) -> None:
        self.op, self.i, self.vv, self.e = op, i, vv, op.effects[i]

    @property
    def dot(self) -> Dot:
        return (self.op.origin, self.op.seq + self.i)

    @property
    def stamp(self) -> tuple[int, str]:
        return (self.op.hlc + self.i, self.op.origin)

    def sees(self, other: Eff) -> bool:
        o, s = other.dot
        if o == self.op.origin and self.op.seq <= s:
            return s < self.op.seq + self.i
        return self.vv.get(o, 0) >= s


def concurrent(a: Eff, b: Eff) -> bool:
    return not a.sees(b) and not b.sees(a)


def _sid(ms: int, seq: int) -> int:
    return ms << 64 | seq


def spec(history: list[Eff]) -> dict[str, Any]:
    """The stream at KEY by the rules of docs/semantics.md ("Streams"), from the effects."""
    adds: list[tuple[int, tuple[bytes, ...], Eff]] = []
    removes: list[tuple[str, Any, Eff]] = []  # ("ids", set) ("upto", sid) ("key", None)
    lastw: list[tuple[int, Eff]] = []
    mdw: list[tuple[int, Eff]] = []
    eaw: list[tuple[int, Eff]] = []
    keyrm: list[Eff] = []
    cursors: dict[bytes, list[tuple[int, set[int], int, Eff]]] = {g: [] for g in GROUPS}
    destroys: dict[bytes, list[Eff]] = {g: [] for g in GROUPS}
    nacks: dict[tuple[bytes, int], list[tuple[bytes, int, int, Eff]]] = {}
    acks: dict[tuple[bytes, int], list[Eff]] = {}
    cadds: dict[tuple[bytes, bytes], list[tuple[int, Eff]]] = {}
    delcons: dict[tuple[bytes, bytes], list[Eff]] = {}
    for E in history:
        e = E.e
        code = e[0]
        if code & CREATE and e[2] == KEY:
            keyrm.append(E)
            code &= ~CREATE
        if code == codes.FLUSHDB or (code == codes.DEL and e[2] == KEY):
            keyrm.append(E)
            continue
        if e[2] != KEY:
            continue
        if code == XADD:
            sid = _sid(e[3], e[4])
            adds.append((sid, tuple(e[5:]), E))
            lastw.append((sid, E))
        elif code == XLOAD:
            k = 3
            while k < len(e):
                n = e[k + 2]
                sid = _sid(e[k], e[k + 1])
                adds.append((sid, tuple(e[k + 3:k + 3 + n]), E))
                lastw.append((sid, E))
                k += 3 + n
        elif code == XDEL:
            removes.append(("ids", {_sid(e[k], e[k + 1]) for k in range(5, len(e), 2)}, E))
            mdw.append((_sid(e[3], e[4]), E))
        elif code == XTRIM:
            removes.append(("upto", _sid(e[3], e[4]), E))
        elif code == XSETID:
            lastw.append((_sid(e[3], e[4]), E))
            if e[5] >= 0:
                eaw.append((e[5], E))
            if e[6] >= 0:
                mdw.append((_sid(e[6], e[7]), E))
        elif code == XGCURSOR:
            g = e[3]
            if e[7]:
                destroys[g].append(E)
            late = {_sid(e[k], e[k + 1]) for k in range(8, len(e), 2)}
            cursors[g].append((_sid(e[4], e[5]), late, e[6], E))
        elif code == XGREAD:
            g, c = e[3], e[4]
            k = 10 + 2 * e[9]
            late = {_sid(e[j], e[j + 1]) for j in range(10, k, 2)}
            cursors[g].append((_sid(e[6], e[7]), late, e[8], E))
            if c is not None:
                cadds.setdefault((g, c), []).append((e[5], E))
                a = e[k:]
                for j in range(0, len(a), 4):
                    nacks.setdefault((g, _sid(a[j], a[j + 1])), []).append((c, a[j + 2], a[j + 3], E))
        elif code == XGREMOVE:
            if e[4] is None:
                destroys[e[3]].append(E)
            else:
                delcons.setdefault((e[3], e[4]), []).append(E)
        elif code == XGPEL:
            g, c = e[3], e[4]
            cadds.setdefault((g, c), []).append((e[5], E))
            a = e[6:]
            for k in range(0, len(a), 4):
                nacks.setdefault((g, _sid(a[k], a[k + 1])), []).append((c, a[k + 2], a[k + 3], E))
        elif code == XGACK:
            for k in range(4, len(e), 2):
                acks.setdefault((e[3], _sid(e[k], e[k + 1])), []).append(E)

    def removed(sid: int, A: Eff) -> bool:
        if any(R.sees(A) for R in keyrm):
            return True
        for kind, data, R in removes:
            if R.sees(A) and ((kind == "ids" and sid in data) or (kind == "upto" and sid <= data)):
                return True
        return False

    live: dict[int, tuple[tuple[int, str], tuple[bytes, ...]]] = {}
    for sid, items, A in adds:
        if not removed(sid, A):
            cur = live.get(sid)
            if cur is None or A.stamp > cur[0]:
                live[sid] = (A.stamp, items)

    def surviving(ws: list[Any], extra: list[Eff]) -> list[Any]:
        return [w for w in ws if not any(R.sees(w[-1]) for R in extra)
                and not any(o[-1].sees(w[-1]) for o in ws if o is not w)]

    last = surviving(lastw, keyrm)
    md = surviving(mdw, keyrm)
    ea = surviving(eaw, keyrm)
    if ea:
        v, W = max(ea, key=lambda w: w[1].stamp)
        added = v + sum(1 for _s, _i, A in adds if not W.sees(A))
    else:
        added = sum(1 for _s, _i, A in adds if not any(R.sees(A) for R in keyrm))
    groups: dict[bytes, Any] = {}
    for g in GROUPS:
        rm = keyrm + destroys[g]
        cs = surviving(cursors[g], rm)
        if not cs:
            continue
        top = max(cs, key=lambda c: (c[0], c[3].stamp))
        undelivered = sorted(
            sid for sid in live
            if not any(sid <= c[0] and sid not in c[1]
                       and not any(concurrent(A, c[3]) for s2, _i, A in adds if s2 == sid) for c in cs))
        pel: dict[int, tuple[bytes, int, int]] = {}
        for (gg, sid), ws in nacks.items():
            if gg != g:
                continue
            surv = [w for w in ws
                    if not any(R.sees(w[3]) for R in rm + acks.get((g, sid), []) + delcons.get((g, w[0]), []))
                    and not any(o[3].sees(w[3]) for o in ws if o is not w)]
            if surv:
                c, t, n, _W = max(surv, key=lambda w: w[3].stamp)
                pel[sid] = (c, t, n)
        consumers: dict[bytes, int] = {}
        for (gg, c), ws in cadds.items():
            if gg != g:
                continue
            surv = [w for w in ws if not any(R.sees(w[1]) for R in rm + delcons.get((g, c), []))
                    and not any(o[1].sees(w[1]) for o in ws if o is not w)]
            if surv:
                consumers[c] = max(w[0] for w in surv)
        groups[g] = {"last": top[0], "read": top[2], "undelivered": undelivered, "pel": pel,
                     "consumers": consumers}
    return {
        # A stream is visible while it has entries, a last-ID value or a group.
        "exists": bool(live) or bool(last) or bool(groups),
        "entries": sorted((sid, list(items)) for sid, (_st, items) in live.items()),
        "last": max((w[0] for w in last), default=0),
        "maxdel": max((w[0] for w in md), default=0),
        "added": added,
        "groups": groups,
    }


def observe(r: Replica) -> dict[str, Any] | None:
    """The same facts read from a replica (None: no stream visible)."""
    db = r.node.keyspace.dbs[0]
    e = db.data.get(KEY)
    if type(e) is not StreamEntry:
        return None
    groups: dict[bytes, Any] = {}
    for name, g in e.live_groups():
        top = g.top()
        groups[name] = {
            "last": top.last, "read": top.read,
            "undelivered": sorted(s for s in e.log.sids() if not g.delivered(s)),
            "pel": {sid: (v[2], v[3], v[4]) for sid in g.pel for v in [g.nack(sid)] if v is not None},
            "consumers": {n: c.seen for n, c in g.live_consumers()},
        }
    return {
        "entries": [(sid, items) for sid, items in e.log.range(0, (1 << 128) - 1)],
        "last": e.last_id(), "maxdel": e.max_deleted(), "added": e.entries_added(), "groups": groups,
    }


def check(r: Replica, history: list[Eff]) -> None:
    seen = [E for E in history if r.node.keyspace.vv.get(E.op.origin, 0) >= E.op.seq + E.i]
    want = spec(seen)
    got = observe(r)
    exists = want.pop("exists")
    if got is None:
        assert not exists, (r.node.origin, want)
        return
    assert exists, (r.node.origin, got)
    assert got == want, (r.node.origin, got, want)
    # The replies agree with the state read directly.
    assert r.run("XLEN", KEY) == len(want["entries"])
    info = dict(r.run("XINFO", "STREAM", KEY).items)
    assert info[b"last-generated-id"] == sid_str(want["last"])
    assert info[b"entries-added"] == want["added"]


# ---- the random script --------------------------------------------------------------------
def _local(r: Replica) -> list[bytes]:
    reply = r.run("XRANGE", KEY, "-", "+")
    return [x[0] for x in reply] if isinstance(reply, list) else []


def _pending(r: Replica, g: bytes) -> list[bytes]:
    reply = r.run("XPENDING", KEY, g, "-", "+", "100")
    return [x[0] for x in reply] if isinstance(reply, list) else []


def command(r: Replica, kind: int, a: int, b: int, n: int, now: int) -> tuple[Any, ...]:
    ids = _local(r)
    g = GROUPS[a % 2]
    c = CONSUMERS[b % 2]
    pick = [ids[(a + k * b) % len(ids)] for k in range(1 + n % 2)] if ids else [b"1-1"]
    if kind == 0:
        return ("XADD", KEY, "*", "f", str(n))
    if kind == 1:
        return ("XADD", KEY, "MAXLEN", "~" if a % 2 else "=", str(2 + n % 3), "*", "f", str(n))
    if kind == 2:
        # Explicit IDs just ahead of the clock: the same ID at two replicas collides
        # when their writes are concurrent.
        return ("XADD", KEY, f"{now + 1}-{n % 2}", "f", f"x{n}")
    if kind == 3:
        return ("XDEL", KEY, *pick)
    if kind == 4:
        return ("XTRIM", KEY, "MAXLEN", str(n % 4)) if a % 2 else ("XTRIM", KEY, "MINID", pick[0])
    if kind == 5:
        return ("DEL", KEY)
    if kind == 6:
        info = r.run("XINFO", "STREAM", KEY)
        if not hasattr(info, "items"):
            return ("XSETID", KEY, "1-1")
        d = dict(info.items)
        return ("XSETID", KEY, d[b"last-generated-id"], "ENTRIESADDED", str(d[b"length"] + n % 5))
    if kind == 7:
        return ("XGROUP", "CREATE", KEY, g, "$" if b % 2 else "0", "MKSTREAM")
    if kind == 8:
        return ("XGROUP", "SETID", KEY, g, "0" if b % 2 else "$")
    if kind == 9:
        return ("XGROUP", "DESTROY", KEY, g)
    if kind == 10:
        return ("XGROUP", "DELCONSUMER", KEY, g, c) if n % 2 else ("XGROUP", "CREATECONSUMER", KEY, g, c)
    if kind == 11:
        return ("XREADGROUP", "GROUP", g, c, "COUNT", str(1 + n % 3), *(["NOACK"] if n % 5 == 4 else []),
                "STREAMS", KEY, ">")
    if kind == 12:
        return ("XREADGROUP", "GROUP", g, c, "STREAMS", KEY, "0")
    if kind == 13:
        pend = _pending(r, g)
        return ("XACK", KEY, g, *(pend[: 1 + n % 3] or [b"1-1"]))
    if kind == 14:
        pend = _pending(r, g) or [b"1-1"]
        return ("XCLAIM", KEY, g, c, "0", *pend[: 1 + n % 2], *(["JUSTID"] if n % 2 else []))
    if kind == 15:
        return ("XAUTOCLAIM", KEY, g, c, "0", "0-0", "COUNT", str(1 + n % 3))
    return ("FLUSHDB",)


# Adds, deliveries and acks dominate: they make the concurrent pairs the rules are about;
# whole-key and whole-group removals are rarer.
KINDS = st.sampled_from([0] * 6 + [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 6, 7, 8, 10, 10, 12, 14, 15]
                        + [11] * 6 + [13] * 3 + [5, 9, 16])
step = st.tuples(st.integers(0, 2), KINDS, st.integers(0, 7), st.integers(0, 7), st.integers(0, 20),
                 st.integers(0, 2), st.integers(0, 30))
steps = st.lists(step, min_size=15, max_size=60)


def wire(op: Op) -> Op:
    """The op as a peer receives it: through the op-log / wire encoding."""
    out = codec.decode_op(codec.encode_op(op))
    assert out == op
    return out


def restart(c: Cluster, i: int) -> None:
    """Replica i restarts from a base snapshot of its state (same incarnation)."""
    old = c.replicas[i]
    buf = io.BytesIO()
    write_base(old.node.keyspace, old.node.hlc.last, buf)
    node = new_node(sim_config(old.node.replica_id), incarnation=old.node.incarnation)
    hdr = load_base_bytes(buf.getvalue(), "<sim>", node.keyspace)
    node.hlc.last = hdr.hlc
    node.clock = old.node.clock
    old.node = node
    old.client = Client(1, "sim", "sim", lambda: None)
    node.clients[1] = old.client
    node.op_listeners.append(old.emitted.append)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps, seed=st.integers(0, 2**32 - 1))
def test_property_streams_converge_to_spec(script: list[tuple[int, ...]], seed: int) -> None:
    c = Cluster(3, seed=seed)
    clock = [1000]
    for r in c.replicas:
        r.node.clock = lambda: clock[0]
    history: list[Eff] = []

    def record(at: int, *argv: Any) -> None:
        r = c[at]
        vv = dict(r.node.keyspace.vv)
        before = len(r.emitted)
        c.run(at, *argv)
        for op in r.emitted[before:]:
            history.extend(Eff(op, i, vv) for i in range(len(op.effects)))

    for k in range(3):
        record(k, "XADD", KEY, "*", "f", f"s{k}")
    record(0, "XGROUP", "CREATE", KEY, GROUPS[0], "0")
    record(1, "XGROUP", "CREATE", KEY, GROUPS[1], "0")
    c.deliver_all(0)
    for at, kind, a, b, n, deliver, tick in script:
        r = c[at]
        clock[0] += tick % 3
        vv = dict(r.node.keyspace.vv)
        before = len(r.emitted)
        c.run(at, *command(r, kind, a, b, n, clock[0]))
        new = r.emitted[before:]
        for op in new:
            history.extend(Eff(op, i, vv) for i in range(len(op.effects)))
        for other in c.replicas:
            other.inbox = [wire(o) if any(o is x for x in new) else o for o in other.inbox]
        c.deliver_some(deliver, dup_prob=0.2)
        if tick == 30:
            restart(c, at)
        for x in c.replicas:
            check(x, history)
    c.deliver_all(dup_prob=0.2)
    for x in c.replicas:
        check(x, history)
    views = [observe(x) for x in c.replicas]
    assert views[0] == views[1] == views[2]
    # State round trip through the snapshot encoding of one value, and GC at stability.
    for x in c.replicas:
        e = existing(x.node.keyspace.dbs[0], KEY)
        if e is None:
            continue
        tag, s = entry_state(e)
        back = entry_from_state(*codec.decode_value(codec.encode_value((tag, s))))
        assert entry_state(back) == (tag, s)
        before = observe(x)
        e.gc(lambda h, o: True)
        assert not e.recent and not e.vis and not e.hidden
        assert observe(x) == before


def test_restart_keeps_an_unstable_stream() -> None:
    c = Cluster(3, seed=1)
    for r in c.replicas:
        r.node.clock = lambda: 5000
    c.run(0, "XADD", KEY, "*", "a", "1")
    c.run(1, "XADD", KEY, "*", "b", "2")
    c.run(0, "XGROUP", "CREATE", KEY, "g", "0")
    c.deliver_all(0)
    restart(c, 2)
    assert observe(c[2]) == observe(c[0])


# Explicit IDs written concurrently at several replicas, and what deletes them: the rarest
# paths of the rule (hidden losers, promotion when the visible write is removed), tried
# on their own so that every example exercises them.
collide_step = st.tuples(st.integers(0, 2), st.sampled_from(["add", "add", "add", "del", "del", "trim", "star", "DEL"]),
                         st.integers(0, 3), st.integers(0, 2))
collide_steps = st.lists(collide_step, min_size=4, max_size=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=collide_steps, seed=st.integers(0, 2**32 - 1))
def test_property_explicit_id_collisions_converge_to_spec(script: list[tuple[Any, ...]], seed: int) -> None:
    c = Cluster(3, seed=seed)
    clock = [2000]
    for r in c.replicas:
        r.node.clock = lambda: clock[0]
    history: list[Eff] = []
    for at, kind, k, deliver in script:
        r = c[at]
        ids = _local(r)
        if kind == "add":
            clock[0] += k // 3
            argv: tuple[Any, ...] = ("XADD", KEY, f"{clock[0]}-{k % 2}", "f", f"{at}.{k}")
        elif kind == "del":
            argv = ("XDEL", KEY, ids[k % len(ids)] if ids else b"1-1")
        elif kind == "trim":
            argv = ("XTRIM", KEY, "MINID", ids[k % len(ids)] if ids else b"1-1")
        elif kind == "star":
            argv = ("XADD", KEY, "*", "f", "star")
        else:
            argv = ("DEL", KEY)
        vv = dict(r.node.keyspace.vv)
        before = len(r.emitted)
        c.run(at, *argv)
        for op in r.emitted[before:]:
            history.extend(Eff(op, i, vv) for i in range(len(op.effects)))
        c.deliver_some(deliver, dup_prob=0.2)
        for x in c.replicas:
            check(x, history)
    c.deliver_all(dup_prob=0.2)
    for x in c.replicas:
        check(x, history)
    assert observe(c[0]) == observe(c[1]) == observe(c[2])
