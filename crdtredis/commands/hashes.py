"""Hash commands (Redis t_hash.c): HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HLEN
HEXISTS HSTRLEN HDEL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.

Writes reduce to three effects of crdt/map_fields.py: HSET (register writes), HINCR (one
increment) and HDEL (observed-remove of fields). Conditions (HSETNX) and numeric checks
(HINCRBY's "not an integer", overflow) are decided at the origin only (DESIGN §3).
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.map_fields import HDEL, HINCR, HSET, HashEntry, visible
from ..crdt.numbers import ld_format, ld_round, parse_int, parse_ld
from ..keyspace import Db
from ..notify import GENERIC, HASH, notify_event
from ..reply import OK, CommandError, Map, Reply
from .helpers import LLONG_MAX, LLONG_MIN, arg_int, check_type, lookup_read, lookup_write, repeated_reply_fits
from .registry import command
from .scan_util import PositionSnapshots, match_pairs, parse_cursor, parse_scan_options

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

LONG_MAX = LLONG_MAX
# HRANDFIELD with a negative count returns at most this many fields (as SRANDMEMBER).


def _read(node: Node, client: Client, key: bytes) -> HashEntry | None:
    db = node.keyspace.dbs[client.db]
    return check_type(lookup_read(node, db, key), HashEntry)  # type: ignore[no-any-return]


def _write(node: Node, client: Client, key: bytes) -> tuple[Db, HashEntry | None]:
    db = node.keyspace.dbs[client.db]
    return db, check_type(lookup_write(node, db, key), HashEntry)


def _dedupe_pairs(pairs: list[bytes]) -> list[bytes]:
    """HSET k a 1 a 2 sets a once, to the last value: one register write per field and
    effect, since every pair of one effect carries the same stamp."""
    if len(pairs) == 2:
        return pairs
    d = dict(zip(pairs[::2], pairs[1::2], strict=False))
    if len(d) * 2 == len(pairs):
        return pairs
    return [x for kv in d.items() for x in kv]


# HSET key field value [field value ...]
@command("hset", -4, "write denyoom fast", 1, 1, 1, group="hash",
         summary="Set the string value of a hash field", since="2.0.0", acl="hash fast")
def hset_cmd(node: Node, client: Client, argv: list[bytes]) -> int:
    # The handler itself, not a wrapper of a shared function: a frame fewer per HSET
    # (HMSET calls it).
    if len(argv) % 2:
        raise CommandError(errors.wrong_arity(argv[0].decode("utf-8", "replace").lower()))
    if len(argv) == 4:  # one field: the common case, no dedupe or generator
        db = node.keyspace.dbs[client.db]
        e = db.data.get(argv[1])
        # `_write` inlined, and Node.emit's CREATE check with it, for a hash without a TTL
        # (nothing to expire, no type to refuse).
        direct = e.__class__ is HashEntry and not (db.expires and argv[1] in db.expires)
        if not direct:
            e = check_type(lookup_write(node, db, argv[1]), HashEntry)
        created = 0 if e is not None and argv[2] in e.fields else 1
        eff = (HSET, db.index, argv[1], argv[2], argv[3])
        if direct:
            node._emit(eff)
        else:
            node.emit(eff)
    else:
        db, e = _write(node, client, argv[1])
        pairs = _dedupe_pairs(argv[2:])
        if e is None:
            created = len(pairs) // 2
        else:
            fields = e.fields
            created = sum(1 for f in pairs[::2] if f not in fields)
        node.emit((HSET, db.index, argv[1], *pairs))
    if node.notify is not None:
        notify_event(node, HASH, b"hset", argv[1], db.index)
    return created


# HMSET key field value [field value ...]
@command("hmset", -4, "write denyoom fast", 1, 1, 1, group="hash",
         summary="Set multiple hash fields to multiple values", since="2.0.0", acl="hash fast")
def hmset_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    hset_cmd(node, client, argv)
    return OK


# HSETNX key field value
@command("hsetnx", 4, "write denyoom fast", 1, 1, 1, group="hash",
         summary="Set the value of a hash field, only if the field does not exist", since="2.0.0",
         acl="hash fast")
def hsetnx_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, e = _write(node, client, argv[1])
    if e is not None and argv[2] in e.fields:
        return 0
    node.emit((HSET, db.index, argv[1], argv[2], argv[3]))
    notify_event(node, HASH, b"hset", argv[1], db.index)
    return 1


# HGET key field
@command("hget", 3, "readonly fast", 1, 1, 1, group="hash",
         summary="Get the value of a hash field", since="2.0.0", acl="hash fast")
def hget_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    if e is None:
        return None
    x = e.fields.get(argv[2])
    return None if x is None else visible(x)


# HMGET key field [field ...]
@command("hmget", -3, "readonly fast", 1, 1, 1, group="hash",
         summary="Get the values of all the given hash fields", since="2.0.0", acl="hash fast")
def hmget_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    if e is None:
        return [None] * (len(argv) - 2)
    get = e.fields.get
    out: list[bytes | None] = []
    for f in argv[2:]:
        x = get(f)
        out.append(None if x is None else visible(x))
    return out


# HGETALL key
@command("hgetall", 2, "readonly", 1, 1, 1, group="hash",
         summary="Get all the fields and values in a hash", since="2.0.0", acl="hash slow")
def hgetall_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return Map([] if e is None else e.items())


# HKEYS key
@command("hkeys", 2, "readonly", 1, 1, 1, group="hash",
         summary="Get all the fields in a hash", since="2.0.0", acl="hash slow")
def hkeys_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return [] if e is None else list(e.fields)


# HVALS key
@command("hvals", 2, "readonly", 1, 1, 1, group="hash",
         summary="Get all the values in a hash", since="2.0.0", acl="hash slow")
def hvals_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return [] if e is None else [visible(x) for x in e.fields.values()]


# HLEN key
@command("hlen", 2, "readonly fast", 1, 1, 1, group="hash",
         summary="Get the number of fields in a hash", since="2.0.0", acl="hash fast")
def hlen_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return 0 if e is None else len(e.fields)


# HEXISTS key field
@command("hexists", 3, "readonly fast", 1, 1, 1, group="hash",
         summary="Determine if a hash field exists", since="2.0.0", acl="hash fast")
def hexists_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return int(e is not None and argv[2] in e.fields)


# HSTRLEN key field
@command("hstrlen", 3, "readonly fast", 1, 1, 1, group="hash",
         summary="Get the length of the value of a hash field", since="3.2.0", acl="hash fast")
def hstrlen_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    x = None if e is None else e.fields.get(argv[2])
    return 0 if x is None else len(visible(x))


# HDEL key field [field ...]
@command("hdel", -3, "write fast", 1, 1, 1, group="hash",
         summary="Delete one or more hash fields", since="2.0.0", acl="hash fast")
def hdel_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, e = _write(node, client, argv[1])
    if e is None:
        return 0
    fields = e.fields
    present = [f for f in dict.fromkeys(argv[2:]) if f in fields]
    if len(present) == len(fields):
        # Emptied: Redis deletes the key, TTL included. A DEL removes what this replica saw
        # (every field, and the expiry), so a concurrent HSET elsewhere still survives.
        node.emit((codes.DEL, db.index, argv[1]))
        notify_event(node, HASH, b"hdel", argv[1], db.index)
        notify_event(node, GENERIC, b"del", argv[1], db.index)
    elif present:
        node.emit((HDEL, db.index, argv[1], *present))
        notify_event(node, HASH, b"hdel", argv[1], db.index)
    return len(present)


# HINCRBY key field increment
@command("hincrby", 4, "write denyoom fast", 1, 1, 1, group="hash",
         summary="Increment the integer value of a hash field by the given number", since="2.0.0",
         acl="hash fast")
def hincrby_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    incr = arg_int(argv[3])
    db, e = _write(node, client, argv[1])
    x = None if e is None else e.fields.get(argv[2])
    if x is None:
        cur = 0
    else:
        v = parse_int(visible(x))
        if v is None:
            raise CommandError(errors.HASH_NOT_INTEGER)
        cur = v
    new = cur + incr
    if new > LLONG_MAX or new < LLONG_MIN:
        raise CommandError(errors.OVERFLOW)
    node.emit((HINCR, db.index, argv[1], argv[2], incr))
    notify_event(node, HASH, b"hincrby", argv[1], db.index)
    return new


# HINCRBYFLOAT key field increment
@command("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1, group="hash",
         summary="Increment the float value of a hash field by the given amount", since="2.6.0",
         acl="hash fast")
def hincrbyfloat_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    incr = parse_ld(argv[3])
    if incr is None:
        raise CommandError(errors.NOT_FLOAT)
    if type(incr) is float:
        raise CommandError(errors.VALUE_NAN_INF)
    db, e = _write(node, client, argv[1])
    x = None if e is None else e.fields.get(argv[2])
    base: Any = 0
    if x is not None:
        base = parse_ld(visible(x))
        if base is None:
            raise CommandError(errors.HASH_NOT_FLOAT)
    new = None if type(base) is float else ld_round(base + incr)
    if new is None:
        raise CommandError(errors.INCR_NAN_INF)
    # Ship the increment (not the result) so concurrent increments add up.
    node.emit((HINCR, db.index, argv[1], argv[2], argv[3]))
    notify_event(node, HASH, b"hincrbyfloat", argv[1], db.index)
    return ld_format(new)


# HRANDFIELD key [count [WITHVALUES]]
@command("hrandfield", -2, "readonly", 1, 1, 1, group="hash",
         summary="Get one or multiple random fields from a hash", since="6.2.0", acl="hash slow")
def hrandfield_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    n = len(argv)
    if n >= 3:
        count = arg_int(argv[2])
        if count < -LONG_MAX:
            raise CommandError(errors.value_out_of_range(-LONG_MAX, LONG_MAX))
        if n > 4 or (n == 4 and argv[3].lower() != b"withvalues"):
            raise CommandError(errors.SYNTAX)
        withvalues = n == 4
        if withvalues and not -(LONG_MAX // 2) <= count <= LONG_MAX // 2:
            raise CommandError(errors.VALUE_OUT_OF_RANGE)
        return _hrandfield_count(node, client, argv[1], count, withvalues)
    e = _read(node, client, argv[1])
    if e is None:
        return None
    return _random_field(e.fields)


def _random_field(fields: dict[bytes, Any]) -> bytes:
    # O(N): a dict has no random access. Only the key list is built, never the values.
    i = random.randrange(len(fields))
    for f in fields:
        if not i:
            return f
        i -= 1
    raise AssertionError("unreachable")


def _hrandfield_count(node: Node, client: Client, key: bytes, count: int, withvalues: bool) -> Reply:
    e = _read(node, client, key)
    if e is None or count == 0:
        return []
    fields = e.fields
    if count < 0 or count == 1:
        # With repetition (or a single pick), in random order.
        names = list(fields)
        if count < 0:
            sample = random.choices(names, k=8)
            extra = sum(len(visible(fields[f])) + 6 for f in sample) // 8 if withvalues else 0
            if not repeated_reply_fits(node, -count, sample, extra):
                raise CommandError(errors.HRANDFIELD_TOO_MANY)
        picks = random.choices(names, k=-count if count < 0 else 1)
    elif count >= len(fields):
        picks = list(fields)  # the whole hash, in its own order (Redis CASE 2)
    else:
        picks = random.sample(list(fields), count)
    if not withvalues:
        return picks
    if client.resp >= 3:
        return [[f, visible(fields[f])] for f in picks]
    out: list[bytes] = []
    for f in picks:
        out.append(f)
        out.append(visible(fields[f]))
    return out


# ---- HSCAN --------------------------------------------------------------------------------
_SNAPSHOTS = PositionSnapshots()


def _scan_big(e: HashEntry, cursor: int, count: int) -> tuple[int, list[bytes]]:
    fields = e.fields

    def value(f: bytes) -> bytes | None:
        x = fields.get(f)
        return None if x is None else visible(x)

    return _SNAPSHOTS.scan(e, fields, cursor, count, value)


# HSCAN key cursor [MATCH pattern] [COUNT count]
@command("hscan", -3, "readonly", 1, 1, 1, group="hash",
         summary="Incrementally iterate hash fields and associated values", since="2.8.0",
         acl="hash slow")
def hscan_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    cursor = parse_cursor(argv[2])
    e = _read(node, client, argv[1])
    if e is None:
        return [b"0", []]
    count, pat, _ = parse_scan_options(argv, 3)
    if e.encoding() == b"listpack":
        # Like Redis: a small hash is returned whole, whatever the cursor.
        nxt = 0
        out: list[bytes] = []
        for f, x in e.fields.items():
            out.append(f)
            out.append(visible(x))
    else:
        nxt, out = _scan_big(e, cursor, count)
    return [str(nxt).encode(), match_pairs(out, pat)]
