"""Set commands (Redis t_set.c): SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.

Writes reduce to the two effects of crdt/set_aw.py, SADD and SREM, plus DEL: a command
that empties a set at its origin ships DEL (as Redis propagates SPOP-all as DEL), so the
key's TTL goes with it, and every *STORE ships DEL dst then one SADD. Random choices
(SPOP, SRANDMEMBER) are made at the origin; SPOP ships the removal of the members it chose.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .. import errors
from ..crdt.codes import DEL
from ..crdt.numbers import parse_int
from ..crdt.set_aw import INTSET_MAX_ENTRIES, SADD, SREM, SetEntry
from ..glob import compile_pattern
from ..keyspace import Db
from ..notify import GENERIC, SET, notify_event
from ..reply import CommandError, Reply, SetReply
from .helpers import LLONG_MAX, arg_int, check_type, lookup_read, lookup_write, repeated_reply_fits
from .registry import command
from .scan_util import parse_cursor, parse_scan_options

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

LONG_MAX = LLONG_MAX

# Random choices of SPOP/SRANDMEMBER (prepare only); tests swap in a seeded Random.
_RNG = random.Random()


def _read(node: Node, client: Client, key: bytes) -> SetEntry | None:
    db = node.keyspace.dbs[client.db]
    return check_type(lookup_read(node, db, key), SetEntry)  # type: ignore[no-any-return]


def _write(node: Node, client: Client, key: bytes) -> tuple[Db, SetEntry | None]:
    db = node.keyspace.dbs[client.db]
    return db, check_type(lookup_write(node, db, key), SetEntry)


def _remove(node: Node, db: Db, key: bytes, e: SetEntry, members: list[bytes], event: bytes) -> None:
    """Ship the removal of `members` (all present here); DEL when it empties the set, so
    the key disappears with its TTL as in Redis. Notifies `event`, then "del" if emptied."""
    if len(members) >= len(e.m):
        node.emit((DEL, db.index, key))
        notify_event(node, SET, event, key, db.index)
        notify_event(node, GENERIC, b"del", key, db.index)
    else:
        node.emit((SREM, db.index, key, *members))
        notify_event(node, SET, event, key, db.index)


def _dedupe(members: list[bytes]) -> list[bytes]:
    if len(members) == 1:
        return members
    return list(dict.fromkeys(members))


# ---- single-key commands ------------------------------------------------------------------
# SADD key member [member ...]
@command("sadd", -3, "write denyoom fast", 1, 1, 1, group="set",
         summary="Add one or more members to a set", since="1.0.0", acl="set fast")
def sadd_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    # A member already there is a no-op, as in Redis: nothing is written or shipped for it,
    # so a concurrent SREM of it wins (the outcome of the one serial order its reply 0
    # allows: docs/semantics.md, "Sets"). Only the new members are added.
    direct = False
    if len(argv) == 3:
        # `_write` inlined, and Node.emit's CREATE check with it, for a set without a TTL
        # (nothing to expire, no type to refuse): ~0.1 us of a SADD that finds its member.
        db = node.keyspace.dbs[client.db]
        e = db.data.get(argv[1])
        direct = e.__class__ is SetEntry and not (db.expires and argv[1] in db.expires)
        if not direct:
            e = check_type(lookup_write(node, db, argv[1]), SetEntry)
        if e is not None and argv[2] in e.m:
            return 0
        members = [argv[2]]
    else:
        db, e = _write(node, client, argv[1])
        members = _dedupe(argv[2:])
        if e is not None:
            m = e.m
            members = [x for x in members if x not in m]
            if not members:
                return 0
    eff = (SADD, db.index, argv[1], *members)
    if direct:
        node._emit(eff)
    else:
        node.emit(eff)
    if node.notify is not None:
        notify_event(node, SET, b"sadd", argv[1], db.index)
    return len(members)


# SREM key member [member ...]
@command("srem", -3, "write fast", 1, 1, 1, group="set",
         summary="Remove one or more members from a set", since="1.0.0", acl="set fast")
def srem_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, e = _write(node, client, argv[1])
    if e is None:
        return 0
    m = e.m
    present = [x for x in _dedupe(argv[2:]) if x in m]
    if present:
        _remove(node, db, argv[1], e, present, b"srem")
    return len(present)


# SMEMBERS key
@command("smembers", 2, "readonly", 1, 1, 1, group="set",
         summary="Get all the members in a set", since="1.0.0", acl="set slow")
def smembers_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return SetReply([] if e is None else e.members())


# SISMEMBER key member
@command("sismember", 3, "readonly fast", 1, 1, 1, group="set",
         summary="Determine if a given value is a member of a set", since="1.0.0", acl="set fast")
def sismember_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return 1 if e is not None and argv[2] in e.m else 0


# SMISMEMBER key member [member ...]
@command("smismember", -3, "readonly fast", 1, 1, 1, group="set",
         summary="Returns the membership associated with the given elements for a set",
         since="6.2.0", acl="set fast")
def smismember_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    if e is None:
        return [0] * (len(argv) - 2)
    m = e.m
    return [1 if x in m else 0 for x in argv[2:]]


# SCARD key
@command("scard", 2, "readonly fast", 1, 1, 1, group="set",
         summary="Get the number of members in a set", since="1.0.0", acl="set fast")
def scard_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return 0 if e is None else len(e.m)


def _sample(e: SetEntry, k: int) -> list[bytes]:
    """k distinct random members, 0 < k < size."""
    m = e.m
    if k * 3 <= len(m):
        # Few of many: repeated picks (Redis CASE 4), O(k) expected.
        chosen: dict[bytes, None] = {}
        while len(chosen) < k:
            chosen[e.random_member(_RNG.randrange)] = None
        return list(chosen)
    return _RNG.sample(list(m), k)


# SPOP key [count]
@command("spop", -2, "write fast", 1, 1, 1, group="set",
         summary="Remove and return one or multiple random members from a set", since="1.0.0",
         acl="set fast")
def spop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    n = len(argv)
    if n > 3:
        raise CommandError(errors.SYNTAX)
    key = argv[1]
    if n == 3:
        count = parse_int(argv[2])
        if count is None or count < 0:
            raise CommandError(errors.COUNT_NEGATIVE)
        db, e = _write(node, client, key)
        if e is None or count == 0:
            return SetReply([])
        if count >= len(e.m):
            out = e.members()
            _remove(node, db, key, e, out, b"spop")
            return SetReply(out)
        out = _sample(e, count)
        _remove(node, db, key, e, out, b"spop")
        return SetReply(out)
    db, e = _write(node, client, key)
    if e is None:
        return None
    x = e.random_member(_RNG.randrange)
    _remove(node, db, key, e, [x], b"spop")
    return x


# SRANDMEMBER key [count]
@command("srandmember", -2, "readonly", 1, 1, 1, group="set",
         summary="Get one or multiple random members from a set", since="1.0.0", acl="set slow")
def srandmember_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    n = len(argv)
    if n > 3:
        raise CommandError(errors.SYNTAX)
    if n == 2:
        e = _read(node, client, argv[1])
        return None if e is None else e.random_member(_RNG.randrange)
    count = arg_int(argv[2])
    if count < -LONG_MAX:
        raise CommandError(errors.value_out_of_range(-LONG_MAX, LONG_MAX))
    e = _read(node, client, argv[1])
    if e is None or count == 0:
        return []
    if count < 0:
        # With repetition: each pick independent (Redis CASE 1).
        pick = e.random_member
        rand = _RNG.randrange
        if not repeated_reply_fits(node, -count, [pick(rand) for _ in range(8)]):
            raise CommandError(errors.SRANDMEMBER_TOO_MANY)
        return [pick(rand) for _ in range(-count)]
    if count >= len(e.m):
        return e.members()
    return _sample(e, count)


# SMOVE source destination member
@command("smove", 4, "write fast", 1, 2, 1, group="set",
         summary="Move a member from one set to another", since="1.0.0", acl="set fast")
def smove_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    src, dst, x = argv[1], argv[2], argv[3]
    db = node.keyspace.dbs[client.db]
    se = lookup_write(node, db, src)
    de = lookup_write(node, db, dst)
    if se is None:
        return 0
    check_type(se, SetEntry)
    check_type(de, SetEntry)
    if src == dst:
        return 1 if x in se.m else 0
    if x not in se.m:
        return 0
    # Observed-remove from the source, add to the destination: a concurrent SREM of the
    # member at the source changes nothing, a concurrent one at the destination loses.
    _remove(node, db, src, se, [x], b"srem")
    added = de is None or x not in de.m
    node.emit((SADD, db.index, dst, x))
    if added:
        notify_event(node, SET, b"sadd", dst, db.index)
    return 1


# ---- multi-key algebra --------------------------------------------------------------------
def _load(node: Node, db: Db, keys: list[bytes], write: bool) -> list[SetEntry | None]:
    """The set at each key (None if missing). Every key is type-checked before any result
    is computed: Redis 7.0 reports WRONGTYPE even after a missing key."""
    look = lookup_write if write else lookup_read
    return [check_type(look(node, db, k), SetEntry) for k in keys]


def _inter(sets: list[SetEntry | None], limit: int = 0) -> list[bytes]:
    """Members of every set, in the order of the smallest (Redis iterates that one)."""
    if any(s is None for s in sets):
        return []
    ss: list[SetEntry] = sorted(sets, key=lambda s: len(s.m))  # type: ignore[arg-type, union-attr]
    first = ss[0]
    others = [s.m for s in ss[1:] if s is not first]
    out: list[bytes] = []
    for x in first.members() if not limit else first.m:
        for o in others:
            if x not in o:
                break
        else:
            out.append(x)
            if len(out) == limit:
                break
    return out


def _result_order(res: dict[bytes, None]) -> list[bytes]:
    """A SUNION/SDIFF result in Redis's order: it builds the result as a new set, an intset
    (sorted) while every member is an integer and there are at most 512."""
    if len(res) <= INTSET_MAX_ENTRIES:
        for x in res:
            if parse_int(x) is None:
                return list(res)
        return sorted(res, key=int)
    return list(res)


def _union(sets: list[SetEntry | None]) -> list[bytes]:
    res: dict[bytes, None] = {}
    for s in sets:
        if s is not None:
            res.update(dict.fromkeys(s.m))
    return _result_order(res)


def _diff(sets: list[SetEntry | None]) -> list[bytes]:
    first = sets[0]
    if first is None:
        return []
    others = [s.m for s in sets[1:] if s is not None]
    if any(o is first.m for o in others):
        return []
    res = dict.fromkeys(x for x in first.m if not any(x in o for o in others))
    return _result_order(res)


def _store(node: Node, db: Db, dst: bytes, members: list[bytes], event: bytes) -> int:
    """Overwrite dst with a set of `members` (delete it when empty), like Redis setKey:
    DEL dst removes what this replica saw there, so a concurrent write to dst survives."""
    existed = dst in db.data
    if existed or node.keyspace.has_hidden(db, dst) or dst in db.expires:
        node.emit((DEL, db.index, dst))
    if members:
        node.emit((SADD, db.index, dst, *members))
        notify_event(node, SET, event, dst, db.index)
    elif existed:
        notify_event(node, GENERIC, b"del", dst, db.index)
    return len(members)


# SINTER key [key ...]
@command("sinter", -2, "readonly", 1, -1, 1, group="set",
         summary="Intersect multiple sets", since="1.0.0", acl="set slow")
def sinter_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = node.keyspace.dbs[client.db]
    return SetReply(_inter(_load(node, db, argv[1:], False)))


def _sintercard_keys(argv: list[bytes]) -> list[int]:
    n = parse_int(argv[1]) if len(argv) > 1 else None
    if n is None or n < 1 or n > len(argv) - 2:
        return []
    return list(range(2, 2 + n))


# SINTERCARD numkeys key [key ...] [LIMIT limit]
@command("sintercard", -3, "readonly movablekeys", 0, 0, 0, group="set",
         summary="Intersect multiple sets and return the cardinality of the result",
         since="7.0.0", acl="set slow", getkeys=_sintercard_keys)
def sintercard_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    numkeys = parse_int(argv[1])
    if numkeys is None or numkeys < 1:
        raise CommandError(errors.ZSET_NUMKEYS)
    if numkeys > len(argv) - 2:
        raise CommandError(errors.NUMKEYS_EXCEED_ARGS)
    limit = 0
    j = 2 + numkeys
    n = len(argv)
    while j < n:
        if argv[j].lower() == b"limit" and j + 1 < n:
            j += 1
            v = parse_int(argv[j])
            if v is None or v < 0:
                raise CommandError(errors.ZSET_LIMIT_NEGATIVE)
            limit = v
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    db = node.keyspace.dbs[client.db]
    return len(_inter(_load(node, db, argv[2:2 + numkeys], False), limit))


# SINTERSTORE destination key [key ...]
@command("sinterstore", -3, "write denyoom", 1, -1, 1, group="set",
         summary="Intersect multiple sets and store the resulting set in a key", since="1.0.0",
         acl="set slow")
def sinterstore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = node.keyspace.dbs[client.db]
    res = _inter(_load(node, db, argv[2:], True))
    return _store(node, db, argv[1], res, b"sinterstore")


# SUNION key [key ...]
@command("sunion", -2, "readonly", 1, -1, 1, group="set",
         summary="Add multiple sets", since="1.0.0", acl="set slow")
def sunion_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = node.keyspace.dbs[client.db]
    return SetReply(_union(_load(node, db, argv[1:], False)))


# SUNIONSTORE destination key [key ...]
@command("sunionstore", -3, "write denyoom", 1, -1, 1, group="set",
         summary="Add multiple sets and store the resulting set in a key", since="1.0.0",
         acl="set slow")
def sunionstore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = node.keyspace.dbs[client.db]
    res = _union(_load(node, db, argv[2:], True))
    return _store(node, db, argv[1], res, b"sunionstore")


# SDIFF key [key ...]
@command("sdiff", -2, "readonly", 1, -1, 1, group="set",
         summary="Subtract multiple sets", since="1.0.0", acl="set slow")
def sdiff_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = node.keyspace.dbs[client.db]
    return SetReply(_diff(_load(node, db, argv[1:], False)))


# SDIFFSTORE destination key [key ...]
@command("sdiffstore", -3, "write denyoom", 1, -1, 1, group="set",
         summary="Subtract multiple sets and store the resulting set in a key", since="1.0.0",
         acl="set slow")
def sdiffstore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = node.keyspace.dbs[client.db]
    res = _diff(_load(node, db, argv[2:], True))
    return _store(node, db, argv[1], res, b"sdiffstore")


# ---- SSCAN --------------------------------------------------------------------------------
# A hashtable-encoded set is scanned over a snapshot of its members taken when the scan
# starts (cursor 0): cursor = snapshot id << 32 | offset. Every member present for the
# whole scan is in the snapshot, so it is returned exactly once; members removed meanwhile
# are skipped. A snapshot is O(N) pointers (no copy of the members), kept for the last few
# scans; a cursor whose snapshot is gone (evicted, or a restart) resumes at the same offset
# of the current members, which can miss or repeat members if the set changed meanwhile.
_SCANS: dict[int, tuple[int, int, bytes, list[bytes]]] = {}  # sid -> (ks id, db, key, members)
_MAX_SCANS = 8
_OFF_BITS = 32
_OFF_MASK = (1 << _OFF_BITS) - 1
_next_sid = 0


def _snapshot(node: Node, db: Db, key: bytes, e: SetEntry, cursor: int) -> tuple[int, list[bytes]]:
    """(snapshot id, members) for this cursor: its own snapshot, or a new one."""
    global _next_sid
    sid = cursor >> _OFF_BITS
    snap = _SCANS.get(sid) if cursor else None
    if snap is not None and snap[0] == id(node.keyspace) and snap[1] == db.index and snap[2] == key:
        return sid, snap[3]
    _next_sid = _next_sid % ((1 << 31) - 1) + 1
    sid = _next_sid
    members = list(e.m)
    while len(_SCANS) >= _MAX_SCANS:
        del _SCANS[next(iter(_SCANS))]
    _SCANS[sid] = (id(node.keyspace), db.index, key, members)
    return sid, members


# SSCAN key cursor [MATCH pattern] [COUNT count]
@command("sscan", -3, "readonly", 1, 1, 1, group="set",
         summary="Incrementally iterate Set elements", since="2.8.0", acl="set slow")
def sscan_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    cursor = parse_cursor(argv[2])
    db = node.keyspace.dbs[client.db]
    key = argv[1]
    e = check_type(lookup_read(node, db, key), SetEntry)
    if e is None:
        return [b"0", []]
    count, pat, _ = parse_scan_options(argv, 3)
    m = e.m
    nxt = 0
    if not e.ht or (cursor == 0 and len(m) <= count):
        # Like Redis: an intset (and here any set that fits in one batch) is returned whole.
        out = e.members()
    else:
        sid, snap = _snapshot(node, db, key, e, cursor)
        off = cursor & _OFF_MASK
        end = off + count
        out = [x for x in snap[off:end] if x in m]
        if end < len(snap):
            nxt = sid << _OFF_BITS | end
        else:
            _SCANS.pop(sid, None)
    if pat is not None:
        match = compile_pattern(pat)
        out = [x for x in out if match(x)]
    return [str(nxt).encode(), out]
