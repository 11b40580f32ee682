"""DUMP and RESTORE (Redis 7.0 cluster.c), with payloads in Redis's own format
(rdb_encode.py / rdb_decode.py), so keys move between crdt-redis and Redis both ways.

RESTORE is a write like RENAME's or COPY's destination: a delete of what this replica
showed at the key (REPLACE), then the ordinary effects that build a value of the payload's
type (one SET, LINSERT, SADD, HSET or ZADD), then the key's TTL; so it replicates, is
logged and merges with concurrent writes elsewhere like those commands. IDLETIME and FREQ
set this node's LRU/LFU record of the key only (access records are not replicated: see
docs/semantics.md). Streams have no Redis RDB encoding here: DUMP of a stream answers an
error, and RESTORE of a stream payload answers "Bad data format".
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.list_rga import LINSERT, ListEntry
from ..crdt.map_fields import HSET, HashEntry
from ..crdt.numbers import parse_int
from ..crdt.set_aw import SADD, SetEntry
from ..crdt.string_counter import string_value
from ..crdt.zset_aw import ZADD, ZsetEntry
from ..keyspace import Db
from ..notify import GENERIC, notify_event
from ..op import Effect
from ..rdb_decode import decode_value
from ..rdb_encode import build_dump, encode_value
from ..reply import OK, CommandError, Reply
from ..scripting.dump import PayloadError, verify_payload
from .helpers import db_of, is_string, lookup_read, lookup_write
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

DEL, EXPIRE, SET = codes.DEL, codes.EXPIRE, codes.SET

# Error texts of cluster.c's RESTORE (and ours for a stream, which Redis can dump).
BUSYKEY = "BUSYKEY Target key name already exists."
BAD_TTL = "ERR Invalid TTL value, must be >= 0"
BAD_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
BAD_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"
DUMP_STREAM = "ERR DUMP of stream keys is not supported"

LLONG_MIN, LLONG_MAX = -(1 << 63), (1 << 63) - 1


def _llong(b: bytes) -> int:
    v = parse_int(b)
    if v is None or not LLONG_MIN <= v <= LLONG_MAX:
        raise CommandError(errors.NOT_INTEGER)
    return v


def _rdbcompression(node: Node) -> bool:
    return node.runtime.get("rdbcompression", "yes") == "yes"


def _fill(node: Node) -> int:
    v = parse_int(node.runtime.get("list-max-listpack-size", "-2").encode())
    return -2 if v is None else v


def dump_payload(node: Node, e: Any) -> bytes:
    """createDumpPayload of entry `e` (CommandError for a stream)."""
    compress = _rdbcompression(node)
    if is_string(e):
        body = encode_value("string", b"", string_value(e), compress)
    elif type(e) is ListEntry:
        body = encode_value("list", b"quicklist", e.values(), compress, _fill(node))
    elif type(e) is SetEntry:
        body = encode_value("set", e.encoding(), e.members(), compress)
    elif type(e) is HashEntry:
        body = encode_value("hash", e.encoding(), e.items(), compress)
    elif type(e) is ZsetEntry:
        body = encode_value("zset", e.encoding(), list(e.items()), compress)
    else:
        raise CommandError(DUMP_STREAM)
    return build_dump(body)


def value_effects(dbi: int, key: bytes, kind: str, data: Any) -> list[Effect]:
    """The effects that write a decoded value at (dbi, key), after a DEL of the key."""
    if kind == "string":
        return [(SET, dbi, key, data, codes.TTL_KEEP, None)]
    if kind == "list":
        return [(LINSERT, dbi, key, 0, "", 0, -1, *data)]
    if kind == "set":
        return [(SADD, dbi, key, *data)]
    if kind == "hash":
        return [(HSET, dbi, key, *[x for fv in data for x in fv])]
    args: list[Any] = []
    for s, m in data:
        args.append(m)
        args.append(s)
    return [(ZADD, dbi, key, *args)]


def restore_key(node: Node, db: Db, key: bytes, kind: str, data: Any, deadline: int | None) -> None:
    """Make `key` hold the decoded value (with `deadline`, if any): DEL, build, EXPIRE."""
    node.emit((DEL, db.index, key))
    for eff in value_effects(db.index, key, kind, data):
        node.emit(eff)
    if deadline is not None:
        node.emit((EXPIRE, db.index, key, deadline))


def load_payload(p: bytes) -> tuple[str, Any]:
    """verifyDumpPayload + rdbLoadObject: CommandError with Redis's texts."""
    if not verify_payload(p):
        raise CommandError(BAD_PAYLOAD)
    try:
        return decode_value(p)
    except PayloadError:
        raise CommandError(BAD_FORMAT) from None
    except (ValueError, OverflowError, IndexError, MemoryError, struct.error):  # defence in depth
        raise CommandError(BAD_FORMAT) from None


# DUMP key
@command("dump", 2, "readonly", 1, 1, 1, summary="Return a serialized version of the value stored at the specified key.",
         since="2.6.0", acl="keyspace")
def dump_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = lookup_read(node, db_of(node, client), argv[1])
    if e is None:
        return None
    return dump_payload(node, e)


# RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
@command("restore", -4, "write denyoom", 1, 1, 1,
         summary="Create a key using the provided serialized value, previously obtained using DUMP.",
         since="2.6.0", acl="keyspace dangerous")
def restore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    replace = absttl = False
    idle = freq = -1
    j = 4
    n = len(argv)
    while j < n:
        more = n - j - 1
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = _llong(argv[j + 1])
            if idle < 0:
                raise CommandError(BAD_IDLETIME)
            j += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = _llong(argv[j + 1])
            if not 0 <= freq <= 255:
                raise CommandError(BAD_FREQ)
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    db = db_of(node, client)
    key = argv[1]
    existed = lookup_write(node, db, key) is not None
    if existed and not replace:
        raise CommandError(BUSYKEY)
    ttl = _llong(argv[2])
    if ttl < 0:
        raise CommandError(BAD_TTL)
    kind, data = load_payload(argv[3])
    now = node.now_ms()
    if ttl and not absttl:
        # C's long long addition: a TTL past LLONG_MAX wraps negative, hence expired.
        ttl = ((ttl + now + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)
    if ttl and ttl <= now:
        # Already expired: Redis answers OK and (with REPLACE) only deletes the old key.
        if existed:
            node.emit((DEL, db.index, key))
            notify_event(node, GENERIC, b"del", key, db.index)
        return OK
    restore_key(node, db, key, kind, data, ttl or None)
    ev = getattr(node, "maxmem", None)
    if ev is not None and (idle >= 0 or freq >= 0):
        ev.restored(db.index, key, idle, freq)
    notify_event(node, GENERIC, b"restore", key, db.index)
    return OK
