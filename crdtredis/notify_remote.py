"""Keyspace events for ops from peers: what changed here, named after the effect.

A peer's op carries effects, not commands, and a merged concurrent write may change
nothing this replica shows (it lost to a later write, or went to a type that is hidden
here). So each key the op touches is looked at before and after the op is applied, and
each effect fires its event only if the part of the key it writes changed:

| effect | event (class) | fires when |
|---|---|---|
| SET / INCR | set, incrby, incrbyfloat ($) | the string shown changed |
| DEL | del (g) | the key was shown and is gone |
| EXPIRE | expire / persist (g) | the key's deadline changed (persist: to none) |
| list insert | lpush (new head), rpush (new tail), linsert (l) | the list grew |
| list remove | lpop (head gone), rpop (tail gone), lrem (l) | the list shrank |
| list set / trim | lset, ltrim (l) | a value / the length changed |
| SADD / SREM | sadd, srem (s) | a named member appeared / disappeared |
| HSET / HINCR / HDEL | hset, hincrby(float), hdel (h) | a named field changed |
| ZADD / ZINCR / ZREM | zadd, zincr, zrem (z) | a named member's score changed |
| FLUSHDB | none (Redis's FLUSHDB notifies nothing) | |

Then, per key: "del" (g) if it was shown before and is not after (and no DEL event fired),
"new" (n) if it was not shown and is now. Other types register their effects with
`register_remote_event`. The work is skipped when nobody is subscribed to anything.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import notify as nf
from .crdt import codes
from .crdt.list_rga import LINSERT as _LINSERT
from .crdt.list_rga import LREMOVE as _LREMOVE
from .crdt.list_rga import LSETVAL as _LSETVAL
from .crdt.list_rga import LTRIMR as _LTRIMR
from .crdt.map_fields import HDEL as _HDEL
from .crdt.map_fields import HINCR as _HINCR
from .crdt.map_fields import HSET as _HSET
from .crdt.set_aw import SADD as _SADD
from .crdt.set_aw import SREM as _SREM
from .crdt.string_bits import BITINCR as _BITINCR
from .crdt.string_bits import BITW as _BITW
from .crdt.string_bits import PFADD as _PFADD
from .crdt.string_bits import PFMERGE as _PFMERGE
from .crdt.zset_aw import ZADD as _ZADD
from .crdt.zset_aw import ZINCR as _ZINCR
from .crdt.zset_aw import ZREM as _ZREM
from .keyspace import entry_type

if TYPE_CHECKING:
    from .keyspace import Db
    from .op import Effect, Op

# Effect code -> (class, fn(effect, before view, after view) -> event name or None).
EventFn = Callable[["Effect", Any, Any], bytes | None]
_REMOTE: dict[int, tuple[int, EventFn]] = {}



def register_remote_event(code: int, cls: int, fn: EventFn) -> None:
    """Name the event a replicated effect of `code` fires (new types, e.g. streams)."""
    _REMOTE[code] = (cls, fn)


class _View:
    """What one key shows: type, deadline, and the parts the op's effects name."""

    __slots__ = ("etype", "deadline", "value", "size", "first", "last", "named")

    def __init__(self) -> None:
        self.etype: bytes | None = None
        self.deadline: int | None = None
        self.value: Any = None
        self.size = 0
        self.first: Any = None
        self.last: Any = None
        self.named: tuple[Any, ...] = ()


def _names(effs: list[Effect]) -> list[bytes]:
    out: list[bytes] = []
    for eff in effs:
        code = eff[0] & 0x7F
        if code in (_HSET, _ZADD):
            out.extend(eff[3::2])
        elif code in (_SADD, _SREM, _ZREM, _HDEL):
            out.extend(eff[3:])
        elif code in (_HINCR, _ZINCR):
            out.append(eff[3])
    return out


def _view(db: Db, key: bytes, names: list[bytes], now: int) -> _View:
    v = _View()
    e = db.data.get(key)
    reg = db.expires.get(key)
    deadline = reg.deadline if reg is not None else None
    if e is None or (deadline is not None and deadline <= now):
        return v
    v.deadline = deadline
    t = v.etype = entry_type(e)
    if t == b"string":
        v.value = e[0] if type(e) is tuple else e.value
    elif t == b"set":
        v.size = len(e.m)
        v.named = tuple(n in e.m for n in names)
    elif t == b"hash":
        v.named = tuple(e.get(n) for n in names)
    elif t == b"zset":
        v.size = len(e)
        v.named = tuple(e.score(n) for n in names)
    elif t == b"list":
        n = v.size = len(e)
        if n:
            v.first = e.at(0)[1]
            v.last = e.at(n - 1)[1]
    else:
        # A type without a view here: its size where it has one, so a change shows.
        try:
            v.size = len(e)
        except TypeError:
            v.size = -1
    return v


def before_remote(n: nf.Notifier, op: Op) -> Any:
    ps = n.node.pubsub
    if not ps.channels and not ps.patterns:
        return None
    keys: dict[tuple[int, bytes], list[Effect]] = {}
    for eff in op.effects:
        if eff[0] != codes.FLUSHDB:
            keys.setdefault((eff[1], eff[2]), []).append(eff)
    dbs = n.node.keyspace.dbs
    now = n.node.now_ms()
    return {k: (effs, _view(dbs[k[0]], k[1], _names(effs), now)) for k, effs in keys.items()}


