"""A multi-value register with counter contributions: a string value, or one hash field.

Rule, for one register, after any set of ops delivered in any causal order:

* live writes  = register writes (SET, HSET, APPEND...) observed by no later write and by no
  remove (DEL, HDEL, an overwrite);
* live incrs   = increments (INCR*, HINCRBY*) observed by no write and no remove;
* the value exists iff some live write or live incr does; it is the highest-stamped live
  write (or nothing), then every live incr applied in stamp order exactly as Redis applies
  one (crdt/numbers.py), where an increment Redis would refuse at its turn (the value is not
  a number of its kind, the sum leaves int64, a float becomes infinite) is skipped.

That is the result of one serial order of the writes: the winning write, then the
increments by stamp, each refused or applied as Redis would. It is the same rule for
INCRBY/INCRBYFLOAT on strings and HINCRBY/HINCRBYFLOAT on hash fields. Two replicas that
increment concurrently can thus see one of their increments refused after they merge (the
client of that increment got a success reply): the price of bounded counters that never
coordinate (docs/semantics.md, "Counters").

The register is multi-valued: a remove takes away only the writes it observed, so when it
observed the winning write but not a concurrent lower-stamped one, that one must still be
there to become the value (a single-slot register gives different answers in different
delivery orders).

`value` is kept up to date incrementally: a local increment always has the highest stamp,
so a counter that only its own replica increments costs O(1) per increment, not O(live
increments); a late, lower-stamped concurrent increment re-folds.
"""
from __future__ import annotations

from bisect import insort
from typing import Any

from ..op import Ctx
from .numbers import LLONG_MAX, Delta, format_int, incr_value, parse_int

Val = tuple[bytes, int, str]  # (value, hlc, origin): one register write
Contrib = tuple[int, str, Delta]  # (hlc, origin, delta): one increment


def _stamp(x: Val) -> tuple[int, str]:
    return (x[1], x[2])


def _cstamp(c: Contrib) -> tuple[int, str]:
    return (c[0], c[1])


