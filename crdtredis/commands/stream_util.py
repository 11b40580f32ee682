"""What every stream command shares: ID parsing (t_stream.c streamGenericParseIDOrReply),
ID generation, the XADD/XTRIM trimming options, entry replies and key lookups.

ID generation (docs/semantics.md, "Streams"). A replica alone in its cluster makes IDs
exactly as Redis does (`ms-0`, then `ms-1`...). A replica with peers must never make an
ID another replica makes too, and every ID it makes must be above every ID it has seen:
it takes `ms = max(now, last ms)` like Redis, but the sequence is `counter << 16 | tag`,
where the tag is a 16-bit number derived from the replica's origin name (and moved off
the tags of the other origins it knows of). Two replicas' IDs then differ in the low
bits; a replica's own IDs grow with the counter.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import stream_store
from ..crdt.numbers import parse_int
from ..crdt.stream_log import StreamEntry
from ..crdt.stream_store import M64, MAX_SID, sid_str
from ..keyspace import Db
from ..reply import CommandError, Map
from .helpers import arg_int, check_type, lookup_read, lookup_write

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

TAG_BITS = 16
TAG_MASK = (1 << TAG_BITS) - 1
COUNTER_MAX = (1 << (64 - TAG_BITS)) - 1

_ULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")


# ---- IDs ---------------------------------------------------------------------------------
def string2ull(b: bytes) -> int | None:
    """Redis string2ull: canonical int64 >= 0, else strtoull over the whole string."""
    v = parse_int(b)
    if v is not None:
        return v if v >= 0 else None
    m = _ULL.fullmatch(b)
    if m is None:
        return None
    v = int(m.group(2))
    if v > M64:
        return None
    return (-v) & M64 if m.group(1) == b"-" else v


def parse_id(b: bytes, missing_seq: int = 0, strict: bool = False, seq_star: bool = False) -> tuple[int, bool]:
    """(sid, seq given). `strict` refuses "-" and "+"; `seq_star` accepts `ms-*`."""
    if len(b) > 127:
        raise CommandError(errors.INVALID_STREAM_ID)
    s = b.split(b"\0", 1)[0]
    if s == b"-" or s == b"+":
        if strict:
            raise CommandError(errors.INVALID_STREAM_ID)
        return (0 if s == b"-" else MAX_SID), True
    ms_part, dash, seq_part = s.partition(b"-")
    ms = string2ull(ms_part)
    if ms is None:
        raise CommandError(errors.INVALID_STREAM_ID)
    if not dash:
        return ms << 64 | missing_seq, True
    if seq_star and seq_part == b"*":
        return ms << 64, False
    seq = string2ull(seq_part)
    if seq is None:
        raise CommandError(errors.INVALID_STREAM_ID)
    return ms << 64 | seq, True


def parse_strict(b: bytes, missing_seq: int = 0) -> int:
    return parse_id(b, missing_seq, strict=True)[0]


def parse_interval(b: bytes, missing_seq: int) -> tuple[int, bool]:
    """(sid, exclusive): a "(" prefix makes the bound exclusive (and strict)."""
    if len(b) > 1 and b[:1] == b"(":
        return parse_id(b[1:], missing_seq, strict=True)[0], True
    return parse_id(b, missing_seq)[0], False


def parse_range(start_b: bytes, end_b: bytes) -> tuple[int, int]:
    """XRANGE-style bounds, both inclusive after handling "(" (Redis's error order)."""
    start, sx = parse_interval(start_b, 0)
    if sx:
        if start == MAX_SID:
            raise CommandError(errors.INVALID_START_ID)
        start += 1
    end, ex = parse_interval(end_b, M64)
    if ex:
        if end == 0:
            raise CommandError(errors.INVALID_END_ID)
        end -= 1
    return start, end


def origin_tag(node: Node) -> int | None:
    """This replica's ID tag (None: alone in its cluster, Redis's own IDs)."""
    ks = node.keyspace
    if ks.solo:
        return None
    origin = node.origin
    known = len(ks.vv)
    cached = _TAGS.get(id(node))
    if cached is not None and cached[0] == origin and cached[1] == known:
        return cached[2]
    tag = assign_tags({*ks.vv, origin})[origin]
    _TAGS[id(node)] = (origin, known, tag)
    return tag


def assign_tags(origins: set[str]) -> dict[str, int]:
    """Every origin takes its own tag, in name order, each moving up past the tags taken
    before it: replicas that know the same origins (any two that have exchanged ops)
    assign the same distinct tags."""
    used: set[int] = set()
    out: dict[str, int] = {}
    for o in sorted(origins):
        t = zlib.crc32(o.encode()) & TAG_MASK
        while t in used:
            t = (t + 1) & TAG_MASK
        used.add(t)
        out[o] = t
    return out


_TAGS: dict[int, tuple[str, int, int]] = {}


def next_id(last: int, now: int, tag: int | None) -> int | None:
    """The ID of `XADD *` after `last` (None: no ID left)."""
    lms, lseq = last >> 64, last & M64
    if tag is None:
        if now > lms:
            return now << 64
        return last + 1 if last < MAX_SID else None
    if now > lms:
        return now << 64 | tag
    c = (lseq >> TAG_BITS) + 1
    if c <= COUNTER_MAX:
        return lms << 64 | c << TAG_BITS | tag
    return (lms + 1) << 64 | tag if lms < M64 else None


def seq_for_ms(last: int, ms: int, tag: int | None) -> int | None:
    """The ID of `XADD ms-*` (None: the sequence would overflow)."""
    lms, lseq = last >> 64, last & M64
    if lms != ms:
        return ms << 64 | (0 if tag is None else tag)
    if tag is None:
        return None if lseq == M64 else last + 1
    c = (lseq >> TAG_BITS) + 1
    return None if c > COUNTER_MAX else ms << 64 | c << TAG_BITS | tag


# ---- XADD / XTRIM options ------------------------------------------------------------
@dataclass
class TrimArgs:
    maxlen: int | None = None
    minid: int | None = None
    approx: bool = False
    limit: int = 0
    nomkstream: bool = False
    id_given: bool = False
    seq_given: bool = True
    sid: int = 0
    idpos: int = 0

    @property
    def strategy(self) -> bool:
        return self.maxlen is not None or self.minid is not None


_PLAIN_XADD = TrimArgs(idpos=2)


def parse_trim(node: Node, argv: list[bytes], xadd: bool) -> TrimArgs:
    """streamParseAddOrTrimArgsOrReply."""
    if xadd and argv[2] == b"*":
        return _PLAIN_XADD  # XADD key * ...: the common case, no options (never mutated)
    a = TrimArgs()
    n = len(argv)
    i = 2
    limit_given = False
    while i < n:
        more = n - 1 - i
        opt = argv[i]
        lo = opt.lower()
        if xadd and opt == b"*":
            break
        if lo == b"maxlen" and more:
            if a.strategy:
                raise CommandError(errors.TRIM_BOTH)
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            a.maxlen = arg_int(argv[i + 1])
            if a.maxlen < 0:
                raise CommandError(errors.TRIM_MAXLEN_NEGATIVE)
            i += 1
        elif lo == b"minid" and more:
            if a.strategy:
                raise CommandError(errors.TRIM_BOTH)
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            a.minid = parse_strict(argv[i + 1])
            i += 1
        elif lo == b"limit" and more:
            a.limit = arg_int(argv[i + 1])
            if a.limit < 0:
                raise CommandError(errors.TRIM_LIMIT_NEGATIVE)
            limit_given = True
            i += 1
        elif xadd and lo == b"nomkstream":
            a.nomkstream = True
        elif xadd:
            a.sid, a.seq_given = parse_id(opt, 0, strict=True, seq_star=True)
            a.id_given = True
            break
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if a.limit and not a.strategy:
        raise CommandError(errors.TRIM_LIMIT_NO_STRATEGY)
    if not xadd and not a.strategy:
        raise CommandError(errors.XTRIM_NO_STRATEGY)
    if limit_given:
        if not a.approx:
            raise CommandError(errors.TRIM_LIMIT_NO_APPROX)
    elif a.approx:
        lim = 100 * node_max_entries(node)
        a.limit = 10000 if lim <= 0 else min(lim, 1000000)
    else:
        a.limit = 0
    a.idpos = i
    return a


def node_max_entries(node: Node) -> int:
    try:
        return int(node.runtime.get("stream-node-max-entries", "100"))
    except ValueError:
        return 100


_LAYOUT: list[Any] = [None, None]


def sync_layout(node: Node) -> None:
    """Chunk sizes follow CONFIG (local layout only: which entries share a node)."""
    rt = node.runtime
    e, b = rt.get("stream-node-max-entries", "100"), rt.get("stream-node-max-bytes", "4096")
    if _LAYOUT[0] is e and _LAYOUT[1] is b:
        return
    _LAYOUT[0], _LAYOUT[1] = e, b
    stream_store.NODE_MAX_ENTRIES = node_max_entries(node)
    try:
        stream_store.NODE_MAX_BYTES = int(b)
    except ValueError:
        stream_store.NODE_MAX_BYTES = 4096


# ---- lookups and replies -------------------------------------------------------------
def read_stream(node: Node, client: Client, key: bytes) -> StreamEntry | None:
    db = node.keyspace.dbs[client.db]
    return check_type(lookup_read(node, db, key), StreamEntry)  # type: ignore[no-any-return]


def write_stream(node: Node, client: Client, key: bytes) -> tuple[Db, StreamEntry | None]:
    db = node.keyspace.dbs[client.db]
    return db, check_type(lookup_write(node, db, key), StreamEntry)


def entry_reply(sid: int, items: list[bytes]) -> list[Any]:
    return [sid_str(sid), items]


def range_reply(e: StreamEntry, start: int, end: int, count: int = 0, rev: bool = False) -> list[Any]:
    return [[sid_str(s), items] for s, items in e.log.range(start, end, count, rev)]


def from_script(client: Client) -> bool:
    """A script's pseudo-client (checkouts with scripting mark it `kind == "lua"`)."""
    return getattr(client, "script", False) or client.kind == "lua"


def keyed_reply(client: Client, pairs: list[tuple[bytes, Any]]) -> Any:
    """XREAD's reply: a map in RESP3, an array of [key, value] pairs in RESP2."""
    if client.resp == 3:
        return Map(pairs)
    return [[k, v] for k, v in pairs]
