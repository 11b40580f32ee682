"""Generic key commands (Redis db.c, expire.c, object.c) and active expiry.

Deletes are observed-remove (a concurrent write to the key survives them); RENAME and COPY
rebuild the value at the destination from the type's ordinary effects, so the copy merges
with concurrent writes like any other write; expiry is the key's expiry register (PERSIST
wins over a concurrent EXPIRE, the later of two concurrent deadlines wins). See
docs/semantics.md. DBSIZE lives in server.py with the other server-group commands.
"""
from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

from .. import errors
from ..clock import hlc_ms
from ..crdt import codes
from ..crdt.numbers import parse_int
from ..crdt.string_bits import BitStr
from ..crdt.string_counter import string_value
from ..glob import compile_pattern
from ..keyspace import Db, entry_stamp, entry_type
from ..notify import GENERIC, notify_event
from ..reply import OK, CommandError, Reply, Status
from . import helpers
from .helpers import LLONG_MAX, LLONG_MIN, db_of, is_string, lookup_read, lookup_write
from .registry import command
from .scan_util import parse_cursor as parse_scan_cursor
from .scan_util import parse_scan_options
from .strings import string_encoding

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

DEL, EXPIRE, FLUSHDB = codes.DEL, codes.EXPIRE, codes.FLUSHDB

