"""A simulated cluster for whole-keyspace convergence tests (issue 8).

Each replica is a real Node (the command table, the keyspace, apply, GC) plus what the
server adds around it, reduced to what decides convergence:

* its op log: every op it applied, in order (its own and remote ones), after an optional
  base snapshot; a crash restart replays base + log into a new incarnation;
* its Membership (crdtredis/replication/membership.py), fed by durable acks that replicas
  send each other at random moments, with gossip, exactly as the server feeds it;
* GC and expiry without ops driven by that Membership, at random moments;
* a wipe (a new, empty incarnation that syncs a member's snapshot through the real
  snapshot format before it writes) and a brand-new replica joining the same way.

Ops are delivered in random causal orders, with duplicates. The fake wall clock (the same
for every replica) only moves forward, and starts at the real time so deadlines computed by
commands from the real clock stay consistent with it.
"""
from __future__ import annotations

import dataclasses
import io
import random
import time
from typing import Any

from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.node import Node
from crdtredis.op import Op
from crdtredis.replication.membership import Membership
from crdtredis.storage.snapshot import load_base_bytes, write_base
from tests.support.sim import checked
from tests.support.state import visible_state


class Clock:
    def __init__(self) -> None:
        self.ms = time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.ms


class SimReplica:
    def __init__(self, rid: str, clock: Clock, seq: int) -> None:
        self.rid = rid
        self.clock = clock
        self.inc_ms = seq  # incarnation order (sim-wide counter)
        self.base: bytes | None = None  # snapshot it started from (a joiner)
        self.log: list[Op] = []  # ops applied after the base, in order
        self.inbox: list[Op] = []
        self.membership = Membership(rid)
        self.solo = False  # founded alone and no one joined yet (Node.set_solo)
        self.node = self._new_node()
        self.client = self.node.new_client("sim", "sim", lambda: None)
        self.synced = True

    def _new_node(self) -> Node:
        cfg = dataclasses.replace(default_config(), replica_id=self.rid, peers=("http://sim",))
        node = new_node(cfg)
        node.clock = self.clock
        node.op_listeners.append(self._on_op)
        if getattr(self, "solo", False):  # durable cluster state: a restart stays solo
            node.set_solo(True)
        return node

    def _on_op(self, op: Op) -> None:
        self.log.append(checked(op))

    @property
    def origin(self) -> str:
        return self.node.origin

    def run(self, *argv: Any) -> Any:
        assert self.synced, "a replica that has not synced takes no writes"
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        return self.node.execute(self.client, args)

    def ready(self, op: Op) -> bool:
        ks = self.node.keyspace
        if ks.vv.get(op.origin, 0) != op.seq - 1:
            return False
        return all(ks.vh.get(o, 0) >= h for o, h in op.deps.items())

    def applied(self, op: Op) -> bool:
        return self.node.keyspace.vv.get(op.origin, 0) >= op.last_seq

    def deliver(self, op: Op) -> None:
        if self.node.apply_remote(op):
            self.log.append(op)

    # ---- durable acks ------------------------------------------------------------------
    def ack_to(self, other: SimReplica) -> None:
        """`other` hears our durable vectors (all applied ops are durable here) and gossip."""
        ks = self.node.keyspace
        m = other.membership
        m.note(self.rid, self.origin, self.inc_ms, ks.vv, ks.vh, direct=True)
        for rid, origin, inc, vv, vh in self.membership.gossip():
            if rid != other.rid:
                m.note(rid, origin, inc, vv, vh, direct=False)

    def gc(self) -> int:
        ks = self.node.keyspace
        chk = self.membership.stable_checker(ks.vv, ks.vh)
        n = 0
        if chk is not None:
            n = sum(ks.gc_chunks(chk))
        ks.expiry_safe = self.membership.expiry_checker(ks.vv, ks.vh, self.node.now_ms(), max_age=0)
        now = self.node.now_ms()
        for db in ks.dbs:
            for key, reg in list(db.expires.items()):
                if reg.deadline is not None and reg.deadline <= now:
                    ks.drop_expired(db, key)
        return n

    # ---- lifetimes ---------------------------------------------------------------------
    def snapshot(self) -> bytes:
        buf = io.BytesIO()
        write_base(self.node.keyspace, self.node.hlc.last, buf)
        return buf.getvalue()

    def restart(self, seq: int) -> None:
        """A crash restart: a new incarnation replays base + log; nothing applied is lost
        (the sim's log is durable), so what it shows must not change."""
        log = list(self.log)
        self.inc_ms = seq
        self.log = []
        self.node = self._new_node()
        self.client = self.node.new_client("sim", "sim", lambda: None)
        if self.base is not None:
            load_base_bytes(self.base, "base", self.node.keyspace)
            for h in self.node.keyspace.vh.values():
                self.node.hlc.observe(h)
        for op in log:
            self.node.replay(op)
        self.log = log
        # The member list is durable; what was known of the others' acks is not.
        self.membership = _fresh_membership(self.rid, self.membership)

    def wipe_and_join(self, source: SimReplica, seq: int) -> None:
        """The data dir is lost: a new, empty incarnation syncs `source`'s snapshot (the
        real base format) before it takes writes; `source` registers it as a member."""
        self.inc_ms = seq
        self.node = self._new_node()
        self.client = self.node.new_client("sim", "sim", lambda: None)
        self.base = source.snapshot()
        load_base_bytes(self.base, "snapshot", self.node.keyspace)
        for h in self.node.keyspace.vh.values():
            self.node.hlc.observe(h)
        self.log = []
        self.membership = _fresh_membership(self.rid, source.membership, also=source.rid, without=self.rid)
        self.ack_to(source)
        self.synced = True


