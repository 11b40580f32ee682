"""XREAD and XREADGROUP (t_stream.c xreadCommand), blocking included (blocked.c
serveClientsBlockedOnStreamKey).

A blocked client waits on its keys (`Db.waiters`) and is woken by any write to one of them,
local or replicated: XREAD is served once the stream holds an entry above the ID it waits
for; XREADGROUP `>` once its group has an entry it has not delivered (which, with peers,
includes entries replicated late with lower IDs: crdt/stream_cg.py), and gets Redis's
UNBLOCKED / NOGROUP errors when the key or the group goes away.

XREADGROUP writes: `>` ships the group's new cursor and the pending entries it created in one
effect (XGREAD; no pending entries with NOACK); a history read ships the new delivery counts
and times (XGPEL).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.numbers import parse_int
from ..crdt.stream_cg import INVALID_READ, Group
from ..crdt.stream_log import XGPEL, XGREAD, StreamEntry, id_args
from ..crdt.stream_store import M64, MAX_SID, sid_str
from ..keyspace import Db
from ..reply import NULL_ARRAY, CommandError, ErrorReply, Reply
from .blocking import Waiter
from .helpers import arg_int, check_type, db_of, lookup_read
from .registry import command
from .stream_notify import stream_event
from .stream_util import from_script, keyed_reply, parse_strict, range_reply
from .streams import estimate_read, range_has_tombstones

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

BLOCKED_DEFAULT_COUNT = 1000  # XREAD_BLOCKED_DEFAULT_COUNT
NEW = -1  # the ">" ID


@dataclass
class ReadArgs:
    timeout: int = -1
    count: int = 0
    noack: bool = False
    group: bytes | None = None
    consumer: bytes = b""
    keys: list[bytes] = field(default_factory=list)
    ids: list[bytes] = field(default_factory=list)


def parse_read(argv: list[bytes], xreadgroup: bool, script: bool = False) -> ReadArgs:
    a = ReadArgs()
    n = len(argv)
    streams_at = 0
    i = 1
    while i < n:
        more = n - i - 1
        o = argv[i].lower()
        if o == b"block" and more:
            if script:
                # Redis keeps this error for scripts (CLIENT_DENY_BLOCKING serves the rest).
                raise CommandError(errors.block_from_script(argv[0]))
            i += 1
            t = parse_int(argv[i])
            if t is None:
                raise CommandError(errors.TIMEOUT_NOT_INT)
            if t < 0:
                raise CommandError(errors.TIMEOUT_NEGATIVE)
            a.timeout = t
        elif o == b"count" and more:
            i += 1
            a.count = max(arg_int(argv[i]), 0)
        elif o == b"streams" and more:
            streams_at = i + 1
            if (n - streams_at) % 2:
                raise CommandError(errors.XREAD_UNBALANCED)
            break
        elif o == b"group" and more >= 2:
            if not xreadgroup:
                raise CommandError(errors.XREAD_GROUP_OPTION)
            a.group, a.consumer = argv[i + 1], argv[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                raise CommandError(errors.XREAD_NOACK_OPTION)
            a.noack = True
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if not streams_at:
        raise CommandError(errors.SYNTAX)
    if xreadgroup and a.group is None:
        raise CommandError(errors.XREADGROUP_NO_GROUP)
    half = (n - streams_at) // 2
    a.keys = argv[streams_at:streams_at + half]
    a.ids = argv[streams_at + half:]
    return a


def _stream_keys(argv: list[bytes], start: int) -> list[int]:
    for i in range(start, len(argv)):
        if argv[i].lower() == b"streams":
            half = (len(argv) - i - 1) // 2
            return list(range(i + 1, i + 1 + half))
    return []


def _resolve(node: Node, db: Db, a: ReadArgs, xreadgroup: bool) -> list[int]:
    """The ID each key is read after (NEW for ">"), with Redis's per-key error order."""
    gts: list[int] = []
    for key, idb in zip(a.keys, a.ids, strict=True):
        e = check_type(lookup_read(node, db, key), StreamEntry)
        if a.group is not None and (e is None or e.group(a.group) is None):
            raise CommandError(errors.nogroup_xreadgroup(key, a.group))
        if idb == b"$":
            if xreadgroup:
                raise CommandError(errors.XREADGROUP_DOLLAR)
            gts.append(e.last_id() if e is not None else 0)
        elif idb == b">":
            if not xreadgroup:
                raise CommandError(errors.XREAD_GT_ID)
            gts.append(NEW)
        else:
            gts.append(parse_strict(idb))
    return gts


