"""The values a keyspace holds and the per-db maps that hold them: `Entry` (base of every
non-string value; a plain string is a `(value, hlc, origin)` tuple), the helpers that treat
both alike (`entry_state`, `entry_type`, `entry_stamp`), the expiry register (`ExpiryReg`)
and `Db`. The keyspace (keyspace.py) applies effects to them; it re-exports these names."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .op import Ctx

if TYPE_CHECKING:
    from .client import Client

STRING = b"string"


class Entry(ABC):
    """Base of every non-string value. `thlc`/`torigin` stamp the latest write of this type
    (the key-level type register). Abstract: a type that forgets a method fails when its
    first entry is created (every test of the type), never later at a client's command."""

    __slots__ = ("thlc", "torigin")
    TYPE: bytes = b"none"
    # Tag naming this class in base snapshots (defaults to TYPE); part of the disk format.
    STATE_TAG: bytes = b""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        ENTRY_CLASSES[cls.STATE_TAG or cls.TYPE] = cls

    def __init__(self) -> None:
        self.thlc = 0
        self.torigin = ""

    def touch(self, ctx: Ctx) -> None:
        if ctx.hlc > self.thlc or (ctx.hlc == self.thlc and ctx.origin > self.torigin):
            self.thlc = ctx.hlc
            self.torigin = ctx.origin

    @abstractmethod
    def remove_observed(self, ctx: Ctx) -> None:
        """Observed-remove of the whole content (DEL, FLUSHDB, an overwriting SET)."""

    @abstractmethod
    def is_empty(self) -> bool:
        """True when nothing of the value is visible."""

    def retain(self) -> bool:
        """True when an empty (invisible) entry must still be kept, hidden, because ops
        concurrent with its removals may reference what it holds (list tombstones)."""
        return False

    def encoding(self) -> bytes:
        return b"raw"

    def leave_solo(self) -> None:
        """The replica is no longer alone (Keyspace.leave_solo): take the form a replica with
        peers keeps. Only lists keep a solo form of their own (ListEntry.peers)."""
        return None  # every other type's form is the same alone or not

    def winner_stamp(self) -> tuple[int, str] | None:
        """Stamp of the register write whose value is shown (strings only): a TTL written
        by a SET belongs to that write (ExpiryReg)."""
        return None

    def gc(self, stable: Callable[[int, str], bool]) -> int:
        """Drop tombstones / per-element metadata whose stamps are causally stable;
        returns how many were dropped. Types without such metadata keep the default."""
        return 0

    @abstractmethod
    def state(self) -> Any:
        """Full CRDT state as a plain structure (snapshots, convergence tests)."""

    @classmethod
    @abstractmethod
    def from_state(cls, s: Any) -> Entry:
        """The entry whose `state()` is `s`."""


# Snapshot tag -> Entry class (filled by Entry.__init_subclass__).
ENTRY_CLASSES: dict[bytes, type[Entry]] = {}


def entry_state(e: Any) -> tuple[bytes, Any]:
    """(tag, state) of any entry; plain strings are tagged b"str"."""
    if type(e) is tuple:
        return (b"str", e)
    cls = type(e)
    return (cls.STATE_TAG or cls.TYPE, e.state())


def entry_from_state(tag: bytes, s: Any) -> Any:
    if tag == b"str":
        return (s[0], s[1], s[2])
    cls = ENTRY_CLASSES.get(tag)
    if cls is None:
        raise ValueError(f"unknown entry tag {tag!r}")
    return cls.from_state(s)


def entry_type(e: Any) -> bytes:
    if type(e) is tuple:
        return STRING
    return e.TYPE  # type: ignore[no-any-return]


def entry_stamp(e: Any) -> tuple[int, str]:
    if type(e) is tuple:
        return (e[1], e[2])
    return (e.thlc, e.torigin)


def _winner_stamp(e: Any) -> tuple[int, str] | None:
    if type(e) is tuple:
        return (e[1], e[2])
    if e is None:
        return None
    return e.winner_stamp()  # type: ignore[no-any-return]