def _fresh_membership(rid: str, known: Membership, also: str = "", without: str = "") -> Membership:
    m = Membership(rid)
    m.forgotten = set(known.forgotten)
    for other in [*known.members, also]:
        if other and other != rid and other != without:
            m.add(other)
    return m


class SimCluster:
    def __init__(self, n: int, seed: int, solo: bool = False) -> None:
        """n replicas founded together; or, with `solo`, one replica founded alone, which
        leaves solo when the first replica joins it (replication/cluster.py)."""
        self.rng = random.Random(seed)
        self.clock = Clock()
        self.seq = 1
        self.replicas = [SimReplica(f"r{i}", self.clock, self._next()) for i in range(n)]
        if solo:
            assert n == 1, "only a replica alone is solo"
            self.replicas[0].solo = True
            self.replicas[0].node.set_solo(True)
        for r in self.replicas:  # founded together: everyone knows everyone
            for o in self.replicas:
                if o is not r:
                    r.membership.add(o.rid)
        self.history: list[Op] = []  # every op, in the order it was made (a causal order)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def run(self, i: int, *argv: Any) -> Any:
        r = self.replicas[i]
        before = len(r.log)
        reply = r.run(*argv)
        self._ship(r, before)
        return reply

    def _ship(self, r: SimReplica, before: int) -> None:
        for op in r.log[before:]:
            self.history.append(op)
            for o in self.replicas:
                if o is not r:
                    o.inbox.append(op)

    def pipeline(self, i: int, argvs: list[tuple[Any, ...]]) -> None:
        """`argvs` as one read batch of a connection to replica i: consecutive writes share
        one op (Node.execute, MERGEABLE) until the batch ends (batch_done); each run of
        consecutive requests spelled alike goes to `Node.run_cmds` (runs.py: their effects
        applied in one keyspace_batch.apply_local_all, its inline cases included), as
        protocol/connection.py's loop hands it over; the others, and what a run declines,
        to `Node.execute`."""
        r = self.replicas[i]
        assert r.synced, "a replica that has not synced takes no writes"
        cmds = [[a if isinstance(a, bytes) else str(a).encode() for a in argv] for argv in argvs]
        node, client = r.node, r.client
        before = len(r.log)
        client.batching = True
        try:
            x = 0
            skip = 0  # no run starts before cmds[skip] (run_cmds declined one)
            while x < len(cmds):
                if x >= skip and x + 1 < len(cmds) and cmds[x][0] == cmds[x + 1][0]:
                    j = x + 2
                    while j < len(cmds) and cmds[j][0] == cmds[x][0]:
                        j += 1
                    k, _replies, exc = node.run_cmds(client, cmds, x, j)
                    if k < 0:
                        skip = j
                    elif exc is not None:
                        x += k + 1  # request x + k raised, as `execute` would have
                        continue
                    elif k > 0:
                        x += k
                        continue
                node.execute(client, cmds[x])
                x += 1
        finally:
            client.batching = False
            node.batch_done()
            self._ship(r, before)  # the ops the batch closed (a SELECT closes one) and its last

    def deliver_one(self, dup: float = 0.1) -> bool:
        cands = [(r, op) for r in self.replicas for op in r.inbox if r.ready(op)]
        if not cands:
            return False
        r, op = self.rng.choice(cands)
        r.deliver(op)
        if self.rng.random() >= dup:
            r.inbox.remove(op)
        r.inbox = [o for o in r.inbox if not r.applied(o) or self.rng.random() < dup]
        return True

    def deliver_all(self) -> None:
        while any(r.inbox for r in self.replicas):
            if not self.deliver_one(0.0):
                for r in self.replicas:
                    r.inbox = [o for o in r.inbox if not r.applied(o)]
                if any(r.inbox for r in self.replicas):
                    raise AssertionError("causal delivery stuck")

    def flood(self, skip: int) -> None:
        """Deliver everything deliverable to every replica but `skip`."""
        for k, r in enumerate(self.replicas):
            if k == skip:
                continue
            progress = True
            while progress:
                progress = False
                for op in list(r.inbox):
                    if r.applied(op):
                        r.inbox.remove(op)
                    elif r.ready(op):
                        r.deliver(op)
                        r.inbox.remove(op)
                        progress = True

    def ack(self, i: int, j: int) -> None:
        if i != j:
            self.replicas[i].ack_to(self.replicas[j])

    def ack_all(self) -> None:
        for a in self.replicas:
            for b in self.replicas:
                if a is not b:
                    a.ack_to(b)

    def restart(self, i: int) -> None:
        r = self.replicas[i]
        before = visible_state(r.node, self.clock.ms)
        r.restart(self._next())
        after = visible_state(r.node, self.clock.ms)
        assert after == before, ("a restart changed what the replica shows", _diff(before, after))

    def wipe(self, i: int, source: int) -> None:
        """Replica i loses its data dir and rejoins from `source`. Its ops that no other
        replica holds yet were in flight when it stopped: each push either completed
        (the receiver applied it then) or died with the process (the op is lost with the
        data dir: documented). An op from a dead incarnation never arrives much later."""
        r, src = self.replicas[i], self.replicas[source]
        # Every incarnation of this replica: a crash restart's new incarnation still holds
        # (and pushes) its predecessors' ops, and they are lost with the data dir too.
        mine = r.rid + "."
        others = [o for o in self.replicas if o is not r]
        for op in [op for op in self.history if op.origin.startswith(mine)]:
            if any(o.applied(op) for o in others):
                continue
            for o in others:
                if o.ready(op) and self.rng.random() < 0.5:
                    o.deliver(op)
        # Lost: whatever no other replica holds. Its own ops, and also ops of an earlier
        # wiped incarnation of another replica that reached only this one (that origin's
        # data dir is gone already), with everything of theirs it alone had applied.
        lost = {id(op) for op in self.history if not any(o.applied(op) for o in others)}
        if lost:
            self.history = [op for op in self.history if id(op) not in lost]
            for o in self.replicas:
                o.inbox = [op for op in o.inbox if id(op) not in lost]
        r.wipe_and_join(src, self._next())
        self._refill_inbox(r)

    def join(self, source: int) -> int:
        """A brand-new replica joins from `source`; returns its index."""
        for o in self.replicas:
            if o.solo:  # the founder takes the joiner in: no longer alone (cluster.py)
                o.solo = False
                o.node.set_solo(False)
        r = SimReplica(f"r{len(self.replicas)}", self.clock, self._next())
        r.wipe_and_join(self.replicas[source], r.inc_ms)
        self.replicas.append(r)
        self._refill_inbox(r)
        return len(self.replicas) - 1

    def _refill_inbox(self, r: SimReplica) -> None:
        # Whatever it lacks reaches it through pulls from its peers.
        r.inbox = [op for op in self.history if not r.applied(op)]

    def reference(self) -> Node:
        """One replica that applied every op once, in the order they were made: no GC, no
        restarts, no duplicates. Every real replica must end up showing what it shows."""
        cfg = dataclasses.replace(default_config(), replica_id="ref", peers=("http://sim",))
        node = new_node(cfg)
        node.clock = self.clock
        for op in self.history:
            node.apply_remote(op)
        return node


