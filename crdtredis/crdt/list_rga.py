"""Lists: an RGA sequence (Roh et al. 2011, "Replicated abstract data types").

Rule: concurrent inserts are all kept, in the same order everywhere (inserts after the same
element are ordered by descending id); a removal names concrete element ids, so two
replicas popping the same element concurrently both return it and the list loses it once;
LSET is a last-writer-wins register per element, and a removal beats a concurrent LSET.

Identity. An element is named by the stamp of the effect that inserted it plus its index
in that effect: `(hlc, origin, i)`. One effect inserts a *chain*: element i+1 right after
element i, the first after a reference element (or the head). LPUSH a b c is the chain
c b a at the head, RPUSH the chain after the last live element. Ids grow along causality
(the HLC moves past everything seen), which is what makes the RGA skip rule correct: a
new element goes after its reference, past every element with a larger id.

Storage (the costs the issue asks for). Elements live in document order in blocks of
~512-1024 (up to 512 for the head blocks LPUSH starts), each block three parallel arrays:
values (None = tombstone), hlc (array 'q') and origin-code<<32|i (array 'Q'), so an element
costs a list slot, its value and 16 bytes of id, with no per-element Python object. A Fenwick tree over the blocks' live counts maps a
visible index to its block in O(log n); appends at the tail and pops at the head touch one
block. The tree is brought up to date only by a lookup that needs it (list_blocks._fw_find):
the ends are found without it, so a queue or a stack never pays for it. One-value pushes
and pops at either end have fast paths (list_ends.py's push_head, push_after_last and the
runs of pushes and pops; remove1, end) that decline, changing nothing, whenever the general
code could decide otherwise. Origin strings are interned as small process-local codes (never persisted: state() and effects use
the strings).

Locating an element named by an effect: every effect carries the element's visible index
at its origin (a hint). At the origin, and at peers without concurrent changes in front of
it, the hint is exact; otherwise the neighbouring blocks are searched (C-speed array
scans), and as a last resort an id -> block dict is built once and maintained from then on.
A single node never needs that dict.

Cold blocks are packed (crdt/list_packed.py): a dense block (no tombstone) that none of the
last HOT written blocks is stores its values as one blob with offsets and its ids as runs,
~12 bytes an element of a short value instead of ~75. Reads work on packed blocks as they
are; a write thaws its block first (`_thaw`), and a block leaves the HOT set packed again.

Tombstones. On a solo replica (Keyspace.solo) every op is causally stable at once: removed
elements are deleted on the spot (a pop at the head of a big block leaves a hole, taken out
with the next ones in one move and never written to the state: list_blocks._kill). Otherwise a
removed element stays as a tombstone (its position orders concurrent inserts that reference
it) until gc() finds its removal causally stable
*and* the insert of the element now following it stable: dropping it earlier can change
where a later insert concurrent with that follower lands. Origins only ever reference live
elements, so no future op names a dropped tombstone. A list with tombstones but no live
element is invisible but retained (Entry.retain), so that concurrent inserts still find
their references.
"""
from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from operator import add
from typing import Any

from ..keyspace import Db, Entry, Keyspace, register_effect, register_type
from ..op import Ctx, Effect
from . import codes, list_blocks, list_ends, list_packed
from .list_blocks import _CODES, _I_MASK, _ORIGINS, ElemId, _Block, _code, _empty_block, _pid, _unpid
from .schema import BYTES, HLC, INT64, STR, UINT32, fixed, repeated

# Effect codes (range 20-39; persisted and replicated: never renumber). Effects are flat:
# an element id is three args `hlc, origin, i`, origin "" meaning the effect's own origin
# (most references name the writer's own elements; nested tuples and repeated origin
# strings cost more to encode than the rest of the write path). A hint is the element's
# visible index at the origin: k >= 0 from the head, or k < -1 from the tail (-2 = the last),
# whichever is nearer, so it stays a small number; -1 = no hint. Build effects with the
# *_effect functions below.
LINSERT = codes.LINSERT  # 20 (LINSERT, db, key, ref hlc, origin, i, hint, *values)  ref hlc 0: at the head
LREMOVE = codes.LREMOVE  # 21 (LREMOVE, db, key, *(hlc, origin, i, hint) per element)
LSETVAL = 22  # (LSETVAL, db, key, hlc, origin, i, hint, value)     LWW value of one element
LTRIMR = 23  # (LTRIMR, db, key, first hlc, origin, i, hint, last hlc, origin, i, hint)



