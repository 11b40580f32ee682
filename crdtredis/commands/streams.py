"""Stream commands (Redis 7.0 t_stream.c): XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID XINFO.

Writes reduce to the effects of crdt/stream_log.py: XADD ships the entry with the ID its
origin chose; trimming (XADD MAXLEN|MINID, XTRIM) decides at the origin, exactly as Redis
does on the local layout, which entries go, and ships the ID of the last one (peers remove
the entries up to it that the origin had seen); XDEL ships the IDs it deleted. Consumer
groups: stream_groups.py; XREAD/XREADGROUP: stream_read.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.stream_cg import INVALID_READ, Group, visible
from ..crdt.stream_log import XADD, XDEL, XSETID, XTRIM, StreamEntry, id_args
from ..crdt.stream_store import LISTPACK_MAX, M64, MAX_SID, sid_str
from ..keyspace import Db
from ..reply import NULL_ARRAY, OK, CommandError, Map, Reply, Status
from .helpers import arg_int
from .registry import command
from .stream_notify import stream_event
from .stream_util import (
    TrimArgs,
    entry_reply,
    next_id,
    origin_tag,
    parse_range,
    parse_strict,
    parse_trim,
    range_reply,
    read_stream,
    seq_for_ms,
    sync_layout,
    write_stream,
)

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node


def _trim(node: Node, db: Db, key: bytes, a: TrimArgs) -> int:
    e = db.data.get(key)
    if type(e) is not StreamEntry:
        return 0
    deleted, last = e.log.trim_plan(a.maxlen, a.minid, a.approx, a.limit)
    if deleted:
        node.emit((XTRIM, db.index, key, last >> 64, last & M64))
    return deleted


# XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
@command("xadd", -5, "write denyoom fast", 1, 1, 1, group="stream",
         summary="Appends a new entry to a stream", since="5.0.0", acl="stream fast")
def xadd_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    a = parse_trim(node, argv, True)
    field_pos = a.idpos + 1
    nitems = len(argv) - field_pos
    if nitems < 2 or nitems % 2:
        raise CommandError(errors.wrong_arity("xadd"))
    if a.id_given and a.seq_given and a.sid == 0:
        raise CommandError(errors.XADD_ID_ZERO)
    key = argv[1]
    db, e = write_stream(node, client, key)
    if e is None and a.nomkstream:
        return None
    last = e.last_id() if e is not None else 0
    if last == MAX_SID:
        raise CommandError(errors.XADD_EXHAUSTED)
    tag = origin_tag(node)
    sid: int | None
    if not a.id_given:
        sid = next_id(last, node.clock(), tag)
    elif not a.seq_given:
        sid = seq_for_ms(last, a.sid >> 64, tag)
    else:
        sid = a.sid
    if sid is None or sid <= last:
        raise CommandError(errors.XADD_ID_TOO_SMALL)
    items = argv[field_pos:]
    if len(items) > 2 or len(items[1]) > 1 << 20:
        if sum(len(x) for x in items) > LISTPACK_MAX:
            raise CommandError(errors.XADD_TOO_LARGE)
    sync_layout(node)
    node.emit((XADD, db.index, key, sid >> 64, sid & M64, *items))
    stream_event(node, b"xadd", key, db.index)
    if a.strategy and _trim(node, db, key, a):
        stream_event(node, b"xtrim", key, db.index)
    return sid_str(sid)


def _xrange(node: Node, client: Client, argv: list[bytes], rev: bool) -> Reply:
    start, end = parse_range(argv[3], argv[2]) if rev else parse_range(argv[2], argv[3])
    count = -1
    j = 4
    while j < len(argv):
        if argv[j].lower() == b"count" and j + 1 < len(argv):
            count = max(arg_int(argv[j + 1]), 0)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    e = read_stream(node, client, argv[1])
    if e is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return range_reply(e, start, end, max(count, 0), rev)


# XRANGE key start end [COUNT count]
@command("xrange", -4, "readonly", 1, 1, 1, group="stream",
         summary="Return a range of elements in a stream, with IDs matching the specified IDs interval",
         since="5.0.0", acl="stream slow")
def xrange_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _xrange(node, client, argv, False)


# XREVRANGE key end start [COUNT count]
@command("xrevrange", -4, "readonly", 1, 1, 1, group="stream",
         summary="Return a range of elements in a stream, with IDs matching the specified IDs interval, "
                 "in reverse order (from greater to smaller IDs) compared to XRANGE",
         since="5.0.0", acl="stream slow")
def xrevrange_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _xrange(node, client, argv, True)


# XLEN key
@command("xlen", 2, "readonly fast", 1, 1, 1, group="stream",
         summary="Return the number of entries in a stream", since="5.0.0", acl="stream fast")
def xlen_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = read_stream(node, client, argv[1])
    return 0 if e is None else len(e)


# XDEL key id [id ...]
@command("xdel", -3, "write fast", 1, 1, 1, group="stream",
         summary="Removes the specified entries from the stream. Returns the number of items actually "
                 "deleted, that may be different from the number of IDs passed in case certain IDs do "
                 "not exist.", since="5.0.0", acl="stream fast")
def xdel_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, e = write_stream(node, client, argv[1])
    if e is None:
        return 0
    sids = [parse_strict(x) for x in argv[2:]]
    log = e.log
    present = [s for s in dict.fromkeys(sids) if s in log]
    if not present:
        return 0
    maxdel = max(e.max_deleted(), max(present))
    args: list[int] = []
    for s in present:
        args += (s >> 64, s & M64)
    node.emit((XDEL, db.index, argv[1], *id_args(maxdel), *args))
    stream_event(node, b"xdel", argv[1], db.index)
    return len(present)


# XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
@command("xtrim", -4, "write", 1, 1, 1, group="stream",
         summary="Trims the stream to (approximately if '~' is passed) a certain size", since="5.0.0",
         acl="stream slow")
def xtrim_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    a = parse_trim(node, argv, False)
    db, e = write_stream(node, client, argv[1])
    if e is None:
        return 0
    n = _trim(node, db, argv[1], a)
    if n:
        stream_event(node, b"xtrim", argv[1], db.index)
    return n


# XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
@command("xsetid", -3, "write denyoom fast", 1, 1, 1, group="stream",
         summary="An internal command for replicating stream values", since="5.0.0", acl="stream fast")
def xsetid_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    sid = parse_strict(argv[2])
    added = -1
    maxdel = 0
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"entriesadded" and i + 1 < n:
            added = arg_int(argv[i + 1])
            if added < 0:
                raise CommandError(errors.XSETID_ADDED_NEGATIVE)
            i += 2
        elif opt == b"maxdeletedid" and i + 1 < n:
            maxdel = parse_strict(argv[i + 1])
            if sid < maxdel:
                raise CommandError(errors.XSETID_BELOW_MAXDEL)
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    db, e = write_stream(node, client, argv[1])
    if e is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if len(e):
        if sid < (e.log.last_sid() or 0):
            raise CommandError(errors.XSETID_BELOW_TOP)
        if added != -1 and len(e) > added:
            raise CommandError(errors.XSETID_ADDED_BELOW_LEN)
    node.emit((XSETID, db.index, argv[1], *id_args(sid), added, *(id_args(maxdel) if maxdel else (-1, -1))))
    stream_event(node, b"xsetid", argv[1], db.index)
    return OK


# ---- XINFO ------------------------------------------------------------------------------
def range_has_tombstones(e: StreamEntry, start: int) -> bool:
    """streamRangeHasTombstones(s, start, NULL)."""
    if not e.maxdel or not len(e):
        return False
    md = e.max_deleted()
    if md == 0:
        return False
    if (e.log.first_sid() or 0) > md:
        return False
    return start <= md


def estimate_read(e: StreamEntry, sid: int) -> int:
    """streamEstimateDistanceFromFirstEverEntry (INVALID_READ when unknown)."""
    added = e.entries_added()
    if not added:
        return 0
    last = e.last_id()
    n = len(e)
    if not n and sid <= last:
        return added
    if sid == last:
        return added
    if sid > last:
        return INVALID_READ
    md = e.max_deleted()
    first = e.log.first_sid() or 0
    if md == 0 or md < first:
        if sid < first:
            return added - n
        if sid == first:
            return added - n + 1
    return INVALID_READ


def group_lag(e: StreamEntry, g: Group) -> int | None:
    """streamReplyWithCGLag."""
    added = e.entries_added()
    if not added:
        return 0
    top = g.top()
    if top.read != INVALID_READ and not range_has_tombstones(e, top.last):
        return added - top.read
    read = estimate_read(e, top.last)
    return None if read == INVALID_READ else added - read


def _header(e: StreamEntry) -> list[tuple[bytes, Any]]:
    log = e.log
    return [
        (b"length", len(e)),
        (b"radix-tree-keys", len(log.chunks)),
        (b"radix-tree-nodes", log.rax_nodes()),
        (b"last-generated-id", sid_str(e.last_id())),
        (b"max-deleted-entry-id", sid_str(e.max_deleted())),
        (b"entries-added", e.entries_added()),
        (b"recorded-first-entry-id", sid_str(log.first_sid() or 0)),
    ]


def _stream_full(e: StreamEntry, count: int) -> list[tuple[bytes, Any]]:
    out = _header(e)
    out.append((b"entries", range_reply(e, 0, MAX_SID, count)))
    groups: list[Any] = []
    for name, g in e.live_groups():
        top = g.top()
        pending: list[Any] = []
        for sid, vals in g.pel.items():
            if count and len(pending) >= count:
                break
            v = visible(vals)
            pending.append([sid_str(sid), v[2], v[3], v[4]])
        consumers = []
        for cname, c in g.live_consumers():
            cp: list[Any] = []
            for sid in c.pel:
                if count and len(cp) >= count:
                    break
                nk = g.nack(sid)
                if nk is not None:
                    cp.append([sid_str(sid), nk[3], nk[4]])
            consumers.append(Map([(b"name", cname), (b"seen-time", c.seen_time()), (b"pel-count", len(c.pel)),
                                  (b"pending", cp)]))
        groups.append(Map([
            (b"name", name), (b"last-delivered-id", sid_str(top.last)),
            (b"entries-read", None if top.read == INVALID_READ else top.read),
            (b"lag", group_lag(e, g)), (b"pel-count", len(g.pel)), (b"pending", pending),
            (b"consumers", consumers),
        ]))
    out.append((b"groups", groups))
    return out


def _info_key(node: Node, client: Client, key: bytes) -> StreamEntry:
    e = read_stream(node, client, key)
    if e is None:
        raise CommandError(errors.NO_SUCH_KEY)
    return e


# XINFO <subcommand> [<arg> ...]
@command("xinfo", -2, "", group="stream", summary="A container for stream introspection commands",
         since="5.0.0", acl="slow")
def xinfo_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    raise CommandError(errors.unknown_subcommand(argv[1], "xinfo"))


# XINFO STREAM key [FULL [COUNT count]]
@command("stream", -3, "readonly", 2, 2, 1, group="stream", summary="Get information about a stream",
         since="5.0.0", acl="stream slow", parent="xinfo")
def xinfo_stream_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _info_key(node, client, argv[2])
    opts = argv[3:]
    full = bool(opts)
    count = 10
    if opts and (len(opts) not in (1, 3) or opts[0].lower() != b"full"
                 or (len(opts) == 3 and opts[1].lower() != b"count")):
        raise CommandError(errors.subcommand_syntax(argv[1], argv[0].decode("latin-1")))
    if len(opts) == 3:
        count = arg_int(opts[2])
        if count < 0:
            count = 10
    if full:
        return Map(_stream_full(e, count))
    out = _header(e)
    out.append((b"groups", len(e.live_groups())))
    first = e.log.range(0, MAX_SID, 1)
    last = e.log.range(0, MAX_SID, 1, True)
    out.append((b"first-entry", entry_reply(*first[0]) if first else None))
    out.append((b"last-entry", entry_reply(*last[0]) if last else None))
    return Map(out)


# XINFO GROUPS key
@command("groups", 3, "readonly", 2, 2, 1, group="stream", summary="List the consumer groups of a stream",
         since="5.0.0", acl="stream slow", parent="xinfo")
def xinfo_groups_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _info_key(node, client, argv[2])
    out = []
    for name, g in e.live_groups():
        top = g.top()
        out.append(Map([
            (b"name", name), (b"consumers", len(g.live_consumers())), (b"pending", len(g.pel)),
            (b"last-delivered-id", sid_str(top.last)),
            (b"entries-read", None if top.read == INVALID_READ else top.read),
            (b"lag", group_lag(e, g)),
        ]))
    return out


# XINFO CONSUMERS key group
@command("consumers", 4, "readonly", 2, 2, 1, group="stream", summary="List the consumers in a consumer group",
         since="5.0.0", acl="stream slow", parent="xinfo")
def xinfo_consumers_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _info_key(node, client, argv[2])
    g = e.group(argv[3])
    if g is None:
        raise CommandError(errors.nogroup_for_key(argv[3], argv[2]))
    now = node.clock()
    return [Map([(b"name", name), (b"pending", len(c.pel)), (b"idle", max(now - c.seen_time(), 0))])
            for name, c in g.live_consumers()]


_XINFO_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
]


# XINFO HELP
@command("help", 2, "loading stale", group="stream", summary="Show helpful text about the different subcommands",
         since="5.0.0", acl="stream slow", parent="xinfo")
def xinfo_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return [Status(line.encode()) for line in _XINFO_HELP]
