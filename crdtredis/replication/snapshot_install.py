"""A peer's snapshot in place of this replica's keyspace (Replication._fetch_snapshot): the
file is loaded into a second keyspace in a worker thread, checked to cover every op this
replica has applied, and swapped in on the loop thread. While it loads, the node's memory
meter is held (memory.py: the copy is not counted against maxmemory)."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..clock import vv_covers
from ..keyspace import Keyspace
from ..storage import snapshot

if TYPE_CHECKING:
    from .service import Replication

log = logging.getLogger("crdtredis.replication")


def install(repl: Replication, path: str) -> bool:
    """Load the snapshot at `path` beside the keyspace (in a worker thread) and swap it in
    on the loop thread (`swap`); False if it does not cover our own ops."""
    node = repl.node
    # The header's vector first: a snapshot that does not cover our ops (we wrote while
    # it was taken) is refused before it is loaded, not after. Loading it held a second
    # keyspace in memory for nothing, which under maxmemory took the replica past its
    # limit with every key evicted (writes refused with OOM) at each retry: seven
    # retries in a row while its clients kept writing (tests/test_maxmemory.py).
    # Our vector is copied (one C-level step) before each check: this runs in a worker
    # thread while the loop may add an origin to it, which would break an iteration.
    head = snapshot.base_header(path)
    if head is not None and isinstance(head.get("vv"), dict) \
            and not vv_covers(head["vv"], dict(node.keyspace.vv)):
        log.info("snapshot does not cover our ops yet; pushing ours first")
        return False
    fresh = Keyspace(node.origin, len(node.keyspace.dbs))
    snapshot.load_base(path, fresh)
    if not vv_covers(fresh.vv, dict(node.keyspace.vv)):
        log.info("snapshot does not cover our ops yet; pushing ours first")
        return False
    # Swap on the loop thread: nothing may run between the check and the swap.
    fut = asyncio.run_coroutine_threadsafe(swap(repl, fresh, path), repl._loop_ref)
    return fut.result()


async def swap(repl: Replication, fresh: Keyspace, path: str) -> bool:
    """The loaded snapshot replaces the keyspace, its vectors, the op log's base and what
    the backlog can serve; nothing runs between the coverage check and the swap."""
    node = repl.node
    ks = node.keyspace
    if not vv_covers(fresh.vv, ks.vv):
        return False
    persistence = node.persistence
    if persistence is not None and persistence.oplog is not None:
        persistence.oplog.install_base(path)
    for db, new in zip(ks.dbs, fresh.dbs, strict=True):
        watched, waiters = db.watched, db.waiters
        db.data, db.expires, db.shadow = new.data, new.expires, new.shadow
        db.visit_whole()  # GC's next pass visits the installed keys (Keyspace.gc_chunks)
        db.touch_all()
        db.watched, db.waiters = watched, waiters
    # Function libraries travel in the snapshot too (crdt/functions.py).
    ks.functions.load_state(fresh.functions.state())
    ks.vv.clear()
    ks.vv.update(fresh.vv)
    ks.vh.clear()
    ks.vh.update(fresh.vh)
    deps = dict(ks.vh)
    deps.pop(ks.origin, None)
    ks.deps = deps
    for h in fresh.vh.values():
        node.hlc.observe(h)
    if persistence is not None and persistence.oplog is not None:
        persistence.oplog.mark_durable(ks.vv, ks.vh)  # the base is fsynced
    repl.backlog.evicted.update(fresh.vv)
    repl.snapshot_installs += 1
    log.info("installed a snapshot: %d keys", sum(len(d.data) for d in ks.dbs))
    return True
