"""Simulated replicas for convergence tests (antidote_crdt's checker, in Python).

N in-process Nodes, each with its own client. Ops a node emits are captured and sent to
every other node's inbox; `deliver_*` applies inbox ops in random *causally consistent*
orders (an op waits until its origin's earlier ops and its deps are applied), optionally
re-delivering duplicates. After `deliver_all`, every replica has applied every op.
"""
from __future__ import annotations

import random
import types
from typing import Any

from crdtredis.client import Client
from crdtredis.commands import new_node
from crdtredis.op import Op


def sim_config(replica_id: str) -> Any:
    try:
        import dataclasses

        from crdtredis.config import default_config

        return dataclasses.replace(default_config(), replica_id=replica_id, peers=("http://127.0.0.1:1",))
    except Exception:  # noqa: BLE001 - config module optional in early tests
        return types.SimpleNamespace(
            replica_id=replica_id, databases=16, peers=["http://127.0.0.1:1"],
            proto_max_bulk_len=512 * 1024 * 1024, requirepass=None,
        )


def checked(op: Op) -> Op:
    """Every op a command makes must pass the checks peers apply to it (crdt/schema.py)."""
    from crdtredis.crdt.schema import check_effect

    for eff in op.effects:
        why = check_effect(eff, 512 * 1024 * 1024)
        assert why is None, f"{why}: {eff!r}"
    return op


class Replica:
    def __init__(self, name: str) -> None:
        self.node = new_node(sim_config(name))
        self.client: Client = self.node.new_client("sim", "sim", lambda: None)
        self.emitted: list[Op] = []
        self.node.op_listeners.append(lambda op: self.emitted.append(checked(op)))
        self.inbox: list[Op] = []

    def run(self, *argv: bytes | str | int | float) -> Any:
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        return self.node.execute(self.client, args)

    def ready(self, op: Op) -> bool:
        ks = self.node.keyspace
        if ks.vv.get(op.origin, 0) != op.seq - 1:
            return False
        vh = ks.vh
        return all(vh.get(o, 0) >= h for o, h in op.deps.items())

    def applied(self, op: Op) -> bool:
        return self.node.keyspace.vv.get(op.origin, 0) >= op.last_seq


class Cluster:
    def __init__(self, n: int = 3, seed: int = 0) -> None:
        self.replicas = [Replica(f"r{i}") for i in range(n)]
        self.rng = random.Random(seed)

    def __getitem__(self, i: int) -> Replica:
        return self.replicas[i]

    def run(self, i: int, *argv: bytes | str | int | float) -> Any:
        r = self.replicas[i]
        before = len(r.emitted)
        reply = r.run(*argv)
        for op in r.emitted[before:]:
            for other in self.replicas:
                if other is not r:
                    other.inbox.append(op)
        return reply

    def deliver_one(self, dup_prob: float = 0.0) -> bool:
        """Apply one random ready op somewhere; False when nothing is deliverable."""
        cands = [(r, op) for r in self.replicas for op in r.inbox if r.ready(op)]
        if not cands:
            return False
        r, op = self.rng.choice(cands)
        r.node.apply_remote(op)
        if self.rng.random() >= dup_prob:
            r.inbox.remove(op)
        else:
            # Re-deliver later: a duplicate must be a no-op.
            pass
        # Drop anything already applied (duplicates that became stale).
        r.inbox = [o for o in r.inbox if not r.applied(o) or self.rng.random() < dup_prob]
        return True

    def deliver_some(self, k: int, dup_prob: float = 0.1) -> None:
        for _ in range(k):
            if not self.deliver_one(dup_prob):
                return

    def deliver_all(self, dup_prob: float = 0.1) -> None:
        while any(r.inbox for r in self.replicas):
            if not self.deliver_one(dup_prob):
                for r in self.replicas:
                    r.inbox = [o for o in r.inbox if not r.applied(o)]
                if any(r.inbox for r in self.replicas):
                    raise AssertionError("undeliverable ops: causal delivery stuck")

    def all_ops(self) -> list[Op]:
        return [op for r in self.replicas for op in r.emitted]