# Error texts of expire.c / object.c / db.c that only these commands use.
EXPIRE_NX_CONFLICT = "ERR NX and XX, GT or LT options at the same time are not compatible"
EXPIRE_GT_LT_CONFLICT = "ERR GT and LT options at the same time are not compatible"
LFU_NOT_SELECTED = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that "
    "when switching between policies at runtime LRU and LFU data will take some time to adjust."
)
LFU_SELECTED = (
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
SWAPDB_FIRST = "ERR invalid first DB index"
SWAPDB_SECOND = "ERR invalid second DB index"

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
# Redis's shared integers 0..9999 report this refcount (OBJ_SHARED_REFCOUNT = INT_MAX).
SHARED_REFCOUNT = INT_MAX
OBJ_SHARED_INTEGERS = 10000


def int32_arg(b: bytes, msg: str | None = None) -> int:
    """Redis getIntFromObjectOrReply: `msg` (if given) for both failures, like Redis."""
    v = parse_int(b)
    if v is None:
        raise CommandError(msg or errors.NOT_INTEGER)
    if not INT_MIN <= v <= INT_MAX:
        raise CommandError(msg or errors.INT_RANGE)
    return v


# ---- existence / type --------------------------------------------------------------------
def _del(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    n = 0
    for key in argv[1:]:
        if lookup_write(node, db, key) is not None:
            node.emit((DEL, db.index, key))
            notify_event(node, GENERIC, b"del", key, db.index)
            n += 1
    return n


# DEL key [key ...]
@command("del", -2, "write", 1, -1, 1, summary="Delete a key", since="1.0.0", acl="keyspace slow")
def del_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _del(node, client, argv)


# UNLINK key [key ...]
@command("unlink", -2, "write fast", 1, -1, 1,
         summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
         since="4.0.0", acl="keyspace fast")
def unlink_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _del(node, client, argv)


def _count_existing(node: Node, client: Client, keys: list[bytes]) -> int:
    db = db_of(node, client)
    return sum(1 for key in keys if lookup_read(node, db, key) is not None)


# EXISTS key [key ...]
@command("exists", -2, "readonly fast", 1, -1, 1, summary="Determine if a key exists", since="1.0.0",
         acl="keyspace fast")
def exists_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _count_existing(node, client, argv[1:])


# TOUCH key [key ...]
@command("touch", -2, "readonly fast", 1, -1, 1,
         summary="Alters the last access time of a key(s). Returns the number of existing keys specified.",
         since="3.2.1", acl="keyspace fast")
def touch_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    n = _count_existing(node, client, argv[1:])
    ev = getattr(node, "maxmem", None)
    if ev is not None:  # the access time LRU and OBJECT IDLETIME read (commands/maxmemory.py)
        data = node.keyspace.dbs[client.db].data
        for key in argv[1:]:
            if key in data:
                ev.touch(client.db, key)
    return n


# TYPE key
@command("type", 2, "readonly fast", 1, 1, 1, summary="Determine the type stored at key", since="1.0.0",
         acl="keyspace fast")
def type_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = lookup_read(node, db_of(node, client), argv[1])
    return Status(b"none" if e is None else entry_type(e))


# ---- KEYS / SCAN / RANDOMKEY ---------------------------------------------------------------
# KEYS pattern
@command("keys", 2, "readonly", summary="Find all keys matching the given pattern", since="1.0.0",
         acl="keyspace slow dangerous")
def keys_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    live = node.keyspace.live_keys(db, node.now_ms())
    if argv[1] == b"*":
        return list(live)
    match = compile_pattern(argv[1])
    return [k for k in live if match(k)]


class ScanSnapshots:
    """The keys of a database at the start of a SCAN, so the scan can go on from there.

    Cursor choice: Python dicts cannot be walked from a hash position the way Redis's
    reverse-binary cursor walks buckets, and a plain position in the dict's order skips keys
    when earlier keys are deleted. So SCAN 0 snapshots the key order (one pointer per key)
    and the cursor is (snapshot id << 32) | position in it: every key present for the whole
    scan is in the snapshot and is returned exactly once, whatever is added or deleted
    meanwhile; keys added later are not returned, which Redis allows. A finished scan frees
    its snapshot; abandoned ones are evicted least-recently-used, beyond MAX_SNAPSHOTS or
    beyond a budget of 8 snapshots of the database (8 bytes a key: a few percent of what the
    keys themselves take). A cursor whose snapshot is gone (evicted, another database, a
    restart) restarts from its position in a fresh snapshot: dict order is insertion order,
    so that position is right unless keys before it were deleted meanwhile.
    """

    MAX_SNAPSHOTS = 64
    MIN_BUDGET = 8_000_000  # pointers all snapshots may hold, whatever the database size

    def __init__(self) -> None:
        self.snaps: OrderedDict[int, tuple[int, list[bytes]]] = OrderedDict()
        self.held = 0
        self.next_id = 0

    def start(self, db: Db) -> tuple[int, list[bytes]]:
        keys = list(db.data)
        self.next_id = self.next_id % 0x7FFFFFFF + 1
        sid = self.next_id
        self.snaps[sid] = (db.index, keys)
        self.held += len(keys)
        budget = max(self.MIN_BUDGET, 8 * len(keys))
        while len(self.snaps) > self.MAX_SNAPSHOTS or (self.held > budget and len(self.snaps) > 1):
            self.drop(next(iter(self.snaps)))
        return sid, keys

    def get(self, sid: int, db: Db) -> list[bytes] | None:
        s = self.snaps.get(sid)
        if s is None or s[0] != db.index:
            return None
        self.snaps.move_to_end(sid)
        return s[1]

    def drop(self, sid: int) -> None:
        s = self.snaps.pop(sid, None)
        if s is not None:
            self.held -= len(s[1])


_SCANS: weakref.WeakKeyDictionary[Node, ScanSnapshots] = weakref.WeakKeyDictionary()


def _scans(node: Node) -> ScanSnapshots:
    s = _SCANS.get(node)
    if s is None:
        s = _SCANS[node] = ScanSnapshots()
    return s


# SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
@command("scan", -2, "readonly", summary="Incrementally iterate the keys space", since="2.8.0",
         acl="keyspace slow")
def scan_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    cursor = parse_scan_cursor(argv[1])
    count, pattern, typename = parse_scan_options(argv, 2, allow_type=True)
    db = db_of(node, client)
    table = _scans(node)
    sid, pos = cursor >> 32, cursor & 0xFFFFFFFF
    keys = table.get(sid, db) if cursor else None
    if keys is None:
        if cursor == 0 and len(db.data) <= count:
            sid, keys = 0, list(db.data)  # small enough for one call: no snapshot needed
        else:
            sid, keys = table.start(db)
    end = min(pos + count, len(keys))
    batch = keys[pos:end]
    if end >= len(keys):
        table.drop(sid)
        nxt = 0
    else:
        nxt = (sid << 32) | end
    match = compile_pattern(pattern) if pattern is not None else None
    out: list[bytes] = []
    data = db.data
    for key in batch:
        e = data.get(key)
        if e is None:
            continue
        if typename is not None and entry_type(e) != typename:
            continue
        if match is not None and not match(key):
            continue
        if db.expires and helpers.expire_if_needed(node, db, key, False):
            continue
        out.append(key)
    return [str(nxt).encode(), out]


# RANDOMKEY
@command("randomkey", 1, "readonly", summary="Return a random key from the keyspace", since="1.0.0",
         acl="keyspace slow")
def randomkey_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return node.keyspace.random_key(db_of(node, client), node.now_ms())


# ---- expiry ----------------------------------------------------------------------------
# C's LLONG_MIN / 1000 truncates toward zero.
_SECONDS_MIN = -(-LLONG_MIN // 1000)
_SECONDS_MAX = LLONG_MAX // 1000


def _expire(node: Node, client: Client, argv: list[bytes], cmd: str, seconds: bool, absolute: bool) -> Reply:
    nx = xx = gt = lt = False
    for opt in argv[3:]:
        o = opt.lower()
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o == b"gt":
            gt = True
        elif o == b"lt":
            lt = True
        else:
            raise CommandError("ERR Unsupported option " + opt.decode("utf-8", "replace"))
    if nx and (xx or gt or lt):
        raise CommandError(EXPIRE_NX_CONFLICT)
    if gt and lt:
        raise CommandError(EXPIRE_GT_LT_CONFLICT)
    when = helpers.arg_int(argv[2])
    if seconds:
        if when > _SECONDS_MAX or when < _SECONDS_MIN:
            raise CommandError(errors.invalid_expire(cmd))
        when *= 1000
    base = 0 if absolute else node.now_ms()
    if when > LLONG_MAX - base:
        raise CommandError(errors.invalid_expire(cmd))
    when += base
    db = db_of(node, client)
    key = argv[1]
    if lookup_write(node, db, key) is None:
        return 0
    current = helpers.ttl_ms(db, key)
    if nx and current is not None:
        return 0
    if xx and current is None:
        return 0
    # No TTL counts as an infinite one: GT always fails, LT always passes.
    if gt and (current is None or when <= current):
        return 0
    if lt and current is not None and when >= current:
        return 0
    if when <= node.now_ms():
        node.emit((DEL, db.index, key))
        notify_event(node, GENERIC, b"del", key, db.index)
    else:
        node.emit((EXPIRE, db.index, key, when))
        notify_event(node, GENERIC, b"expire", key, db.index)
    return 1


# EXPIRE key seconds [NX|XX|GT|LT]
@command("expire", -3, "write fast", 1, 1, 1, summary="Set a key's time to live in seconds", since="1.0.0",
         acl="keyspace fast")
def expire_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _expire(node, client, argv, "expire", True, False)


# PEXPIRE key milliseconds [NX|XX|GT|LT]
@command("pexpire", -3, "write fast", 1, 1, 1, summary="Set a key's time to live in milliseconds",
         since="2.6.0", acl="keyspace fast")
def pexpire_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _expire(node, client, argv, "pexpire", False, False)


# EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
@command("expireat", -3, "write fast", 1, 1, 1, summary="Set the expiration for a key as a UNIX timestamp",
         since="1.2.0", acl="keyspace fast")
def expireat_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _expire(node, client, argv, "expireat", True, True)


# PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
@command("pexpireat", -3, "write fast", 1, 1, 1,
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds", since="2.6.0",
         acl="keyspace fast")
def pexpireat_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _expire(node, client, argv, "pexpireat", False, True)


def _ttl(node: Node, client: Client, key: bytes, ms: bool, absolute: bool) -> Reply:
    db = db_of(node, client)
    if lookup_read(node, db, key) is None:
        return -2
    deadline = helpers.ttl_ms(db, key)
    if deadline is None:
        return -1
    ttl = deadline if absolute else max(deadline - node.now_ms(), 0)
    return ttl if ms else (ttl + 500) // 1000


# TTL key
@command("ttl", 2, "readonly fast", 1, 1, 1, summary="Get the time to live for a key in seconds",
         since="1.0.0", acl="keyspace fast")
def ttl_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _ttl(node, client, argv[1], False, False)


# PTTL key
@command("pttl", 2, "readonly fast", 1, 1, 1, summary="Get the time to live for a key in milliseconds",
         since="2.6.0", acl="keyspace fast")
def pttl_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _ttl(node, client, argv[1], True, False)


# EXPIRETIME key
@command("expiretime", 2, "readonly fast", 1, 1, 1, summary="Get the expiration Unix timestamp for a key",
         since="7.0.0", acl="keyspace fast")
def expiretime_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _ttl(node, client, argv[1], False, True)


# PEXPIRETIME key
@command("pexpiretime", 2, "readonly fast", 1, 1, 1,
         summary="Get the expiration Unix timestamp for a key in milliseconds", since="7.0.0",
         acl="keyspace fast")
def pexpiretime_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _ttl(node, client, argv[1], True, True)


# PERSIST key
@command("persist", 2, "write fast", 1, 1, 1, summary="Remove the expiration from a key", since="2.2.0",
         acl="keyspace fast")
def persist_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    key = argv[1]
    if lookup_write(node, db, key) is None or helpers.ttl_ms(db, key) is None:
        return 0
    node.emit((EXPIRE, db.index, key, None))
    notify_event(node, GENERIC, b"persist", key, db.index)
    return 1


# ---- databases -------------------------------------------------------------------------
def _flush_args(argv: list[bytes]) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"sync", b"async")):
        raise CommandError(errors.SYNTAX)


# FLUSHDB [ASYNC|SYNC]
@command("flushdb", -1, "write", group="server", summary="Remove all keys from the current database",
         since="1.0.0", acl="keyspace slow dangerous")
def flushdb_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    _flush_args(argv)
    node.emit((FLUSHDB, client.db, b""))
    return OK


# FLUSHALL [ASYNC|SYNC]
@command("flushall", -1, "write", group="server", summary="Remove all keys from all databases",
         since="1.0.0", acl="keyspace slow dangerous")
def flushall_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    _flush_args(argv)
    # One effect per database, all in this command's one op: peers flush atomically too.
    for db in node.keyspace.dbs:
        node.emit((FLUSHDB, db.index, b""))
    return OK


# SWAPDB index1 index2
@command("swapdb", 3, "write fast", group="server", summary="Swaps two Redis databases", since="4.0.0",
         acl="keyspace fast dangerous")
def swapdb_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    a = int32_arg(argv[1], SWAPDB_FIRST)
    b = int32_arg(argv[2], SWAPDB_SECOND)
    ndb = len(node.keyspace.dbs)
    if not (0 <= a < ndb and 0 <= b < ndb):
        raise CommandError(errors.DB_INDEX)
    if a == b:
        return OK  # nothing to swap: Redis answers OK too
    raise CommandError(errors.SWAPDB_UNSUPPORTED)


# ---- OBJECT ----------------------------------------------------------------------------
def _lfu_policy(node: Node) -> bool:
    return "lfu" in node.runtime.get("maxmemory-policy", "noeviction")


# OBJECT <subcommand> [<arg> ...]
@command("object", -2, "", summary="A container for object introspection commands", since="2.2.3",
         acl="slow")
def object_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    # The dispatcher routes to the subcommands below; this runs only if it cannot.
    raise CommandError(errors.unknown_subcommand(argv[1], "object"))


# OBJECT ENCODING key
@command("encoding", 3, "readonly", 2, 2, 1, summary="Inspect the internal encoding of a Redis object",
         since="2.2.3", acl="keyspace slow", parent="object")
def object_encoding_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    e = lookup_read(node, db, argv[2])
    if e is None:
        return None
    if is_string(e) and type(e) is not BitStr:  # bit/HLL strings are always raw, as in Redis
        return string_encoding(node, db, argv[2], string_value(e))
    return e.encoding()  # type: ignore[no-any-return]


# OBJECT FREQ key
@command("freq", 3, "readonly", 2, 2, 1, summary="Get the logarithmic access frequency counter of a Redis object",
         since="4.0.0", acl="keyspace slow", parent="object")
def object_freq_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if lookup_read(node, db_of(node, client), argv[2]) is None:
        return None
    if not _lfu_policy(node):
        raise CommandError(LFU_NOT_SELECTED)
    ev = getattr(node, "maxmem", None)
    return ev.lfu_counter(client.db, argv[2]) if ev is not None else 0


# OBJECT IDLETIME key
@command("idletime", 3, "readonly", 2, 2, 1, summary="Get the time since a Redis object was last accessed",
         since="2.2.3", acl="keyspace slow", parent="object")
def object_idletime_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = lookup_read(node, db_of(node, client), argv[2])
    if e is None:
        return None
    if _lfu_policy(node):
        raise CommandError(LFU_SELECTED)
    # Since the key's last write (its HLC stamp) or last recorded access: TOUCH, and every
    # read under an LRU maxmemory policy (commands/maxmemory.py).
    ev = getattr(node, "maxmem", None)
    if ev is not None:
        return ev.idle_ms(client.db, argv[2], e) // 1000
    return max(node.now_ms() - hlc_ms(entry_stamp(e)[0]), 0) // 1000


# OBJECT REFCOUNT key
@command("refcount", 3, "readonly", 2, 2, 1, summary="Get the number of references to the value of the key",
         since="2.2.3", acl="keyspace slow", parent="object")
def object_refcount_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    e = lookup_read(node, db, argv[2])
    if e is None:
        return None
    if is_string(e):
        v = string_value(e)
        if string_encoding(node, db, argv[2], v) == b"int":
            iv = parse_int(v)
            if iv is not None and 0 <= iv < OBJ_SHARED_INTEGERS:
                return SHARED_REFCOUNT
    return 1


_OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]