def _diff(a: dict[Any, Any], b: dict[Any, Any]) -> list[Any]:
    return sorted(((k, a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)), key=repr)[:6]


def assert_same(a: dict[Any, Any], b: dict[Any, Any], what: str) -> None:
    assert a == b, (what, _diff(a, b))


def causal_orders(c_factory: Any, limit: int = 720) -> Any:
    """Every causal order in which the replicas of `c_factory()` (a deterministic scenario,
    rebuilt per order) can receive what is pending for them. Yields finished clusters: each
    replica got its pending ops in one of their causal linearizations (replicas vary
    together, each through its own list of orders)."""
    probe = c_factory()
    per_replica: list[list[list[int]]] = []
    for r in probe.replicas:
        pend = [op for op in r.inbox if not r.applied(op)]
        per_replica.append(_linearizations(r, pend, limit))
    n = max(len(x) for x in per_replica)
    for k in range(n):
        c = c_factory()
        for i, r in enumerate(c.replicas):
            orders = per_replica[i]
            pend = [op for op in r.inbox if not r.applied(op)]
            for j in orders[k % len(orders)]:
                r.deliver(pend[j])
            r.inbox = []
        yield c


def _linearizations(r: SimReplica, pend: list[Op], limit: int) -> list[list[int]]:
    """Index orders of `pend` in which each op is ready when delivered (origins' seq order
    and deps), computed from the ops alone."""
    ks = r.node.keyspace
    out: list[list[int]] = []

    def ready(i: int, vv: dict[str, int], vh: dict[str, int]) -> bool:
        op = pend[i]
        if vv.get(op.origin, 0) != op.seq - 1:
            return False
        return all(vh.get(o, 0) >= h for o, h in op.deps.items())

    def walk(done: list[int], vv: dict[str, int], vh: dict[str, int]) -> None:
        if len(out) >= limit:
            return
        if len(done) == len(pend):
            out.append(list(done))
            return
        for i in range(len(pend)):
            if i in done or not ready(i, vv, vh):
                continue
            op = pend[i]
            nvv = {**vv, op.origin: op.last_seq}
            nvh = {**vh, op.origin: op.hlc + len(op.effects) - 1}
            walk([*done, i], nvv, nvh)

    walk([], dict(ks.vv), dict(ks.vh))
    return out or [[]]