class ListEntry(Entry):
    __slots__ = ("blocks", "fw", "fwd", "size", "rm", "vst", "where", "origins", "peers", "hot")
    TYPE = b"list"

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[_Block] = []
        # Fenwick tree over the blocks' live counts (1-based); None: stale, rebuilt by the
        # next lookup that needs it. `fwd`: blocks whose count changed since (list_blocks).
        self.fw: list[int] | None = None
        self.fwd: set[_Block] = set()
        self.size = 0  # live elements
        # Tombstone packed id -> smallest removal stamp seen (only while peers may reference it).
        self.rm: dict[int, tuple[int, str]] = {}
        # Packed id -> stamp of its latest LSET, until that stamp is causally stable.
        self.vst: dict[int, tuple[int, str]] = {}
        self.where: dict[int, _Block] | None = None  # packed id -> block, built on demand
        self.origins: set[int] = set()  # codes of the origins of every stored element
        # Whether concurrent ops may still arrive (not Keyspace.solo, refreshed per apply).
        self.peers = True
        # The blocks written last, kept thawed (at most HOT; None until a list has two blocks).
        self.hot: list[_Block] | None = None

    # ---- Entry surface -------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.size == 0

    def retain(self) -> bool:
        return bool(self.rm)

    def encoding(self) -> bytes:
        # Redis 7.0 stores every list as a quicklist (listpack lists arrived in 7.2).
        return b"quicklist"

    def remove_observed(self, ctx: Ctx) -> None:
        if self.blocks:
            self._kill_observed(0, 0, len(self.blocks), 0, ctx)
            self._compact()

    # ---- reads ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.size

    def values(self) -> list[bytes]:
        out: list[bytes] = []
        for blk in self.blocks:
            if blk.live == len(blk.vals):
                out.extend(blk.vals)  # type: ignore[arg-type]
            elif blk.live:
                out.extend(v for v in blk.vals if v is not None)
        return out

    def range_values(self, start: int, stop: int) -> list[bytes]:
        """Live values with visible index in [start, stop] (already clamped, start <= stop)."""
        blk, j = self._locate(start)
        want = stop - start + 1
        out: list[bytes] = []
        blocks = self.blocks
        b = blk.idx - blocks[0].idx
        while want > 0 and b < len(blocks):
            blk = blocks[b]
            vals = blk.vals
            if blk.live == len(vals):
                part = vals[j:j + want]
                out.extend(part)  # type: ignore[arg-type]
                want -= len(part)
            elif blk.live:
                for v in vals[j:]:
                    if v is not None:
                        out.append(v)
                        want -= 1
                        if not want:
                            break
            b += 1
            j = 0
        return out

    def at(self, k: int) -> tuple[bytes, ElemId]:
        """Value and id of the live element at visible index k (0 <= k < size)."""
        blk, j = self._locate(k)
        oi = blk.oi[j]
        return blk.vals[j], (blk.hl[j], _ORIGINS[oi >> 32], oi & _I_MASK)  # type: ignore[return-value]

    def end(self, left: bool) -> tuple[bytes, ElemId]:
        """`at(0)` (left) or `at(size - 1)`, read from the end block's live bounds
        (0 < size): the element a pop takes, or RPUSH's reference."""
        blk = self.blocks[0] if left else self.blocks[-1]
        if not blk.live:  # only tombstones in the end block (peers): search
            return self.at(0 if left else self.size - 1)
        j = blk.lo if left else blk.hi - 1
        oi = blk.oi[j]
        return blk.vals[j], (blk.hl[j], _ORIGINS[oi >> 32], oi & _I_MASK)  # type: ignore[return-value]

    def iter_items(self, reverse: bool = False) -> Iterator[tuple[bytes, ElemId]]:
        """(value, id) of live elements from the head (or from the tail)."""
        origins = _ORIGINS
        blocks = reversed(self.blocks) if reverse else self.blocks
        for blk in blocks:
            if not blk.live:
                continue
            vals, hl, oi = blk.vals, blk.hl, blk.oi
            rng = range(blk.hi - 1, blk.lo - 1, -1) if reverse else range(blk.lo, blk.hi)
            for j in rng:
                v = vals[j]
                if v is not None:
                    o = oi[j]
                    yield v, (hl[j], origins[o >> 32], o & _I_MASK)

    def matches(self, value: bytes, reverse: bool = False) -> Iterator[tuple[int, ElemId]]:
        """(visible index, id) of the live elements equal to `value`, from the head (or the
        tail). Blocks are searched with list.index, in C: LINSERT's pivot, LPOS and LREM
        cost a C scan of the values, not a Python loop per element."""
        origins = _ORIGINS
        blocks = self.blocks
        base = self.size if reverse else 0
        for b in range(len(blocks) - 1, -1, -1) if reverse else range(len(blocks)):
            blk = blocks[b]
            vals = blk.vals
            if reverse:
                base -= blk.live
            if blk.live and value in vals:
                js: list[int] = []
                j = -1
                try:
                    while True:
                        j = vals.index(value, j + 1)
                        js.append(j)
                except ValueError:
                    pass
                dense = blk.live == len(vals)
                for j in reversed(js) if reverse else js:
                    o = blk.oi[j]
                    k = base + (j if dense else j - vals[:j].count(None))
                    yield k, (blk.hl[j], origins[o >> 32], o & _I_MASK)
            if not reverse:
                base += blk.live

    # ---- effects (apply side: pure, deterministic, never raise) ---------------------------
    def insert(self, ctx: Ctx, ref: ElemId | None, hint: int, vals: Sequence[bytes]) -> None:
        """RGA insert of a chain of values after `ref` (None: the head)."""
        if not vals:
            return
        code = _code(ctx.origin)
        self.origins.add(code)
        h = ctx.hlc
        blocks = self.blocks
        if not blocks:
            blk = _empty_block()
            blocks.append(blk)
            self.fw = None
            self._put(0, 0, h, code << 32, vals)
            return
        b = j = 0
        if ref is not None:
            pos = self._find(ref, hint)
            if pos is not None:  # unknown reference: impossible under causal delivery; use the head
                b, j = self._pos(pos[0]), pos[1] + 1
        # Skip the elements with a larger id: inserts after the same reference that are
        # newer (concurrent ones), with everything inserted after them.
        origin = ctx.origin
        origins = _ORIGINS
        last = len(blocks) - 1
        blk = blocks[b]
        while True:
            if j == len(blk.vals):
                if b == last:
                    break
                nxt = blocks[b + 1]
                eh = nxt.hl[0]
                if eh < h or (eh == h and origins[nxt.oi[0] >> 32] < origin):
                    break
                b += 1
                blk = nxt
                j = 1
                continue
            eh = blk.hl[j]
            if eh < h or (eh == h and origins[blk.oi[j] >> 32] < origin):
                break
            j += 1
        self._put(b, j, h, code << 32, vals)

    def remove(self, ctx: Ctx, ids: Sequence[ElemId], hints: Sequence[int]) -> None:
        for k, eid in enumerate(ids):
            self.remove1(ctx, eid, hints[k] if k < len(hints) else -1)

    def remove1(self, ctx: Ctx, eid: ElemId, hint: int) -> None:
        """Remove one element (LPOP / RPOP: the whole effect)."""
        if (hint == 0 or hint == -2) and self.blocks:
            # The first or the last live element (a pop's hint), read from the end block's
            # live bounds: found there, it is what `_find` would find.
            blk = self.blocks[0] if hint == 0 else self.blocks[-1]
            if blk.live:
                j = blk.lo if hint == 0 else blk.hi - 1
                code = _CODES.get(eid[1])
                if code is not None and blk.hl[j] == eid[0] and blk.oi[j] == (code << 32 | eid[2]):
                    self._kill(blk, j, (ctx.hlc, ctx.origin))
                    return
        pos = self._find(eid, hint)
        if pos is None:
            return  # already dropped here, or never seen: nothing to do
        blk, j = pos
        if blk.vals[j] is None:
            if not self.peers:
                return  # a hole (list_blocks._kill): removed for good already
            pid = _pid(blk.hl[j], blk.oi[j])
            old = self.rm.get(pid)
            stamp = (ctx.hlc, ctx.origin)
            if old is None or stamp < old:
                self.rm[pid] = stamp  # smallest removal stamp: the same state everywhere
            return
        self._kill(blk, j, (ctx.hlc, ctx.origin))

    def set_value(self, ctx: Ctx, eid: ElemId, hint: int, value: bytes) -> bool:
        """LWW write of one element's value. False when the element is gone (removal wins)."""
        pos = self._find(eid, hint)
        if pos is None:
            return False
        blk, j = pos
        if blk.vals[j] is None:
            return False
        if self.peers:
            pid = _pid(blk.hl[j], blk.oi[j])
            cur = self.vst.get(pid) or (eid[0], eid[1])
            if not ctx.stamp_gt(cur[0], cur[1]):
                return False
            self.vst[pid] = (ctx.hlc, ctx.origin)
        self._thaw(blk)
        blk.vals[j] = value
        return True

    def trim(self, ctx: Ctx, first: ElemId, fhint: int, last: ElemId, lhint: int) -> None:
        """Remove the observed elements before `first` and after `last` (LTRIM)."""
        pf = self._find(first, fhint)
        pl = self._find(last, lhint)
        if pf is None or pl is None:
            return  # a kept boundary is always known under causal delivery
        bf, jf = self._pos(pf[0]), pf[1]
        bl, jl = self._pos(pl[0]), pl[1]
        if (bl, jl) < (bf, jf):
            return
        self._kill_observed(bl, jl + 1, len(self.blocks), 0, ctx)
        self._kill_observed(0, 0, bf, jf, ctx)
        self._compact()

    def set_peers(self, peers: bool) -> None:
        """Track Keyspace.solo; on a solo replica every tombstone is stable: drop them. With
        peers, the holes solo pops left go too (list_blocks._kill)."""
        self.peers = peers
        if peers:
            list_blocks.drop_holes(self)
        elif self.rm or self.vst:
            self.gc(lambda h, o: True)

    def leave_solo(self) -> None:
        if not self.peers:
            self.set_peers(True)

    # ---- causal stability ----------------------------------------------------------------
    def gc(self, stable: Callable[[int, str], bool]) -> int:
        """Drop tombstones and LSET stamps that no concurrent op can still need.

        A tombstone goes once its removal is stable and the insert of the element now
        after it is stable too (see the module docstring). Returns how many were dropped."""
        dropped = 0
        vst = self.vst
        for pid, vs in list(vst.items()):
            if stable(vs[0], vs[1]):
                del vst[pid]
                dropped += 1
        rm = self.rm
        if not rm:
            return dropped
        where = self.where
        origins = _ORIGINS
        next_ok = True  # nothing after the last element
        for blk in reversed(self.blocks):
            vals, hl, oi = blk.vals, blk.hl, blk.oi
            if blk.live == len(vals):
                if vals:
                    next_ok = stable(hl[0], origins[oi[0] >> 32])
                continue
            for j in range(len(vals) - 1, -1, -1):
                if vals[j] is None:
                    pid = _pid(hl[j], oi[j])
                    st = rm.get(pid)
                    if next_ok and (st is None or stable(st[0], st[1])):
                        del vals[j]
                        del hl[j]
                        del oi[j]
                        rm.pop(pid, None)
                        if where is not None:
                            where.pop(pid, None)
                        dropped += 1
                        continue
                next_ok = stable(hl[j], origins[oi[j] >> 32])
        self._compact()
        return dropped

    # ---- persistence ---------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Plain, replica-independent state, columnar (version 2): the runs of consecutive
        ids as four little-endian arrays (first hlc, origin index into `origins`, first i,
        length), the values in document order (None = tombstone), tombstone removal stamps,
        pending LSET stamps, type stamp. Columns, not one small list per run, because a list
        built by one-value LPUSHes is one run per element: loading a snapshot then decodes
        four byte strings and one list instead of 100,000 nested lists (from_state reads
        version 1 too)."""
        rh: array[int] = array("q")
        ro: array[int] = array("I")
        ri: array[int] = array("I")
        rn: array[int] = array("I")
        index: dict[int, int] = {}  # origin code -> index into `origins`
        origins: list[str] = []
        values: list[bytes | None] = []
        nxt_h, nxt_o = -1, -1

        def start(h: int, o: int, k: int) -> None:
            c = o >> 32
            x = index.get(c)
            if x is None:
                x = index[c] = len(origins)
                origins.append(_ORIGINS[c])
            rh.append(h)
            ro.append(x)
            ri.append(o & _I_MASK)
            rn.append(k)

        for blk in self.blocks:
            vals, hl, oi = blk.vals, blk.hl, blk.oi
            if blk.packed is not None:
                for _first, k, h, o in list_packed.runs(blk.packed):
                    if h == nxt_h and o == nxt_o:
                        rn[-1] += k
                    else:
                        start(h, o, k)
                    nxt_h, nxt_o = h, o + k
                values.extend(vals[:])
                continue
            holes = not self.peers and blk.live != len(vals)  # solo pops' (list_blocks._kill)
            for j in range(len(vals)):
                if holes and vals[j] is None:
                    continue  # a removal as final as the solo code's others: not state
                h, o = hl[j], oi[j]
                if h == nxt_h and o == nxt_o:
                    rn[-1] += 1
                else:
                    start(h, o, 1)
                nxt_h, nxt_o = h, o + 1
            values.extend([v for v in vals if v is not None] if holes else vals)
        if sys.byteorder == "big":
            for a in (rh, ro, ri, rn):
                a.byteswap()
        return {
            "v": 2,
            "type": [self.thlc, self.torigin],
            "origins": origins,
            "rh": rh.tobytes(), "ro": ro.tobytes(), "ri": ri.tobytes(), "rn": rn.tobytes(),
            "vals": values,
            "rm": sorted([*_unpid(p), st[0], st[1]] for p, st in self.rm.items()),
            "vst": sorted([*_unpid(p), st[0], st[1]] for p, st in self.vst.items()),
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> ListEntry:
        e = cls()
        e.thlc, e.torigin = s["type"][0], s["type"][1]
        bs = list_blocks.BLOCK  # read at call time: tests shrink it
        if s.get("v") == 2:
            vals, rh, roi, rn = _runs(e, s)
            e.blocks = list_blocks.blocks_from_runs(vals, rh, roi, rn, bs)
        else:  # version 1: one [hlc, origin, first i, values] list per run
            vals = []
            hl = array("q")
            oi = array("Q")
            for h, origin, i0, vs in s["runs"]:
                c = _code(origin)
                e.origins.add(c)
                n = len(vs)
                vals.extend(vs)
                hl.extend(array("q", [h]) * n)
                oi.extend(array("Q", range((c << 32) + i0, (c << 32) + i0 + n)))
            e.blocks = [
                _Block(vals[k:k + bs], hl[k:k + bs], oi[k:k + bs]) for k in range(0, len(vals), bs)
            ]
        for h, origin, i, rh_, ro in s["rm"]:
            e.rm[_pid(h, _code(origin) << 32 | i)] = (rh_, ro)
        for h, origin, i, vh, vo in s["vst"]:
            e.vst[_pid(h, _code(origin) << 32 | i)] = (vh, vo)
        e._compact()
        return e

    # ---- internals: blocks and the Fenwick tree (crdt/list_blocks.py) ----------------------
    _rebuild = list_blocks._rebuild
    _restructured = list_blocks._restructured
    _pos = list_blocks._pos
    _compact = list_blocks._compact
    _thaw = list_blocks._thaw
    _fw_build = list_blocks._fw_build
    _fw_flush = list_blocks._fw_flush
    _fw_find = list_blocks._fw_find
    _locate = list_blocks._locate
    _find = list_blocks._find
    _put = list_blocks._put
    push_head = list_ends.push_head
    push_after_last = list_ends.push_after_last
    push_head_run = list_ends.push_head_run
    push_after_last_run = list_ends.push_after_last_run
    pop_run = list_ends.pop_run
    end_items = list_ends.end_items
    _fw_append = list_blocks._fw_append
    _split = list_blocks._split
    _kill = list_blocks._kill
    _tmin = list_blocks._tmin
    _kill_observed = list_blocks._kill_observed


def _runs(e: ListEntry, s: dict[str, Any]) -> tuple[list[bytes | None], array[int], array[int], array[int]]:
    """(values, first hlc, first origin-index code, length) of the runs of a version-2 state
    (ListEntry.state), runs of no element left out; e.origins gets the codes of its
    origins. A malformed state raises ValueError (a corrupt snapshot)."""
    codes = [_code(o) for o in s["origins"]]
    e.origins.update(codes)
    cols = []
    for name, tc in (("rh", "q"), ("ro", "I"), ("ri", "I"), ("rn", "I")):
        a = array(tc)
        a.frombytes(s[name])
        if sys.byteorder == "big":
            a.byteswap()
        cols.append(a)
    rh, ro, ri, rn = cols
    vals = s["vals"]
    nruns = len(rh)
    if type(vals) is not list or not len(ro) == len(ri) == len(rn) == nruns or sum(rn) != len(vals) \
            or (nruns and max(ro) >= len(codes)):
        raise ValueError("malformed list state")
    if 0 in rn:  # never written (ListEntry.state), but harmless: drop them
        keep = [r for r in range(nruns) if rn[r]]
        rh, ro, ri, rn = (array(a.typecode, [a[r] for r in keep]) for a in (rh, ro, ri, rn))
    # The first id of each run, origin code << 32 | index, computed in C (map, not a loop).
    shifted = [c << 32 for c in codes]
    roi = array("Q", map(add, map(shifted.__getitem__, ro), ri))
    return vals, rh, roi, rn


def _peers(ks: Keyspace, e: ListEntry) -> ListEntry:
    if e.peers is ks.solo:
        e.set_peers(not ks.solo)
    return e


def existing(db: Db, key: bytes) -> ListEntry | None:
    """The list at `key`, visible or hidden (type conflict, or retained tombstones)."""
    e = db.data.get(key)
    if type(e) is ListEntry:
        return e
    hidden = db.shadow.get(key) if db.shadow else None
    if hidden:
        h = hidden.get(ListEntry.TYPE)
        if type(h) is ListEntry:
            return h
    return None


# ---- effects (built at the origin) -------------------------------------------------------
# Each builder takes element ids with their visible indexes at the origin and the list's
# length `size` there (the first id's, for a removal: each removal shortens the list), and
# `own`, the emitting origin.
def _hint(k: int, size: int | None) -> int:
    return k if size is None or k <= size >> 1 or k < 0 else k - size - 1


def insert_effect(dbi: int, key: bytes, ref: ElemId | None, k: int, vals: Sequence[bytes], own: str,
                  size: int | None = None) -> Effect:
    """Insert `vals` as a chain after `ref` (None: at the head), the element at index k."""
    if ref is None:
        return (LINSERT, dbi, key, 0, "", 0, -1, *vals)
    return (LINSERT, dbi, key, ref[0], "" if ref[1] == own else ref[1], ref[2], _hint(k, size), *vals)


def remove_effect(dbi: int, key: bytes, ids: Sequence[ElemId], ks: Sequence[int], own: str,
                  size: int | None = None) -> Effect:
    """Remove these elements, in this order; ks[t] is an element's index at its turn."""
    if len(ids) == 1:  # LPOP / RPOP / LMOVE: the hot path
        (h, o, i), k = ids[0], ks[0]
        return (LREMOVE, dbi, key, h, "" if o == own else o, i, _hint(k, size))
    args: list[Any] = []
    for t, ((h, o, i), k) in enumerate(zip(ids, ks, strict=True)):
        args += (h, "" if o == own else o, i, _hint(k, None if size is None else size - t))
    return (LREMOVE, dbi, key, *args)


