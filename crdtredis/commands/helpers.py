"""What every handler needs: argument parsing with Redis's errors, and key lookups that
hide expired keys (DESIGN §3: every replica hides an expired key on read)."""
from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.numbers import parse_int
from ..crdt.string_bits import BitStr
from ..crdt.string_counter import CounterStr
from ..keyspace import Db
from ..reply import CommandError, Reply, Status

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

LLONG_MAX = (1 << 63) - 1
LLONG_MIN = -(1 << 63)


def now_ms() -> int:
    return int(time.time() * 1000)


# ---- arguments ---------------------------------------------------------------------------
def arg_int(b: bytes, msg: str = errors.NOT_INTEGER) -> int:
    v = parse_int(b)
    if v is None:
        raise CommandError(msg)
    return v


def arg_float(b: bytes, msg: str = errors.NOT_FLOAT) -> float:
    """Redis getDoubleFromObject: strtod syntax, no spaces, NaN rejected, inf allowed."""
    try:
        if not b or b[:1].isspace() or b[-1:].isspace():
            raise ValueError
        s = b.decode("ascii")
        if "_" in s:
            raise ValueError
        v = float(s)
    except (ValueError, UnicodeDecodeError):
        raise CommandError(msg) from None
    if math.isnan(v):
        raise CommandError(msg)
    return v


def arg_db(node: Node, b: bytes) -> int:
    v = parse_int(b)
    if v is None:
        raise CommandError(errors.NOT_INTEGER)
    if v < 0 or v >= len(node.keyspace.dbs):
        raise CommandError(errors.DB_INDEX)
    return v


# ---- lookups -----------------------------------------------------------------------------
def db_of(node: Node, client: Client) -> Db:
    return node.keyspace.dbs[client.db]


def _expired(node: Node, db: Db, key: bytes) -> bool:
    reg = db.expires.get(key)
    return reg is not None and reg.deadline is not None and reg.deadline <= node.now_ms()


def expire_if_needed(node: Node, db: Db, key: bytes, write: bool) -> bool:
    """True when `key` is logically expired. A writer deletes it first with an op (so INCR
    on an expired key starts from 0, like Redis); a reader only hides it, and drops it
    here without an op once that is safe (Keyspace.drop_expired): expiry itself is never
    an op, so an acknowledged PERSIST made elsewhere before the deadline always wins."""
    if not db.expires or not _expired(node, db, key):
        return False
    if node.pause_writes:
        return True  # CLIENT PAUSE: hidden, deleted once the pause ends (as Redis)
    if write:
        node.expired_keys += 1
        node.emit((codes.DEL, db.index, key))
    elif node.keyspace.drop_expired(db, key):
        node.expired_keys += 1
    else:
        return True
    if node.expired_hook is not None:
        node.expired_hook(db.index, key)
    return True


def lookup_read(node: Node, db: Db, key: bytes) -> Any:
    e = db.data.get(key)
    if e is None:
        if node.notify is not None:
            node.notify.keymiss(db.index, key)
        return None
    if db.expires and expire_if_needed(node, db, key, False):
        if node.notify is not None:
            node.notify.keymiss(db.index, key)
        return None
    return e


def lookup_write(node: Node, db: Db, key: bytes) -> Any:
    e = db.data.get(key)
    if e is None:
        return None
    if db.expires and expire_if_needed(node, db, key, True):
        return db.data.get(key)
    return e


def is_string(e: Any) -> bool:
    return type(e) is tuple or type(e) is CounterStr or type(e) is BitStr


def read_string(node: Node, db: Db, key: bytes) -> bytes | None:
    """The string at key, None if missing; WRONGTYPE if another type."""
    e = lookup_read(node, db, key)
    if e is None:
        return None
    if type(e) is tuple:
        return e[0]  # type: ignore[no-any-return]
    if type(e) is CounterStr or type(e) is BitStr:
        return e.value
    raise CommandError(errors.WRONGTYPE)


def check_type(e: Any, cls: type) -> Any:
    """`e` if it is of the entry class (or None); WRONGTYPE otherwise."""
    if e is None or type(e) is cls:
        return e
    raise CommandError(errors.WRONGTYPE)


def ttl_ms(db: Db, key: bytes) -> int | None:
    reg = db.expires.get(key)
    if reg is None or reg.deadline is None:
        return None
    return reg.deadline


# ---- replies whose size the client chooses ----------------------------------------------
# A negative SRANDMEMBER / HRANDFIELD / ZRANDMEMBER count asks for that many picks with
# repetition, whatever the key holds. Redis streams such a reply into the output buffer
# (and runs out of memory on absurd counts: -9223372036854775807); crdt-redis builds it
# first, so it refuses counts past MAX_REPEATED picks or whose reply would exceed
# proto-max-bulk-len bytes (docs/semantics.md, "Limits").
MAX_REPEATED = 1 << 24


def repeated_reply_fits(node: Node, picks: int, sample: Iterable[bytes], extra: int = 0) -> bool:
    """Whether `picks` elements like those in `sample` (a few of the key's own, each
    `extra` more bytes on the wire: a score, a value) make a reply that is allowed."""
    if picks > MAX_REPEATED:
        return False
    sizes = [len(x) for x in sample]
    if not sizes:
        return True
    per = sum(sizes) // len(sizes) + len(str(max(sizes))) + 5 + extra
    return picks * per <= node.proto_max_bulk_len


# ---- connection and server commands ------------------------------------------------------
def valid_client_name(b: bytes) -> bool:
    # Redis validateClientName: printable ASCII without space ('!'..'~').
    return all(33 <= ch <= 126 for ch in b)


def help_reply(lines: Iterable[str]) -> Reply:
    """A container's HELP reply (COMMAND HELP, CONFIG HELP, CLIENT HELP): one status per line."""
    return [Status(line.encode()) for line in lines]