def after_remote(n: nf.Notifier, op: Op, before: Any) -> None:
    dbs = n.node.keyspace.dbs
    now = n.node.now_ms()
    flags = n.flags
    for (dbi, key), (effs, b) in before.items():
        a = _view(dbs[dbi], key, _names(effs), now)
        if b.etype is None and a.etype is not None and flags & nf.NEW:
            n.publish(b"new", key, dbi)
        deleted = False
        for eff in effs:
            code = eff[0] & 0x7F
            spec = _REMOTE.get(code)
            if spec is None:
                continue
            cls, fn = spec
            if not flags & cls:
                continue
            event = fn(eff, b, a)
            if event is not None:
                deleted = deleted or event == b"del"
                n.publish(event, key, dbi)
        if b.etype is not None and a.etype is None and not deleted and flags & nf.GENERIC:
            n.publish(b"del", key, dbi)


# ---- the built-in effects ---------------------------------------------------------------
def _set(eff: Effect, b: _View, a: _View) -> bytes | None:
    return b"set" if a.etype == b"string" and (b.etype != b"string" or a.value != b.value) else None


def _incr(eff: Effect, b: _View, a: _View) -> bytes | None:
    if a.etype == b"string" and (b.etype != b"string" or a.value != b.value):
        return b"incrby" if type(eff[3]) is int else b"incrbyfloat"
    return None


def _del(eff: Effect, b: _View, a: _View) -> bytes | None:
    return b"del" if b.etype is not None and a.etype is None else None


def _expire(eff: Effect, b: _View, a: _View) -> bytes | None:
    if a.etype is None or a.deadline == b.deadline:
        return None
    return b"persist" if a.deadline is None else b"expire"


def _typed(etype: bytes, event: bytes, grew: bool | None) -> EventFn:
    """An event for a change of a named member/field (grew: None any change, True an
    appearance, False a disappearance)."""

    def fn(eff: Effect, b: _View, a: _View) -> bytes | None:
        if a.etype != etype and not (grew is False and b.etype == etype):
            return None
        if b.etype != etype:
            return event if grew is not False else None
        if a.etype != etype:
            return event  # the last named member went: the key went with it
        for x, y in zip(b.named, a.named, strict=False):
            if x != y and (grew is None or _present(y) == grew):
                return event
        return None

    return fn


def _present(y: Any) -> bool:
    # Sets name members as present/absent; hashes and zsets by value or score (None: gone).
    return y if type(y) is bool else y is not None


def _list_insert(eff: Effect, b: _View, a: _View) -> bytes | None:
    if a.etype != b"list" or (b.etype == b"list" and a.size <= b.size):
        return None
    if b.etype != b"list" or a.first != b.first:
        return b"lpush"
    return b"rpush" if a.last != b.last else b"linsert"


def _list_remove(eff: Effect, b: _View, a: _View) -> bytes | None:
    if b.etype != b"list" or (a.etype == b"list" and a.size >= b.size):
        return None
    if a.etype != b"list" or a.first != b.first:
        return b"lpop"
    return b"rpop" if a.last != b.last else b"lrem"


def _list_set(eff: Effect, b: _View, a: _View) -> bytes | None:
    return b"lset" if a.etype == b"list" and b.etype == b"list" else None


def _list_trim(eff: Effect, b: _View, a: _View) -> bytes | None:
    if b.etype == b"list" and (a.etype != b"list" or a.size != b.size):
        return b"ltrim"
    return None


def _hincr(eff: Effect, b: _View, a: _View) -> bytes | None:
    if _typed(b"hash", b"hincrby", None)(eff, b, a) is None:
        return None
    return b"hincrby" if type(eff[4]) is int else b"hincrbyfloat"


def _string(name: bytes) -> EventFn:
    def fn(eff: Effect, b: _View, a: _View) -> bytes | None:
        return name if a.etype == b"string" and (b.etype != b"string" or a.value != b.value) else None
    return fn


for _code, _cls, _fn in (
    (_BITW, nf.STRING, _string(b"setbit")),
    (_BITINCR, nf.STRING, _string(b"setbit")),
    (_PFADD, nf.STRING, _string(b"pfadd")),
    (_PFMERGE, nf.STRING, _string(b"pfadd")),
    (codes.SET, nf.STRING, _set),
    (codes.INCR, nf.STRING, _incr),
    (codes.DEL, nf.GENERIC, _del),
    (codes.EXPIRE, nf.GENERIC, _expire),
    (_LINSERT, nf.LIST, _list_insert),
    (_LREMOVE, nf.LIST, _list_remove),
    (_LSETVAL, nf.LIST, _list_set),
    (_LTRIMR, nf.LIST, _list_trim),
    (_SADD, nf.SET, _typed(b"set", b"sadd", True)),
    (_SREM, nf.SET, _typed(b"set", b"srem", False)),
    (_HSET, nf.HASH, _typed(b"hash", b"hset", None)),
    (_HINCR, nf.HASH, _hincr),
    (_HDEL, nf.HASH, _typed(b"hash", b"hdel", False)),
    (_ZADD, nf.ZSET, _typed(b"zset", b"zadd", None)),
    (_ZINCR, nf.ZSET, _typed(b"zset", b"zincr", None)),
    (_ZREM, nf.ZSET, _typed(b"zset", b"zrem", False)),
):
    register_remote_event(_code, _cls, _fn)


__all__ = ["register_remote_event", "before_remote", "after_remote"]