def set_effect(dbi: int, key: bytes, eid: ElemId, k: int, value: bytes, own: str, size: int | None = None) -> Effect:
    return (LSETVAL, dbi, key, eid[0], "" if eid[1] == own else eid[1], eid[2], _hint(k, size), value)


def trim_effect(dbi: int, key: bytes, first: ElemId, fk: int, last: ElemId, lk: int, own: str,
                size: int | None = None) -> Effect:
    return (LTRIMR, dbi, key, first[0], "" if first[1] == own else first[1], first[2], _hint(fk, size),
            last[0], "" if last[1] == own else last[1], last[2], _hint(lk, size))


# ---- apply functions ---------------------------------------------------------------------
def apply_insert(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = db.data.get(key)
    if type(e) is ListEntry and len(eff) == 8 and not db.shadow and e.peers is not ks.solo:
        # One value at the head or after the last element (LPUSH / RPUSH of one value on
        # a visible list): the fast paths, then `touch` and `settle` as they run for a
        # list that stays visible with no hidden type.
        h = ctx.hlc
        o = ctx.origin
        if e.push_head(h, o, eff[7]) if not eff[3] else e.push_after_last(h, o, eff[3], eff[4] or o, eff[5], eff[7]):
            if h > e.thlc or (h == e.thlc and o > e.torigin):
                e.thlc = h
                e.torigin = o
            if db.expires and key in db.expires:
                ks.refresh_expiry(db, key)
            if db.watched or db.waiters:
                db.touch(key)
            return
    e = _peers(ks, ks.entry_for(db, key, ListEntry, ctx))
    e.insert(ctx, (eff[3], eff[4] or ctx.origin, eff[5]) if eff[3] else None, eff[6], eff[7:])
    e.touch(ctx)
    ks.settle(db, key)


def apply_remove(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = db.data.get(key)
    if type(e) is not ListEntry:
        e = existing(db, key)
        if e is None:
            return
    if e.peers is ks.solo:
        e.set_peers(not ks.solo)
    o = ctx.origin
    if len(eff) == 7:
        e.remove1(ctx, (eff[3], eff[4] or o, eff[5]), eff[6])
        if e.size and not db.shadow:  # `settle` for a list that stays visible, inlined
            if db.expires and key in db.expires:
                ks.refresh_expiry(db, key)
            if db.watched or db.waiters:
                db.touch(key)
            return
    else:
        ids = [(eff[k], eff[k + 1] or o, eff[k + 2]) for k in range(3, len(eff) - 3, 4)]
        e.remove(ctx, ids, eff[6::4])
    ks.settle(db, key)


def apply_set(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = existing(db, key)
    if e is None:
        return
    _peers(ks, e).set_value(ctx, (eff[3], eff[4] or ctx.origin, eff[5]), eff[6], eff[7])
    e.touch(ctx)  # whether or not the value won: the type stamp is the same everywhere
    ks.settle(db, key)


def apply_trim(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = existing(db, key)
    if e is None:
        return
    o = ctx.origin
    _peers(ks, e).trim(ctx, (eff[3], eff[4] or o, eff[5]), eff[6], (eff[7], eff[8] or o, eff[9]), eff[10])
    ks.settle(db, key)


def rebuild_effects(dbi: int, key: bytes, e: Any) -> list[Effect]:
    """Effects that write a list equal to `e` at (dbi, key) (RENAME, COPY, *STORE)."""
    vals = e.values()
    return [(LINSERT, dbi, key, 0, "", 0, -1, *vals)] if vals else []


# An element id with its hint: hlc, origin ("" = the effect's), index in its chain, hint.
_ID = (HLC, STR, UINT32, INT64)
register_effect(LINSERT, apply_insert, ListEntry.TYPE, check=repeated(head=_ID, group=(BYTES,)))
register_effect(LREMOVE, apply_remove, ListEntry.TYPE, check=repeated(group=_ID))
register_effect(LSETVAL, apply_set, ListEntry.TYPE, check=fixed(*_ID, BYTES))
register_effect(LTRIMR, apply_trim, ListEntry.TYPE, check=fixed(*_ID, *_ID))
register_type(ListEntry.TYPE, rebuild_effects)