# OBJECT HELP
@command("help", 2, "loading stale", summary="Show helpful text about the different subcommands",
         since="6.2.0", acl="keyspace slow", parent="object")
def object_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return [Status(line.encode()) for line in _OBJECT_HELP]


# ---- active expiry ---------------------------------------------------------------------
ACTIVE_EXPIRE_SAMPLE = 20
ACTIVE_EXPIRE_REPEAT = 0.25  # sample again while more than this share was expired


class _ExpireWalk:
    """Where the active expiry of one database is: like Redis's expires_cursor, it walks the
    keys with a TTL in order (a snapshot, renewed after each full pass), not at random."""

    __slots__ = ("keys", "pos")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.pos = 0


_WALKS: weakref.WeakKeyDictionary[Node, dict[int, _ExpireWalk]] = weakref.WeakKeyDictionary()


def active_expire_cycle(node: Node, budget_s: float | None = None) -> int:
    """Drop expired keys; return how many were dropped.

    Per database: look at up to 20 keys with a TTL, drop the expired ones, and repeat while
    more than 25% of them were expired, within ~25% of a tick (1/hz) in all. Expiry is not
    an op: every replica drops an expired key on its own once no op that could still see
    it alive can arrive (Keyspace.drop_expired); until then it is only hidden.
    """
    if node.pause_writes:
        return 0  # CLIENT PAUSE: no deletes until it ends
    if budget_s is None:
        hz = max(int(node.runtime.get("hz", getattr(node.config, "hz", 10))), 1)
        budget_s = 0.25 / hz
    stop = time.perf_counter() + budget_s
    walks = _WALKS.get(node)
    if walks is None:
        walks = _WALKS[node] = {}
    deleted = 0
    for db in node.keyspace.dbs:
        if not db.expires:
            continue
        walk = walks.setdefault(db.index, _ExpireWalk())
        start_pass = True
        while True:
            # A snapshot much larger than what still has a TTL is mostly keys deleted since
            # (a FLUSHALL of many volatile keys): walking it 20 stale keys per tick starved
            # new keys for tens of seconds. Take a fresh one.
            stale = len(walk.keys) - walk.pos > 2 * len(db.expires) + ACTIVE_EXPIRE_SAMPLE
            if walk.pos >= len(walk.keys) or stale:
                if not start_pass and not stale:
                    break  # one full pass per database per cycle
                walk.keys = list(db.expires)
                walk.pos = 0
            start_pass = False
            batch = walk.keys[walk.pos:walk.pos + ACTIVE_EXPIRE_SAMPLE]
            walk.pos += len(batch)
            now = node.now_ms()
            sampled = expired = 0
            ks = node.keyspace
            for key in batch:
                reg = db.expires.get(key)
                if reg is None or reg.deadline is None:
                    continue
                sampled += 1
                if reg.deadline <= now and ks.drop_expired(db, key):
                    node.expired_keys += 1
                    expired += 1
                    if node.expired_hook is not None:
                        node.expired_hook(db.index, key)
            deleted += expired
            if time.perf_counter() >= stop:
                break
            # A batch of keys deleted since the snapshot says nothing: look further.
            if sampled and expired <= sampled * ACTIVE_EXPIRE_REPEAT:
                break
        if time.perf_counter() >= stop:
            break
    return deleted
