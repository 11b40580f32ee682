"""Objects that hold only atoms, taken out of the cyclic collector's sight when they are made.

The write paths leave one or two objects per write that live as long as their key: a
string's record `(value, hlc, origin)`, a hash field's `(value, hlc, origin)` on a replica
with peers, an add stamp `(hlc, origin)`, a sorted set's index entry `(score, member)`, the
lean CounterStr of an INCR on a replica with peers. CPython tracks every new container.
The collector's next young pass (every 50,000 allocations, gctune.py) reads each one and
each of its referents (objects scattered over the heap, a cache miss each), untracks a tuple
that holds only atoms, and moves everything else to an older generation, whose passes read
it again: 0.25-0.7 µs per write in process, 7-12% of the write (bench/RESULTS.md, "Objects of
atoms untracked when made").

`untracked(o)` untracks `o` at once when everything it references is an atom (no object
the collector follows: bytes, str, int, float, None, untracked tuples), the collector's own
test for tuples. An untracked object is, for the collector, a root whose referents are
alive, so untracking never frees anything early; what it gives up is finding a reference
cycle through `o`. Tuples cannot change; for a mutable object the caller must call
`tracked(o)` before giving it a reference to a container (CounterStr._unlean), so an
untracked object only ever holds atoms.

Both come from a module compiled with Cython (atoms.pyx, built by setup.py): untracking is
a C API call. Without that build (no C compiler, CRDT_REDIS_PURE=1, or an edited atoms.pyx
not rebuilt) they return `o` unchanged and the collector does its work later, as before.
Either way the same objects hold the same values.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from types import MemberDescriptorType
from typing import TYPE_CHECKING, Any, TypeVar

from .wire.native import native_module

_T = TypeVar("_T")
# The compiled half, if it was built from this atoms.pyx (looked up once: the lookup hashes it).
_NATIVE = native_module("crdtredis._atoms_native", os.path.join(os.path.dirname(__file__), "atoms.pyx"))


def unchanged(o: _T) -> _T:
    """Both functions without the compiled module: the collector does the work later."""
    return o


def native() -> tuple[Callable[[Any], Any], Callable[[Any], Any]] | None:
    """The compiled (untracked, tracked) if they were built from this atoms.pyx, else None."""
    return None if _NATIVE is None else (_NATIVE.untracked, _NATIVE.tracked)


class PySlotMaker:
    """atoms.pyx SlotMaker without the compiled module: the same object, made by
    `object.__new__` and an attribute store per slot (a function written for the names),
    then `untrack` (`untracked` unless given)."""

    __slots__ = ("make7",)

    def __init__(self, cls: type, names: tuple[str, ...], untrack: Callable[[Any], Any] | None = None) -> None:
        if len(names) != 7 or len(set(names)) != 7 or not all(
                n.isidentifier() and type(getattr(cls, n, None)) is MemberDescriptorType for n in names):
            raise TypeError(f"{cls.__name__}: seven distinct slots expected")
        ns: dict[str, Any] = {"new": object.__new__, "cls": cls, "untrack": untrack or untracked}
        body = "".join(f"    o.{n} = {v}\n" for n, v in zip(names, "abcdefg", strict=True))
        exec(f"def make7(a, b, c, d, e, f, g):\n    o = new(cls)\n{body}    return untrack(o)\n", ns)  # noqa: S102
        self.make7: Callable[..., Any] = ns["make7"]


def slot_maker(cls: type, names: tuple[str, ...]) -> Any:
    """What makes instances of `cls` with seven named slots filled, in one call (the lean
    CounterStr of an INCR with peers: made in one call instead of object.__new__ and seven
    attribute stores, or CounterStr.of_incr's Python call for a new key, an INCR with peers
    took 0.2-0.3 µs less of ~2.9 in process; bench/RESULTS.md): atoms.pyx's SlotMaker when
    built, else PySlotMaker."""
    return PySlotMaker(cls, names) if _NATIVE is None else _NATIVE.SlotMaker(cls, names)


if TYPE_CHECKING:
    def untracked(o: _T) -> _T: ...

    def tracked(o: _T) -> _T: ...
else:
    untracked, tracked = native() or (unchanged, unchanged)