# Kinds of expiry values. An EXPIRE-family write (EXPIRE, PEXPIREAT, PERSIST, GETEX) is a
# property of the key; a TTL written by SET ... EX belongs to the value that SET wrote.
EXPIRE_KIND = 0
SET_KIND = 1


class ExpiryReg:
    """Multi-value register of deadlines: concurrent writes are all kept, an overwrite
    removes only what it observed. Values are (deadline ms | None for PERSIST, hlc, origin,
    kind). Resolution (`resolve`), between concurrent values:

    * EXPIRE-kind values decide when there are any: PERSIST wins over a concurrent expire,
      and the later of two concurrent deadlines wins (each is the outcome of some serial
      order of the writes);
    * otherwise the SET-kind value written together with the string value that is shown
      decides: a value written with its TTL wins or loses together with that TTL. A SET
      without a TTL writes nothing: the value it wrote has no SET-kind value, so no TTL.
    """

    __slots__ = ("vals", "deadline")

    def __init__(self, vals: list[tuple[int | None, int, str, int]]) -> None:
        self.vals = vals
        self.deadline: int | None = None

    def resolve(self, winner: tuple[int, str] | None) -> int | None:
        best: int | None = None
        expire = False
        tied: int | None = None
        for d, h, o, kind in self.vals:
            if kind == EXPIRE_KIND:
                if d is None:
                    self.deadline = None
                    return None
                expire = True
                if best is None or d > best:
                    best = d
            elif winner is not None and h == winner[0] and o == winner[1]:
                tied = d
        self.deadline = best if expire else tied
        return self.deadline

    def remove_observed(self, ctx: Ctx) -> bool:
        """Drop observed values; True when nothing is left."""
        obs = ctx.observed
        self.vals = [v for v in self.vals if not obs(v[1], v[2])]
        return not self.vals


class Db:
    """One logical database (SELECT n)."""

    __slots__ = ("index", "data", "expires", "shadow", "watched", "waiters", "gc_keys", "gc_all", "gc_cap")

    def __init__(self, index: int) -> None:
        self.index = index
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, ExpiryReg] = {}
        # key -> {type name -> hidden entry}: content of types that lost the type register.
        self.shadow: dict[bytes, dict[bytes, Any]] = {}
        # key -> clients WATCHing it (MULTI/EXEC optimistic locking).
        self.watched: dict[bytes, set[Client]] = {}
        # key -> callbacks of blocked clients (BLPOP...), run after a write to the key.
        self.waiters: dict[bytes, list[Callable[[], None]]] = {}
        # GC's work (Keyspace.gc_chunks): the keys ops wrote since its last pass, on a
        # replica with peers, in write order with repeats (an append per write; a set
        # insertion was ~0.27 µs of a ~3.7 µs SET in process, mostly cache misses, and the
        # pass removes the repeats), but never the key noted last again: one hot key (a
        # queue's list, a leaderboard's sorted set) written 300k times filled the list past
        # `gc_cap` and made every pass visit every key (a pass over 900k keys: 0.6-1.3 s
        # of CPU, in bench_replication's windows). `gc_all` when the next pass must visit
        # every key (at start, after a snapshot install or a flush, or once more than
        # `gc_cap` were noted).
        self.gc_keys: list[bytes] = []
        self.gc_all = True
        self.gc_cap = 1024

    def note(self, key: bytes) -> None:
        """An op wrote `key` on a replica with peers: GC's next pass visits it."""
        if not self.gc_all:
            keys = self.gc_keys
            if not keys or keys[-1] != key:
                keys.append(key)
                if len(keys) > self.gc_cap:
                    self.visit_whole()

    def visit_whole(self) -> None:
        """GC's next pass visits every key of this db; nothing more is noted until then."""
        self.gc_all = True
        self.gc_keys = []

    def touch(self, key: bytes) -> None:
        """A key was written by anyone: invalidate WATCHes and wake blocked readers."""
        w = self.watched.get(key)
        if w:
            for c in w:
                c.watch_dirty = True
        cbs = self.waiters.get(key)
        if cbs:
            for cb in list(cbs):
                cb()

    def touch_all(self) -> None:
        for key in list(self.watched):
            self.touch(key)


def _never(reg: ExpiryReg, top: int) -> bool:
    return False
