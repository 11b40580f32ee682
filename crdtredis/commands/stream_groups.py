"""Consumer group commands (Redis 7.0 t_stream.c): XGROUP CREATE|SETID|DESTROY|
CREATECONSUMER|DELCONSUMER|HELP, XACK, XPENDING, XCLAIM, XAUTOCLAIM. XREADGROUP lives in
stream_read.py.

Every write is one of the group effects of crdt/stream_log.py, with the concrete values
its origin decided: a cursor value (XGCURSOR: CREATE, SETID, XCLAIM LASTID), deliveries
and claims with their times and counts (XGPEL), acknowledgements (XGACK; XCLAIM and
XAUTOCLAIM also ack pending entries whose stream entry is gone), removals (XGREMOVE).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.numbers import parse_int
from ..crdt.stream_cg import INVALID_READ, Group
from ..crdt.stream_log import XGACK, XGCURSOR, XGPEL, XGREMOVE, XSETID, StreamEntry, id_args
from ..crdt.stream_store import M64, MAX_SID, sid_str
from ..reply import OK, CommandError, Reply, Status
from .helpers import arg_int, check_type, db_of, lookup_read
from .registry import command
from .stream_notify import stream_event
from .stream_util import parse_id, parse_interval, parse_strict, write_stream

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

LONG_MAX = (1 << 63) - 1
AUTOCLAIM_COUNT_MAX = LONG_MAX // 16


def _flat(sids: list[int]) -> list[int]:
    out: list[int] = []
    for s in sids:
        out += (s >> 64, s & M64)
    return out


# ---- XGROUP ------------------------------------------------------------------------------
# XGROUP <subcommand> [<arg> ...]
@command("xgroup", -2, "", group="stream", summary="A container for consumer groups commands",
         since="5.0.0", acl="slow")
def xgroup_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    raise CommandError(errors.unknown_subcommand(argv[1], "xgroup"))


def _xgroup_prepare(node: Node, client: Client, argv: list[bytes], sub: bytes) -> tuple[Any, StreamEntry | None,
                                                                                          Group | None, bool, int]:
    """xgroupCommand's shared part: options, key, group checks, in Redis's order."""
    mkstream = False
    entries_read = INVALID_READ
    i = 5
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if sub == b"create" and opt == b"mkstream":
            mkstream = True
            i += 1
        elif sub in (b"create", b"setid") and opt == b"entriesread" and i + 1 < n:
            entries_read = arg_int(argv[i + 1])
            if entries_read < 0 and entries_read != INVALID_READ:
                raise CommandError(errors.ENTRIESREAD_RANGE)
            i += 2
        else:
            raise CommandError(errors.subcommand_syntax(argv[1], argv[0].decode("latin-1")))
    db, e = write_stream(node, client, argv[2])
    g = e.group(argv[3]) if e is not None else None
    if not mkstream:
        if e is None:
            raise CommandError(errors.XGROUP_NO_KEY)
        if g is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
            raise CommandError(errors.nogroup_for_key(argv[3], argv[2]))
    return db, e, g, mkstream, entries_read


# XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]
@command("create", -5, "write denyoom", 2, 2, 1, group="stream", summary="Create a consumer group.",
         since="5.0.0", acl="stream slow", parent="xgroup")
def xgroup_create_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, e, g, _mk, read = _xgroup_prepare(node, client, argv, b"create")
    if len(argv) > 8:
        raise CommandError(errors.subcommand_syntax(argv[1], argv[0].decode("latin-1")))
    if argv[4] == b"$":
        sid = e.last_id() if e is not None else 0
    else:
        sid = parse_strict(argv[4])
    key = argv[2]
    if e is None:
        node.emit((XSETID, db.index, key, 0, 0, -1, -1, -1))  # MKSTREAM: an empty stream
    elif g is not None:
        raise CommandError(errors.BUSYGROUP)
    node.emit((XGCURSOR, db.index, key, argv[3], *id_args(sid), read, True))
    stream_event(node, b"xgroup-create", key, db.index)
    return OK


# XGROUP SETID key group id|$ [ENTRIESREAD entries-read]
@command("setid", -5, "write", 2, 2, 1, group="stream",
         summary="Set a consumer group to an arbitrary last delivered ID value.", since="5.0.0",
         acl="stream slow", parent="xgroup")
def xgroup_setid_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, e, g, _mk, read = _xgroup_prepare(node, client, argv, b"setid")
    if len(argv) not in (5, 7):
        raise CommandError(errors.subcommand_syntax(argv[1], argv[0].decode("latin-1")))
    assert e is not None
    sid = e.last_id() if argv[4] == b"$" else parse_id(argv[4])[0]
    node.emit((XGCURSOR, db.index, argv[2], argv[3], *id_args(sid), read, False))
    stream_event(node, b"xgroup-setid", argv[2], db.index)
    return OK


# XGROUP DESTROY key group
@command("destroy", 4, "write", 2, 2, 1, group="stream", summary="Destroy a consumer group.",
         since="5.0.0", acl="stream slow", parent="xgroup")
def xgroup_destroy_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, _e, g, _mk, _read = _xgroup_prepare(node, client, argv, b"destroy")
    if g is None:
        return 0
    node.emit((XGREMOVE, db.index, argv[2], argv[3], None))
    stream_event(node, b"xgroup-destroy", argv[2], db.index)
    return 1


# XGROUP CREATECONSUMER key group consumer
@command("createconsumer", 5, "write denyoom", 2, 2, 1, group="stream",
         summary="Create a consumer in a consumer group.", since="6.2.0", acl="stream slow", parent="xgroup")
def xgroup_createconsumer_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, _e, g, _mk, _read = _xgroup_prepare(node, client, argv, b"createconsumer")
    assert g is not None
    if g.consumer(argv[4]) is not None:
        return 0
    node.emit((XGPEL, db.index, argv[2], argv[3], argv[4], node.clock()))
    stream_event(node, b"xgroup-createconsumer", argv[2], db.index)
    return 1


# XGROUP DELCONSUMER key group consumer
@command("delconsumer", 5, "write", 2, 2, 1, group="stream", summary="Delete a consumer from a consumer group.",
         since="5.0.0", acl="stream slow", parent="xgroup")
def xgroup_delconsumer_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, _e, g, _mk, _read = _xgroup_prepare(node, client, argv, b"delconsumer")
    assert g is not None
    c = g.consumer(argv[4])
    if c is None:
        return 0
    pending = len(c.pel)
    node.emit((XGREMOVE, db.index, argv[2], argv[3], argv[4]))
    stream_event(node, b"xgroup-delconsumer", argv[2], db.index)
    return pending


_XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
]


# XGROUP HELP
@command("help", 2, "loading stale", group="stream", summary="Show helpful text about the different subcommands",
         since="5.0.0", acl="stream slow", parent="xgroup")
def xgroup_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return [Status(line.encode()) for line in _XGROUP_HELP]


# ---- XACK / XPENDING ---------------------------------------------------------------------
def _group_read(node: Node, client: Client, key: bytes, gname: bytes) -> tuple[StreamEntry | None, Group | None]:
    e = check_type(lookup_read(node, db_of(node, client), key), StreamEntry)
    return e, (e.group(gname) if e is not None else None)


# XACK key group id [id ...]
@command("xack", -4, "write fast", 1, 1, 1, group="stream",
         summary="Marks a pending message as correctly processed, effectively removing it from the pending "
                 "entries list of the consumer group. Return value of the command is the number of messages "
                 "successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
         since="5.0.0", acl="stream fast")
def xack_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e, g = _group_read(node, client, argv[1], argv[2])
    if g is None:
        return 0
    sids = [parse_strict(x) for x in argv[3:]]
    acked = [s for s in dict.fromkeys(sids) if s in g.pel]
    if acked:
        node.emit((XGACK, client.db, argv[1], argv[2], *_flat(acked)))
    return len(acked)


# XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
@command("xpending", -3, "readonly", 1, 1, 1, group="stream",
         summary="Return information and entries from a stream consumer group pending entries list, that "
                 "are messages fetched but never acknowledged.", since="5.0.0", acl="stream slow")
def xpending_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    n = len(argv)
    if n != 3 and (n < 6 or n > 9):
        raise CommandError(errors.SYNTAX)
    minidle = 0
    start = end = count = 0
    consumer: bytes | None = None
    if n >= 6:
        at = 3
        if argv[3].lower() == b"idle":
            minidle = arg_int(argv[4])
            if n < 8:
                raise CommandError(errors.SYNTAX)
            at = 5
        count = max(arg_int(argv[at + 2]), 0)
        start, sx = parse_interval(argv[at], 0)
        if sx:
            if start == MAX_SID:
                raise CommandError(errors.INVALID_START_ID)
            start += 1
        end, ex = parse_interval(argv[at + 1], M64)
        if ex:
            if end == 0:
                raise CommandError(errors.INVALID_END_ID)
            end -= 1
        if at + 3 < n:
            consumer = argv[at + 3]
    e, g = _group_read(node, client, argv[1], argv[2])
    if g is None:
        raise CommandError(errors.nogroup_key_or_group(argv[1], argv[2]))
    if n == 3:
        if not g.pel:
            return [0, None, None, None]
        per = [[name, str(len(c.pel)).encode()] for name, c in sorted(g.consumers.items()) if c.pel]
        return [len(g.pel), sid_str(g.pel.keys()[0]), sid_str(g.pel.keys()[-1]), per]
    if consumer is not None:
        c = g.consumer(consumer)
        if c is None:
            return []
        sids: Any = c.pel.irange(start, end)
    else:
        sids = g.pel.irange(start, end)
    now = node.clock()
    out: list[Any] = []
    for s in sids:
        if not count:
            break
        nk = g.nack(s)
        if nk is None:
            continue
        if minidle and now - nk[3] < minidle:
            continue
        count -= 1
        out.append([sid_str(s), nk[2], max(now - nk[3], 0), nk[4]])
    return out


# ---- XCLAIM / XAUTOCLAIM -----------------------------------------------------------------
def _claim_group(node: Node, client: Client, argv: list[bytes]) -> tuple[StreamEntry, Group]:
    e, g = _group_read(node, client, argv[1], argv[2])
    if e is None or g is None:
        raise CommandError(errors.nogroup_key_or_group(argv[1], argv[2]))
    return e, g


def _long(b: bytes, msg: str) -> int:
    v = parse_int(b)
    if v is None:
        raise CommandError(msg)
    return v


# XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds]
#        [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
@command("xclaim", -6, "write fast", 1, 1, 1, group="stream",
         summary="Changes (or acquires) ownership of a message in a consumer group, as if the message was "
                 "delivered to the specified consumer.", since="5.0.0", acl="stream fast")
def xclaim_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e, g = _claim_group(node, client, argv)
    minidle = max(_long(argv[4], errors.XCLAIM_MIN_IDLE), 0)
    n = len(argv)
    sids: list[int] = []
    j = 5
    while j < n:
        try:
            sids.append(parse_strict(argv[j]))
        except CommandError:
            break
        j += 1
    now = node.clock()
    force = justid = False
    retry = -1
    dtime = -1
    lastid = 0
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            dtime = now - _long(argv[j], errors.XCLAIM_IDLE)
        elif opt == b"time" and more:
            j += 1
            dtime = _long(argv[j], errors.XCLAIM_TIME)
        elif opt == b"retrycount" and more:
            j += 1
            retry = _long(argv[j], errors.XCLAIM_RETRYCOUNT)
        elif opt == b"lastid" and more:
            j += 1
            lastid = parse_strict(argv[j])
        else:
            raise CommandError(errors.xclaim_option(argv[j]))
        j += 1
    dbi, key, gname, cname = client.db, argv[1], argv[2], argv[3]
    top = g.top()
    if lastid > top.last:
        late = [s for s in g.late_candidates(e.log.__contains__)]
        node.emit((XGCURSOR, dbi, key, gname, *id_args(lastid), top.read, False, *_flat(late)))
    if dtime == -1 or dtime < 0 or dtime > now:
        dtime = now
    # Claims within the command see each other (an ID named twice), as Redis's in place.
    mine: dict[int, tuple[bytes | None, int, int]] = {}
    gone: list[int] = []
    out: list[Any] = []
    log = e.log
    for s in sids:
        cur = mine.get(s)
        if cur is None:
            nk = g.nack(s)
            cur = None if nk is None else (nk[2], nk[3], nk[4])
        if s not in log:
            if cur is not None and s not in gone:
                gone.append(s)
            mine.pop(s, None)
            continue
        if force and cur is None:
            cur = (None, now, 1)
        if cur is None:
            continue
        if cur[0] is not None and minidle and now - cur[1] < minidle:
            continue
        cnt = retry if retry >= 0 else (cur[2] if justid else cur[2] + 1)
        mine[s] = (cname, dtime, cnt)
        out.append(sid_str(s) if justid else [sid_str(s), log.get(s)])
    if gone:
        node.emit((XGACK, dbi, key, gname, *_flat(gone)))
    if mine:
        quads: list[int] = []
        for s, (_c, t, cnt) in mine.items():
            quads += (*id_args(s), t, cnt)
        new_consumer = g.consumer(cname) is None
        node.emit((XGPEL, dbi, key, gname, cname, now, *quads))
        if new_consumer:
            stream_event(node, b"xgroup-createconsumer", key, dbi)
    return out


# XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
@command("xautoclaim", -6, "write fast", 1, 1, 1, group="stream",
         summary="Changes (or acquires) ownership of messages in a consumer group, as if the messages were "
                 "delivered to the specified consumer.", since="6.2.0", acl="stream fast")
def xautoclaim_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    minidle = max(_long(argv[4], errors.XAUTOCLAIM_MIN_IDLE), 0)
    start, sx = parse_interval(argv[5], 0)
    if sx:
        if start == MAX_SID:
            raise CommandError(errors.INVALID_START_ID)
        start += 1
    count = 100
    justid = False
    j = 6
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        if opt == b"count" and j + 1 < n:
            v = parse_int(argv[j + 1])
            if v is None or not 1 <= v <= AUTOCLAIM_COUNT_MAX:
                raise CommandError(errors.XAUTOCLAIM_COUNT)
            count = v
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    e, g = _claim_group(node, client, argv)
    now = node.clock()
    attempts = count * 10
    log = e.log
    claimed: list[Any] = []
    quads: list[int] = []
    deleted: list[int] = []
    it = g.pel.irange(minimum=start)
    nxt = next(it, None)
    while attempts > 0 and count and nxt is not None:
        attempts -= 1
        s = nxt
        nxt = next(it, None)
        nk = g.nack(s)
        if nk is None:
            continue
        if s not in log:
            deleted.append(s)
            count -= 1
            continue
        if minidle and now - nk[3] < minidle:
            continue
        quads += (*id_args(s), now, nk[4] if justid else nk[4] + 1)
        claimed.append(sid_str(s) if justid else [sid_str(s), log.get(s)])
        count -= 1
    if deleted:
        node.emit((XGACK, db.index, argv[1], argv[2], *_flat(deleted)))
    if quads:
        new_consumer = g.consumer(argv[3]) is None
        node.emit((XGPEL, db.index, argv[1], argv[2], argv[3], now, *quads))
        if new_consumer:
            stream_event(node, b"xgroup-createconsumer", argv[1], db.index)
    return [sid_str(nxt if nxt is not None else 0), claimed, [sid_str(s) for s in deleted]]
