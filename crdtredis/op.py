"""The effect op: the unit that is applied, logged and replicated.

An Op is one atomic group of effects from one origin: a single command, or every write
of one MULTI/EXEC. Effect i of an op has sequence number seq + i and timestamp hlc + i.

Two identities, two jobs. `seq` counts an origin's effects from 1 with no gaps: delivery,
acks, pulls and WAIT use the seq version vector. Inside the CRDTs an effect is named by its
stamp `(hlc, origin)`: unique (the HLC strictly increases per origin), totally ordered (LWW,
RGA sibling order) and usable as a dot, because `deps` is expressed in HLC units too. So a
value needs to store just one stamp to be both ordered and checked for "observed".

An effect is a plain tuple `(code, db, key, *args)`; `code` selects the apply function
registered by the CRDT module that owns it (see keyspace.register_effect). Tuples, not
dataclasses: the write path makes one per command and DESIGN §7 measured the difference.

`deps` maps every *other* origin to the highest HLC of its effects applied at the origin at
prepare time (its own earlier effects are implied). Per-origin delivery is FIFO, so
`applied_hlc[o] >= deps[o]` for all o means every dependency is in. The dict is shared,
never mutated: the origin swaps in a new one only when it applies a remote op, so
consecutive local ops share one object.
"""
from __future__ import annotations

from typing import Any

Effect = tuple[Any, ...]


class Op:
    __slots__ = ("origin", "seq", "hlc", "deps", "effects")

    def __init__(self, origin: str, seq: int, hlc: int, deps: dict[str, int], effects: list[Effect]) -> None:
        self.origin = origin
        self.seq = seq
        self.hlc = hlc
        self.deps = deps
        self.effects = effects

    @property
    def last_seq(self) -> int:
        return self.seq + len(self.effects) - 1

    def __repr__(self) -> str:
        return f"Op({self.origin}:{self.seq}@{self.hlc} deps={self.deps} {self.effects!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Op)
            and self.origin == other.origin
            and self.seq == other.seq
            and self.hlc == other.hlc
            and self.deps == other.deps
            and self.effects == other.effects
        )


class Ctx:
    """The causal context of one effect during apply: what its origin had seen.

    A stamp (h, o) is observed by the effect iff o is the effect's own origin with an
    earlier HLC, or the origin's deps cover it. Observed-remove (DEL, SET over a counter, SREM)
    removes exactly the observed dots, so a concurrent add survives.
    """

    __slots__ = ("origin", "seq", "hlc", "deps")

    def __init__(self, origin: str, seq: int, hlc: int, deps: dict[str, int]) -> None:
        self.origin = origin
        self.seq = seq
        self.hlc = hlc
        self.deps = deps

    def observed(self, hlc: int, origin: str) -> bool:
        if origin == self.origin:
            return hlc < self.hlc
        return self.deps.get(origin, 0) >= hlc

    def stamp_gt(self, hlc: int, origin: str) -> bool:
        """True when this effect's (hlc, origin) is later than the given stamp (LWW order)."""
        return self.hlc > hlc or (self.hlc == hlc and self.origin > origin)