class CounterReg:
    __slots__ = ("vals", "_contrib", "value", "_fold", "_unsorted")

    def __init__(self, vals: list[Val], contrib: list[Contrib]) -> None:
        self.vals = vals
        self._contrib = contrib  # in stamp order, unless `_unsorted` (see incr)
        self._unsorted = False
        self.value = b""
        # (sum, bound) while the value is an integer sum no prefix of which can leave
        # int64 (recompute's fast path): then an integer increment adds up in any order,
        # and a late one costs O(log n) instead of a re-fold (a partition's worth of
        # concurrent INCRs merging one by one was O(n^2)).
        self._fold: tuple[int, int] | None = None
        self.recompute()

    @classmethod
    def of_incr(cls, c: Contrib) -> CounterReg:
        """`CounterReg([], [])` then `incr(c)`, without the general path: the first INCR
        of a key on a replica with peers (every one of redis-benchmark's random keys)."""
        r = cls.__new__(cls)
        r.vals = []
        r._contrib = [c]
        r._unsorted = False
        d = c[2]
        if type(d) is int and abs(d) <= LLONG_MAX:
            # What recompute() would find: the integer sum of one increment.
            r._fold = (d, abs(d))
            r.value = format_int(d)
            return r
        r._fold = None
        nv = incr_value(None, d)
        r.value = b"" if nv is None else nv
        return r

    @classmethod
    def of_val_incr(cls, v: Val, c: Contrib) -> CounterReg:
        """`CounterReg([v], [c])` with one allocation less: an INCR on a plain string."""
        r = cls.__new__(cls)
        r.vals = [v]
        r._contrib = [c]
        r._unsorted = False
        r.recompute()
        return r

    @property
    def contrib(self) -> list[Contrib]:
        """The increments in stamp order (those incr appended late are put in place here)."""
        if self._unsorted:
            # The list is two sorted runs (or a few): timsort merges them in O(n).
            self._contrib.sort(key=_cstamp)
            self._unsorted = False
        return self._contrib

    @contrib.setter
    def contrib(self, contrib: list[Contrib]) -> None:
        self._contrib = contrib
        self._unsorted = False

    def base(self) -> bytes | None:
        vals = self.vals
        if not vals:
            return None
        if len(vals) == 1:
            return vals[0][0]
        return max(vals, key=_stamp)[0]

    def winner(self) -> Val | None:
        vals = self.vals
        if not vals:
            return None
        return vals[0] if len(vals) == 1 else max(vals, key=_stamp)

    def recompute(self) -> None:
        self._fold = None
        base = self.base()
        contrib = self.contrib
        if not contrib:
            self.value = base if base is not None else b""
            return
        # Integers that cannot leave int64 in any prefix are summed in one go: the fold's
        # result without a parse and a format per increment.
        iv = 0 if base is None else parse_int(base)
        if iv is not None:
            bound = abs(iv)
            total = iv
            for c in contrib:
                d = c[2]
                if type(d) is not int:
                    break
                bound += abs(d)
                total += d
            else:
                if bound <= LLONG_MAX:
                    self.value = format_int(total)
                    self._fold = (total, bound)
                    return
        v = base
        for c in contrib:
            nv = incr_value(v, c[2])
            if nv is not None:
                v = nv
        self.value = v if v is not None else b""

    def write(self, t: Val, ctx: Ctx) -> Any:
        """A register write: forget what it observed, add it. Returns the new form."""
        obs = ctx.observed
        h, o = t[1], t[2]
        self.vals = [x for x in self.vals if not (obs(x[1], x[2]) or (x[1] == h and x[2] == o))]
        self.vals.append(t)
        if self.contrib:
            self.contrib = [c for c in self.contrib if not obs(c[0], c[1])]
        self.recompute()
        return self.settle()

    def incr(self, c: Contrib) -> CounterReg:
        contrib = self._contrib
        fold = self._fold
        d = c[2]
        # `_cstamp(contrib[-1]) > _cstamp(c)` inlined: a replica's own INCR always comes
        # later (HLC), and two calls and two tuples were ~3% of an INCR with peers.
        last = contrib[-1] if contrib else None
        if last is not None and (self._unsorted or last[0] > c[0] or (last[0] == c[0] and last[1] > c[1])):
            # A concurrent increment with a lower stamp arrived late. An integer sum that
            # stays in int64 is the same in any order: add it, and leave the list's order
            # to whoever reads it (`contrib`). Inserting in place was O(n) each: a
            # partition's worth of one side's INCRs merging into the other's was O(n^2)
            # memory moves (53% of a healing replica's CPU, bench_replication partition).
            if fold is not None and type(d) is int and fold[1] + abs(d) <= LLONG_MAX:
                contrib.append(c)
                self._unsorted = True
                self._fold = (fold[0] + d, fold[1] + abs(d))
                self.value = format_int(self._fold[0])
            else:  # re-fold in stamp order
                insort(self.contrib, c, key=_cstamp)
                self.recompute()
            return self
        contrib.append(c)
        if fold is not None and type(d) is int and fold[1] + abs(d) <= LLONG_MAX:
            # The value is the sum's text: add, without parsing it back (incr_value).
            t = fold[0] + d
            self._fold = (t, fold[1] + abs(d))
            self.value = format_int(t)
            return self
        # Without a write, b"" means no increment applied yet (not an empty string value).
        prev = self.value if self.vals else (self.value or None)
        nv = incr_value(prev, d)
        if nv is not None:
            self.value = nv
        if fold is not None:
            if nv is not None and type(d) is int and fold[1] + abs(d) <= LLONG_MAX:
                self._fold = (fold[0] + d, fold[1] + abs(d))
            else:
                self._fold = None
        return self

    def remove_observed(self, ctx: Ctx) -> Any:
        obs = ctx.observed
        self.vals = [x for x in self.vals if not obs(x[1], x[2])]
        self.contrib = [c for c in self.contrib if not obs(c[0], c[1])]
        self.recompute()
        return self.settle()

    def settle(self) -> Any:
        """The leanest form holding this state: None (gone), bytes (stable), a tuple (one
        live write), or self."""
        if not self._contrib:
            if not self.vals:
                return None
            if len(self.vals) == 1:
                t = self.vals[0]
                return t[0] if t[1] == 0 else t
        return self

    def empty(self) -> bool:
        return not self.vals and not self._contrib

    def all_stable(self, stable: Any) -> bool:
        """Every stamp but 0 (a stable base) is stable: `stamps()` checked without building
        the list, the latest increments first (the likeliest not to be stable yet), so a
        counter taking a stream of increments answers at its first look."""
        for c in reversed(self._contrib):
            if c[0] and not stable(c[0], c[1]):
                return False
        for v in self.vals:
            if v[1] and not stable(v[1], v[2]):
                return False
        return True

    def stamps(self) -> list[tuple[int, str]]:
        return [_stamp(x) for x in self.vals] + [_cstamp(c) for c in self._contrib]

    def drop_stable_losers(self, stable: Any) -> int:
        """Forget stable writes below the winner: every future remove of the winner observes
        them too and every future write replaces them, so they can never be shown again."""
        win = self.winner()
        vals = [v for v in self.vals if v is win or not (v[1] == 0 or stable(v[1], v[2]))]
        n = len(self.vals) - len(vals)
        self.vals = vals
        return n
