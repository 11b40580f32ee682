"""A read batch's run of pipelined `SET key value` requests, executed in one call.

A client that pipelines SETs (a cache warm-up, `redis-cli --pipe`, redis-benchmark) sends
runs of them in one read. Run one by one, each SET pays for `Node.execute`'s checks, its
timing, the handler, `Node._emit` and `Keyspace.apply_local`: about 1 µs of interpreted
Python of which the write itself (a tuple stored in a dict) is a small part. The request
loops (protocol/plainrun.pyx and its Python twin in protocol/connection.py) hand such a
run to `run_sets`, which does what those per-request steps would do, once for the run:

* the same checks as `Node.execute`'s straight path, once: a run only starts while the op
  a read batch's writes share is open for this client (`Node._merging`), so its SETs join
  that op exactly as they would one by one, and never more of them than fit under
  `MERGE_CAP` (the op closes there, as `execute` closes it);
* the effects are the ones `set_cmd` emits, applied by `Node._emit_all` (MSET's path:
  `keyspace_batch.apply_local_all`, the same seq, HLC, vectors and GC notes per effect);
* the run is timed once: INFO commandstats counts each SET and the whole time, the latency
  histogram and SLOWLOG see each SET as the run's mean (Redis times each call; a SET of a
  run is O(1) work, the same for each).

Anything that makes a SET do more than that (keyspace events, a `new`-key hook, tracking,
MONITOR, CLIENT PAUSE, ACL checks, maxmemory, a busy script, a write refusal, MULTI) makes
`run_sets` decline, and the SETs take `Node.execute` one by one.
"""
from __future__ import annotations

from time import perf_counter_ns
from typing import TYPE_CHECKING

from . import keyspace_batch
from .reply import OK

if TYPE_CHECKING:
    from .client import Client
    from .cmdtable import Command
    from .node import Node

# `run_sets` declined for the rest of this read batch (a reason that holds for all of it).
NOT_HERE = -1


def run_sets(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int,
             merge_cap: int) -> tuple[int, BaseException | None]:
    """Execute cmds[i:j] (each `SET key value`, spelled SET or set: the loop checks) and
    return `(k, exc)`: the first k of them ran and each answers +OK. With `exc` not None,
    request i + k raised it, as `Node.execute` would have raised it (its effect is in the
    op, as `Node._emit` leaves it), and the requests after it have not run. k == 0: run
    cmds[i] through `Node.execute` (the batch's op is not open for this client yet) and
    try again after it; k == NOT_HERE: not in this read batch."""
    cmd = node._plain.get(cmds[i][0])
    if cmd is None or cmd.name != "set" or client.special or node.hooked or client.in_multi \
            or client.in_exec or not client.authenticated or not client.batching \
            or not node.merge_writes or node.notify is not None or node.emit_hook is not None \
            or node.persistence_error is not None or node.sync_error is not None:
        return NOT_HERE, None
    op = node._group
    if op is None or node._merging is not client:
        return 0, None
    before = len(op.effects)
    k = min(j - i, merge_cap - before)
    if k <= 0:  # (execute closes a full op: cannot happen)
        return 0, None
    t0 = perf_counter_ns()
    try:
        node._emit_all(keyspace_batch.run_effects(client.db, cmds, i, i + k))
    except Exception as exc:  # an apply raised: the SETs before it are done (_emit_all)
        k = max(len(op.effects) - before - 1, 0)
        _count(node, client, cmds, i, k, perf_counter_ns() - t0, cmd)
        return k, exc
    _count(node, client, cmds, i, k, perf_counter_ns() - t0, cmd)
    if len(op.effects) >= merge_cap:  # as `execute` closes it after the SET that fills it
        node._merging = None
        node.close_group()
        client.last_seq = op.seq + len(op.effects) - 1
    return k, None


def _count(node: Node, client: Client, cmds: list[list[bytes]], i: int, k: int, dt: int, cmd: Command) -> None:
    """What `timed_call` and `execute` record of each of k SETs that ran."""
    if not k:
        return
    cmd.stats.record_run(k, dt)
    each = dt // k
    if each >= node.slow_ns:
        for x in range(i, i + k):
            node.on_slow(client, cmd, cmds[x], each, OK)
    client.last_cmd = cmds[i + k - 1][0]
    node.keyspace.emptied = None
