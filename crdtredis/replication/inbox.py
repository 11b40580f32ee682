"""Receiving ops from peers: validate a whole batch, then apply it in order.

Senders filter their causally ordered log by our version vector, so a well-formed batch
carries, before each op, every dependency we lack. An op that is not ready once the
earlier ops of its batch are applied is therefore a protocol violation (or a sender whose
backlog lost ops), not something to wait for: the batch is refused with a reason and
nothing of it is applied. This replaces a causal buffer, and the stalls and unbounded
memory a buffer brings.

Everything is checked before anything is applied (docs/security.md):

* deliverability (above), and no op of our own origin that we never issued;
* origin names of the form `<replica id>.<incarnation>` (they are persisted in vectors);
* every effect's shape against the schema its CRDT module registered (crdt/schema.py):
  argument count and types, sizes bounded by our proto-max-bulk-len;
* the clock: an op stamped more than `max_clock_skew_ms` ahead of our wall clock is
  refused. Every replica's HLC moves past each stamp it applies, so one op stamped at
  2^64-1 would push every later timestamp of the cluster past the end of the encoding.

Applying cannot be undone, so validation must be complete: an apply function never raises
on an effect its check accepted (tests/test_effect_checks.py holds every module to that).
If one does anyway, that is a bug, and the replica must not go on with half an op in
memory: the op log listeners only run once the *whole* batch has applied, so the log holds
nothing of the batch, and the process exits at once, as if killed just before the batch
arrived. The restart replays the log (none of the batch) and the peer sends the batch
again; the log line names the op for the bug report.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from ..clock import LOGICAL_BITS, LOGICAL_MASK
from ..keyspace_batch import apply_many
from ..op import Op
from ..wire.codec import OpDecoder
from .batchcheck import ORIGIN_RE as ORIGIN_RE
from .batchcheck import check_batch

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("crdtredis.replication")

# Exit status when an apply function failed on a validated effect (BSD EX_SOFTWARE).
EXIT_APPLY_BUG = 70


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
def hlc_limit(node: Node) -> int:
    """The highest HLC stamp accepted from peers now."""
    ms = node.clock() + int(getattr(node.config, "max_clock_skew_ms", 300_000))
    return ms << LOGICAL_BITS | LOGICAL_MASK


def validate(node: Node, ops: list[Op]) -> int:
    """Raises BadBatch unless every op of the batch may apply, in order; returns the
    highest stamp of the new ops (0: none), which the HLC observes before they apply.
    The checks themselves: batchcheck.py (compiled when built)."""
    ks = node.keyspace
    highest, why = check_batch(ops, ks.vv, ks.vh, node.origin, len(ks.dbs), node.proto_max_bulk_len,
                               hlc_limit(node), node.clock, getattr(node.config, "max_clock_skew_ms", 300_000))
    if why is not None:
        raise BadBatch(why)
    return highest


def apply_batch(node: Node, ops: list[Op], raw: bytes | None = None) -> int:
    """Validate then apply; returns how many ops were new. Raises BadBatch (nothing applied).
    `raw`: the ops' bytes as received (fastin.py), logged as they are when every op was new."""
    highest = validate(node, ops)
    done: list[Op] = []
    op: Op | None = None
    try:
        if node.notify is None and ops:
            # One pass: the HLC moves past the batch's highest stamp (validated) once,
            # before anything applies, as it would op by op (apply functions never read it;
            # duplicates were observed when they first applied).
            if highest:
                node.hlc.observe(highest)
            done = apply_many(node.keyspace, ops)
        else:
            for op in ops:
                if node.apply_remote(op, listeners=False):
                    done.append(op)
    except Exception:
        if op is None:  # apply_many: the first op not applied in full is the one that failed
            vv = node.keyspace.vv
            op = next((o for o in ops if o.seq + len(o.effects) - 1 > vv.get(o.origin, 0)), None)
        log.critical("BUG: applying op %s:%s of a validated batch failed; exiting before anything of the "
                     "batch is logged (a restart replays the log, which holds none of it)",
                     op.origin if op else "?", op.seq if op else "?", exc_info=True)
        _flush_before_exit(node)
        die(EXIT_APPLY_BUG)
    _listeners(node, done, raw if len(done) == len(ops) else None)
    return len(done)


def _listeners(node: Node, done: list[Op], raw: bytes | None) -> None:
    """The remote-op listeners, once the whole batch applied; the op log takes `raw` (the
    bytes of exactly `done`) as they are instead of encoding the ops again."""
    p = node.persistence
    oplog = getattr(p, "oplog", None) if p is not None else None
    if raw is None or oplog is None or not done or oplog.append not in node.remote_op_listeners:
        for op in done:
            node.remote_applied(op)
        return
    oplog.append_encoded(done, raw)
    skip = oplog.append
    for listener in node.remote_op_listeners:
        if listener != skip:
            for op in done:
                listener(op)


def _flush_before_exit(node: Node) -> None:
    """Write what the op log queued before this batch (earlier commands and batches)."""
    p = node.persistence
    oplog = getattr(p, "oplog", None) if p is not None else None
    if oplog is None:
        return
    try:
        oplog.flush()
    except Exception:  # noqa: BLE001 - dying anyway; what is not written was not acknowledged
        log.exception("op log flush before exit failed")


def die(code: int) -> NoReturn:
    """Leave now, without running anything else of the loop (tests replace this)."""
    logging.shutdown()
    os._exit(code)
