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
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from ..clock import LOGICAL_BITS, LOGICAL_MASK
from ..crdt.schema import check_for
from ..keyspace import effect_known
from ..keyspace_batch import apply_many
from ..op import Op
from ..wire.codec import OpDecoder

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("crdtredis.replication")

# "<replica id>.<incarnation>": the replica id rule of config.py, then the incarnation.
ORIGIN_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}\.[A-Za-z0-9]{1,32}")
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
    highest stamp of the new ops (0: none), which the HLC observes before they apply."""
    ks = node.keyspace
    highest = 0
    vv = dict(ks.vv)
    vh = dict(ks.vh)
    ndb = len(ks.dbs)
    max_bulk = node.proto_max_bulk_len
    limit = hlc_limit(node)
    ours = node.origin
    vv_get = vv.get
    # code -> its shape check, for the codes this batch already showed to be known (a
    # healing replica validates a partition's worth of ops: two calls per effect less),
    # and the check's `fast` acceptance of the code's hot shape (crdt/schema.py Shape),
    # called first and directly: a call less, and when it declines, the Shape's general
    # path alone.
    known: dict[Any, Any] = {}
    fasts: dict[Any, Any] = {}
    for op in ops:
        origin = op.origin
        seq = op.seq
        effects = op.effects
        n = len(effects)
        if not origin or seq < 1 or n == 0:
            raise BadBatch(f"op without origin, seq or effects ({origin!r}:{seq})")
        last = seq + n - 1
        have = vv_get(origin, 0)
        if last <= have:
            continue  # a duplicate: harmless, skipped on apply
        if origin == ours:
            raise BadBatch(f"op {origin}:{seq} claims to be ours but we never issued it")
        if not have and ORIGIN_RE.fullmatch(origin) is None:  # (a known origin was checked)
            raise BadBatch(f"op origin {origin[:80]!r} is not <replica id>.<incarnation>")
        if seq != have + 1:
            raise BadBatch(f"op {origin}:{seq} is not deliverable: we hold {origin} up to seq {have}")
        top = op.hlc + n - 1
        if top > limit:
            ahead = ((top >> LOGICAL_BITS) - node.clock()) / 1000
            raise BadBatch(
                f"op {origin}:{seq} is stamped {ahead:.0f}s ahead of this node's clock "
                f"(max_clock_skew_ms={getattr(node.config, 'max_clock_skew_ms', 300_000)}): "
                "check the replicas' clocks (NTP)"
            )
        if op.deps:
            for o, h in op.deps.items():
                if vh.get(o, 0) < h:
                    raise BadBatch(f"op {origin}:{seq} depends on {o} at hlc {h}, which we lack")
        for eff in effects:
            code = eff[0] if len(eff) >= 3 else None
            chk = known.get(code) if type(code) is int else None
            if chk is None:
                if code is None or not effect_known(code):
                    raise BadBatch(f"op {origin}:{seq} has an unknown effect {eff[:1]!r}")
                chk = check_for(code)
                fasts[code] = getattr(chk, "fast", None)
                chk = known[code] = getattr(chk, "general", chk)  # (Shape.__call__ tries fast again)
            db = eff[1]
            if type(db) is not int or not 0 <= db < ndb:
                raise BadBatch(f"op {origin}:{seq} names database {db!r} of {ndb}")
            if type(eff[2]) is not bytes:
                raise BadBatch(f"op {origin}:{seq} has a non-bytes key")
            fast = fasts[code]
            if fast is None or not fast(eff):
                why = chk(eff, max_bulk)
                if why is not None:
                    raise BadBatch(f"op {origin}:{seq}: {why}")
        vv[op.origin] = last
        vh[op.origin] = top
        if top > highest:
            highest = top
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