# ---- serving a group ------------------------------------------------------------------
def has_new(e: StreamEntry, g: Group) -> bool:
    last = e.log.last_sid()
    if last is not None and last > g.top().last:
        return True
    return bool(g.late_candidates(e.log.__contains__))


def serve_new(node: Node, db: Db, key: bytes, e: StreamEntry, gname: bytes, consumer: bytes, count: int,
              noack: bool) -> list[Any]:
    """Deliver what the group has not delivered yet: late entries first (ID order), then
    entries above its last ID; ship the new cursor and the pending entries."""
    g = e.group(gname)
    assert g is not None
    now = node.clock()
    log = e.log
    low = g.late_candidates(log.__contains__)
    top = g.top()
    out: list[tuple[int, list[bytes]]] = []
    for s in low:
        if count and len(out) >= count:
            break
        items = log.get(s)
        if items is not None:
            out.append((s, items))
    if (not count or len(out) < count) and top.last < MAX_SID:
        out += log.range(top.last + 1, MAX_SID, count - len(out) if count else 0)
    last, read = top.last, top.read
    for s, _items in out:
        if s > last:
            if read != INVALID_READ and not range_has_tombstones(e, s):
                read += 1
            elif e.entries_added():
                read = estimate_read(e, s)
            last = s
        elif read != INVALID_READ:
            read += 1  # a late entry (replicated below the cursor) is read now
    late: list[int] = []
    if low:
        done = {s for s, _items in out}
        late = [x for s in low if s <= last and s not in done for x in id_args(s)]
    quads: list[int] = []
    who: bytes | None = consumer
    known = g.consumer(consumer) is not None
    if not noack:
        for s, _items in out:
            quads += (s >> 64, s & M64, now, 1)
    elif known:
        who = None  # NOACK of a known consumer: no write names it (its seen-time is local)
        _seen_here(e, gname, consumer, now)
    node.emit((XGREAD, db.index, key, gname, who, now, last >> 64, last & M64, read, len(late) // 2, *late, *quads))
    if not known:
        stream_event(node, b"xgroup-createconsumer", key, db.index)
    return [[sid_str(s), items] for s, items in out]


def serve_history(node: Node, db: Db, key: bytes, e: StreamEntry, gname: bytes, consumer: bytes, gt: int,
                  count: int) -> list[Any]:
    """The consumer's own pending entries after `gt` (deleted ones as [id, nil])."""
    g = e.group(gname)
    assert g is not None
    now = node.clock()
    c = g.consumer(consumer)
    start = gt + 1 if gt < MAX_SID else 0
    out: list[Any] = []
    quads: list[int] = []
    if c is not None:
        for s in c.pel.irange(minimum=start):
            if count and len(out) >= count:
                break
            items = e.log.get(s)
            if items is None:
                out.append([sid_str(s), NULL_ARRAY])
                continue
            out.append([sid_str(s), items])
            nk = g.nack(s)
            quads += (*id_args(s), now, (nk[4] if nk is not None else 0) + 1)
    if quads or c is None:
        node.emit((XGPEL, db.index, key, gname, consumer, now, *quads))
        if c is None:
            stream_event(node, b"xgroup-createconsumer", key, db.index)
    else:
        _seen_here(e, gname, consumer, now)
    return out


def _seen_here(e: StreamEntry, gname: bytes, consumer: bytes, now: int) -> None:
    """A read that wrote nothing still refreshes the consumer's seen-time, here only."""
    g = e.group(gname)
    c = g.consumer(consumer) if g is not None else None
    if c is not None:
        c.seen_local = max(c.seen_local, now)


# ---- blocking -------------------------------------------------------------------------
class StreamWaiter(Waiter):
    __slots__ = ("gts", "args")

    def __init__(self, node: Node, client: Client, db: Db, a: ReadArgs, gts: dict[bytes, int],
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(node, client, db, list(gts), StreamEntry, _no_serve, True, loop)
        self.gts = gts
        self.args = a

    def retry(self) -> None:
        self.scheduled = False
        if self.future.done():
            return
        node, db, a = self.node, self.db, self.args
        ready, self.ready = self.ready, []
        count = a.count or BLOCKED_DEFAULT_COUNT
        try:
            for k in dict.fromkeys([*ready, *self.keys]):
                e = lookup_read(node, db, k)
                if a.group is None:
                    if type(e) is not StreamEntry:
                        continue
                    gt = self.gts[k]
                    last = e.log.last_sid()
                    if last is None or last <= gt:
                        continue
                    res = range_reply(e, gt + 1, MAX_SID, count)
                else:
                    if type(e) is not StreamEntry:
                        self._fail(errors.XBLOCK_KEY_GONE)
                        return
                    g = e.group(a.group)
                    if g is None:
                        self._fail(errors.XBLOCK_GROUP_GONE)
                        return
                    if not has_new(e, g):
                        continue
                    res = serve_new(node, db, k, e, a.group, a.consumer, count, a.noack)
                self.future.set_result(keyed_reply(self.client, [(k, res)]))
                return
        finally:
            node.close_group()


    def _fail(self, msg: str) -> None:
        # An error a blocked client gets counts in INFO errorstats, as Redis's
        # updateStatsOnUnblock does.
        prefix = msg.split(" ", 1)[0]
        errs = self.node.error_counts
        errs[prefix] = errs.get(prefix, 0) + 1
        cmd = self.node.commands.get(b"xreadgroup")
        if cmd is not None:
            cmd.errors += 1
        self.future.set_result(ErrorReply(msg))


def _no_serve(db: Db, key: bytes, e: Any) -> Any:
    return None


def _read(node: Node, client: Client, argv: list[bytes], xreadgroup: bool) -> Reply:
    a = parse_read(argv, xreadgroup, from_script(client))
    db = db_of(node, client)
    gts = _resolve(node, db, a, xreadgroup)
    pairs: list[tuple[bytes, Any]] = []
    for key, gt in zip(a.keys, gts, strict=True):
        e = lookup_read(node, db, key)
        if type(e) is not StreamEntry:
            continue
        if a.group is None:
            last = e.log.last_sid()
            if last is not None and last > gt:
                pairs.append((key, range_reply(e, gt + 1, MAX_SID, a.count)))
            continue
        g = e.group(a.group)
        if g is None:
            continue
        if gt != NEW:
            pairs.append((key, serve_history(node, db, key, e, a.group, a.consumer, gt, a.count)))
        elif has_new(e, g):
            pairs.append((key, serve_new(node, db, key, e, a.group, a.consumer, a.count, a.noack)))
    if pairs:
        return keyed_reply(client, pairs)
    if a.timeout < 0 or client.in_exec:
        return NULL_ARRAY
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return NULL_ARRAY
    waits: dict[bytes, int] = {}
    for k, gt in zip(a.keys, gts, strict=True):
        waits.setdefault(k, gt)  # a key named twice waits for its first ID, as blockForKeys
    return StreamWaiter(node, client, db, a, waits, loop).block(a.timeout)


# XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
@command("xread", -4, "readonly blocking", group="stream",
         summary="Return never seen elements in multiple streams, with IDs greater than the ones reported "
                 "by the caller for each stream. Can block.", since="5.0.0", acl="stream slow blocking",
         getkeys=lambda argv: _stream_keys(argv, 1))
def xread_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _read(node, client, argv, False)


# XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]
@command("xreadgroup", -7, "write blocking", group="stream",
         summary="Return new entries from a stream using a consumer group, or access the history of the "
                 "pending entries for a given consumer. Can block.", since="5.0.0",
         acl="stream slow blocking", getkeys=lambda argv: _stream_keys(argv, 4))
def xreadgroup_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _read(node, client, argv, True)
