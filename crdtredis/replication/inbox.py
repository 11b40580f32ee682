"""Receiving ops from peers: validate a whole batch, then apply it in order.

Senders filter their causally ordered log by our version vector, so a well-formed batch
carries, before each op, every dependency we lack. An op that is not ready once the
earlier ops of its batch are applied is therefore a protocol violation (or a sender whose
backlog lost ops), not something to wait for: the batch is refused with a reason and
nothing of it is applied. This replaces a causal buffer, and the stalls and unbounded
memory a buffer brings.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..keyspace import effect_known
from ..op import Op
from ..wire.codec import OpDecoder

if TYPE_CHECKING:
    from ..node import Node


class BadBatch(ValueError):
    """The batch is malformed or not causally deliverable; the message says why."""


def decode_new(node: Node, msgs: Iterable[Any]) -> list[Op]:
    """The ops of a parsed OpBatch, decoded, except those we already hold: a duplicate
    (an op that reached us on another path too) costs a look at its seq, not a decode.
    Its deps still update the decoder's context: the next op may elide them."""
    dec = OpDecoder()
    vv = node.keyspace.vv
    out: list[Op] = []
    for m in msgs:
        n = len(m.effects)
        if n and m.seq >= 1 and m.seq + n - 1 <= vv.get(m.origin, 0):
            dec.note_deps(m)
            continue
        out.append(dec.from_message(m))
    return out


def validate(node: Node, ops: list[Op]) -> None:
    ks = node.keyspace
    vv = dict(ks.vv)
    vh = dict(ks.vh)
    ndb = len(ks.dbs)
    for op in ops:
        n = len(op.effects)
        if not op.origin or op.seq < 1 or n == 0:
            raise BadBatch(f"op without origin, seq or effects ({op.origin!r}:{op.seq})")
        last = op.seq + n - 1
        have = vv.get(op.origin, 0)
        if last <= have:
            continue  # a duplicate: harmless, skipped on apply
        if op.origin == node.origin:
            raise BadBatch(f"op {op.origin}:{op.seq} claims to be ours but we never issued it")
        if op.seq != have + 1:
            raise BadBatch(
                f"op {op.origin}:{op.seq} is not deliverable: we hold {op.origin} up to seq {have}"
            )
        for o, h in op.deps.items():
            if vh.get(o, 0) < h:
                raise BadBatch(f"op {op.origin}:{op.seq} depends on {o} at hlc {h}, which we lack")
        for eff in op.effects:
            if len(eff) < 3 or not effect_known(eff[0]):
                raise BadBatch(f"op {op.origin}:{op.seq} has an unknown effect {eff[:1]!r}")
            if type(eff[1]) is not int or not 0 <= eff[1] < ndb:
                raise BadBatch(f"op {op.origin}:{op.seq} names database {eff[1]!r} of {ndb}")
            if type(eff[2]) is not bytes:
                raise BadBatch(f"op {op.origin}:{op.seq} has a non-bytes key")
        vv[op.origin] = last
        vh[op.origin] = op.hlc + n - 1


def apply_batch(node: Node, ops: list[Op]) -> int:
    """Validate then apply; returns how many ops were new. Raises BadBatch (nothing applied)."""
    validate(node, ops)
    applied = 0
    for op in ops:
        if node.apply_remote(op):
            applied += 1
    return applied
