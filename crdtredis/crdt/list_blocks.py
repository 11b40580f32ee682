"""The storage of a list (crdt/list_rga.py): elements in document order in blocks of three
parallel arrays, a Fenwick tree over the blocks' live counts, packed cold blocks, and the
per-process origin codes of element ids. list_rga.py has the RGA rules and the Entry surface;
the functions here are ListEntry's internal methods (bound in its class body), kept apart so
that each module stays small: they move, split, pack and kill elements, never decide order
(the one-value push fast paths, and their runs, are in list_ends.py)."""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

from ..op import Ctx
from . import list_packed

if TYPE_CHECKING:
    from .list_rga import ListEntry

ElemId = tuple[int, str, int]

BLOCK = 512  # elements per block after a split
MAX_BLOCK = 1024  # a longer block is split
# LPUSH starts a new head block at this size (RPUSH fills the tail block to MAX_BLOCK): every
# push at the head shifts the head block's three arrays, and a smaller head block shifts less.
# Measured (bench/RESULTS.md): 256 was no faster than 512 and cost 1.7 more bytes an element
# in block overhead. A new head block costs O(1): block positions are relative (_Block.idx).
HEAD_BLOCK = 512
HOT = 4  # the blocks written last stay thawed (per list); the others are packed
MIN_PACK = 64  # smaller blocks stay thawed (a packed block has a fixed overhead)
# Without peers, removing the first live element of a block longer than HOLE_MIN, with only
# holes before it, leaves a hole (a tombstone without a stamp) instead of shifting the
# block's arrays; the holes are taken out together once there are HOLES of them (`_kill`).
HOLE_MIN = 64
HOLES = 64
_I_MASK = (1 << 32) - 1

# Origin string <-> small code, per process (ids are compared by the strings).
_ORIGINS: list[str] = []
_CODES: dict[str, int] = {}


def _code(origin: str) -> int:
    c = _CODES.get(origin)
    if c is None:
        c = len(_ORIGINS)
        _ORIGINS.append(origin)
        _CODES[origin] = c
    return c


def _pid(h: int, oi: int) -> int:
    """Packed element id: the key of the tombstone / value-stamp / locator dicts."""
    return h << 64 | oi


def _unpid(pid: int) -> ElemId:
    oi = pid & ((1 << 64) - 1)
    return (pid >> 64, _ORIGINS[oi >> 32], oi & _I_MASK)


class _Block:
    """Elements in document order. `lo`/`hi` bound the live ones (everything before lo and
    from hi on is a tombstone), so a queue's or a stack's end is found without scanning
    the tombstones that pile up there until gc."""

    __slots__ = ("vals", "hl", "oi", "live", "idx", "lo", "hi", "packed", "fwl")

    def __init__(self, vals: list[bytes | None], hl: array[int], oi: array[int]) -> None:
        self.vals = vals
        self.hl = hl
        self.oi = oi
        # The block's position in ListEntry.blocks is idx - blocks[0].idx: a block added or
        # dropped at either end leaves every other block's idx as it is, so an LPUSH that
        # starts a head block, or an LPOP that empties one, renumbers nothing (_rebuild,
        # O(blocks), runs after a split or a drop in the middle).
        self.idx = 0
        self.fwl = 0  # the live count as the Fenwick tree has it (ListEntry.fwd)
        # Not None while packed: vals, hl and oi are then read-only views of it.
        self.packed: list_packed.Packed | None = None
        self.recount()

    def freeze(self) -> None:
        """Pack this block if it is dense and big enough (list_packed module docstring)."""
        if self.packed is None and len(self.vals) >= MIN_PACK and self.live == len(self.vals):
            p = list_packed.pack(self.vals, self.hl, self.oi)
            if p is not None:
                self._hold(p)

    def _hold(self, p: list_packed.Packed) -> None:
        self.packed = p
        self.vals = list_packed.Vals(p)  # type: ignore[assignment]
        self.hl = list_packed.Hlcs(p)  # type: ignore[assignment]
        self.oi = list_packed.Ois(p)  # type: ignore[assignment]

    @classmethod
    def frozen(cls, p: list_packed.Packed) -> _Block:
        """A block holding `p` packed (what `freeze` makes of its thawed twin)."""
        blk = cls([], array("q"), array("Q"))
        blk._hold(p)
        blk.recount()
        return blk

    def thaw(self) -> None:
        p = self.packed
        if p is not None:
            self.vals, self.hl, self.oi = list_packed.unpack(p)
            self.packed = None

    def recount(self) -> None:
        vals = self.vals
        n = len(vals)
        self.live = n if self.packed is not None else n - vals.count(None)
        lo, hi = 0, n
        if self.live < n:
            while lo < n and vals[lo] is None:
                lo += 1
            while hi > lo and vals[hi - 1] is None:
                hi -= 1
        self.lo, self.hi = lo, hi

    def find(self, h: int, oi: int) -> int:
        """Offset of element (h, oi) in this block, -1 if absent (C-speed scan of hl)."""
        hl = self.hl
        start = 0
        try:
            while True:
                j = hl.index(h, start)
                if self.oi[j] == oi:
                    return j
                start = j + 1
        except ValueError:
            return -1


def _empty_block() -> _Block:
    return _Block([], array("q"), array("Q"))


def blocks_from_runs(vals: list[bytes | None], rh: array[int], roi: array[int], rn: array[int],
                     bs: int) -> list[_Block]:
    """The blocks of a list loaded from run columns (ListEntry.from_state): `bs` elements
    each, and packed where `_compact` would pack them. A snapshot's runs are packed as they
    are, not expanded to per-element ids for `pack` to find them again: a list built by
    one-value pushes is one run per element, and expanding and re-finding 100,000 of them
    was a third of a snapshot install (issue 12). Run r covers rn[r] elements from the
    one after run r - 1; its first element's id is (rh[r], roi[r])."""
    n = len(vals)
    packs = n > bs  # _compact packs nothing in a one-block list
    out: list[_Block] = []
    if len(rn) == n and rn.count(1) == n:  # one element per run: the runs are the ids
        every = array("I", range(bs))  # run starts of a full block, shared: a Packed never changes
        for k in range(0, n, bs):
            v = vals[k:k + bs]
            p = list_packed.from_runs(v, every if len(v) == bs else array("I", range(len(v))), rh[k:k + bs],
                                      roi[k:k + bs]) if packs and len(v) >= MIN_PACK else None
            out.append(_Block.frozen(p) if p is not None else _Block(v, rh[k:k + bs], roi[k:k + bs]))
        return out
    starts = array("q", [0])
    starts.extend(accumulate(rn))  # starts[r]: offset of run r's first element
    nr = len(rn)
    for k in range(0, n, bs):
        end = min(k + bs, n)
        r0 = bisect_right(starts, k, 0, nr) - 1  # the run holding element k
        r1 = bisect_left(starts, end, 0, nr)  # runs r0 .. r1 - 1 reach into [k, end)
        brs = array("I", [0])
        brs.extend(starts[r] - k for r in range(r0 + 1, r1))
        brh = rh[r0:r1]
        broi = roi[r0:r1]
        broi[0] += k - starts[r0]  # the block starts inside run r0
        v = vals[k:end]
        p = list_packed.from_runs(v, brs, brh, broi) if packs and len(v) >= MIN_PACK else None
        if p is not None:
            out.append(_Block.frozen(p))
        else:
            hl, oi = list_packed.expand(len(v), brs, brh, broi)
            out.append(_Block(v, hl, oi))
    return out


# ---- ListEntry internals: blocks and the Fenwick tree -------------------------------------
def _rebuild(self: ListEntry) -> None:
    """Renumber the blocks after a structure change (a split, a block dropped in the
    middle): O(blocks), a plain loop. The Fenwick tree is only marked stale: it is rebuilt
    by the next lookup that needs it (_fw_find), so a stack or a queue, whose ends are found
    without it (_locate), never pays for it, however often its end blocks come and go."""
    for i, blk in enumerate(self.blocks):
        blk.idx = i
    self._restructured()


def _restructured(self: ListEntry) -> None:
    """A block came or went: the Fenwick tree (indexed by position) is stale."""
    self.fw = None
    self.fwd.clear()


def _pos(self: ListEntry, blk: _Block) -> int:
    """`blk`'s index in self.blocks (see _Block.idx)."""
    return blk.idx - self.blocks[0].idx


def _fw_build(self: ListEntry) -> list[int]:
    """The Fenwick tree over the blocks' live counts, from scratch: O(blocks)."""
    blocks = self.blocks
    n = len(blocks)
    fw = [0] * (n + 1)
    for i in range(1, n + 1):
        blk = blocks[i - 1]
        blk.fwl = live = blk.live
        fw[i] += live
        p = i + (i & -i)
        if p <= n:
            fw[p] += fw[i]
    self.fw = fw
    self.fwd.clear()
    return fw


def _compact(self: ListEntry) -> None:
    """After bulk changes: drop empty blocks, recount, rebuild the tree, pack the
    blocks that are not hot."""
    self.blocks = [b for b in self.blocks if b.vals]
    for blk in self.blocks:
        blk.recount()
    self.size = sum(b.live for b in self.blocks)
    self._rebuild()
    hot = self.hot or ()
    if len(self.blocks) > 1:
        for blk in self.blocks:
            if blk.packed is None and blk not in hot:
                blk.freeze()

def _thaw(self: ListEntry, blk: _Block) -> None:
    """Before a write to `blk`: unpack it, and count it among the HOT blocks written
    last; the one that leaves that set is packed again."""
    if blk.packed is not None:
        blk.thaw()
    hot = self.hot
    if hot is None:
        if len(self.blocks) < 2:
            return  # a one-block list: nothing to pack (and no list to keep)
        hot = self.hot = []
    elif hot and hot[-1] is blk:
        return
    for i, b in enumerate(hot):
        if b is blk:
            del hot[i]
            break
    hot.append(blk)
    if len(hot) > HOT:
        hot.pop(0).freeze()

def _fw_flush(self: ListEntry) -> list[int]:
    """The Fenwick tree, up to date: the live-count changes of the blocks written since
    the last lookup (ListEntry.fwd) applied, O(log blocks) each. A write only notes its
    block there (a set: at most one entry per block), instead of walking the tree at once."""
    fw = self.fw
    if fw is None:
        return self._fw_build()
    n = len(fw) - 1
    base = self.blocks[0].idx - 1
    for blk in self.fwd:
        d = blk.live - blk.fwl
        if d:
            blk.fwl = blk.live
            i = blk.idx - base
            while i <= n:
                fw[i] += d
                i += i & -i
    self.fwd.clear()
    return fw


def _fw_find(self: ListEntry, k: int) -> tuple[int, int]:
    """(block index, rank inside it) of the k-th live element."""
    fw = self._fw_flush() if self.fw is None or self.fwd else self.fw
    n = len(fw) - 1
    pos = 0
    step = 1 << (n.bit_length() - 1)
    while step:
        nxt = pos + step
        if nxt <= n and fw[nxt] <= k:
            pos = nxt
            k -= fw[nxt]
        step >>= 1
    return pos, k


def _locate(self: ListEntry, k: int) -> tuple[_Block, int]:
    """Block and offset of the live element at visible index k (0 <= k < size)."""
    blocks = self.blocks
    blk = blocks[0]
    live = blk.live
    if k < live:
        if live == len(blk.vals):
            return blk, k
        if not k:  # the head, past the tombstones a pop left there (with peers)
            return blk, blk.lo
    last = blocks[-1]
    t = self.size - k
    live = last.live
    if t <= live:
        if live == len(last.vals):
            return last, len(last.vals) - t
        if t == 1:
            return last, last.hi - 1
    b, r = self._fw_find(k)
    blk = blocks[b]
    vals = blk.vals
    if blk.live == len(vals):
        return blk, r
    if not r:
        return blk, blk.lo
    if r == blk.live - 1:
        return blk, blk.hi - 1
    for j in range(blk.lo, blk.hi):
        if vals[j] is not None:
            if not r:
                return blk, j
            r -= 1
    raise AssertionError("list index structure out of sync")

def _find(self: ListEntry, eid: ElemId, hint: int) -> tuple[_Block, int] | None:
    """Where element `eid` is: the hint, then nearby blocks, then the id dict."""
    h = eid[0]
    code = _CODES.get(eid[1])
    if code is None or not self.blocks:
        return None
    if hint < -1:
        hint += self.size + 1
    oi = code << 32 | eid[2]
    blocks = self.blocks
    if 0 <= hint < self.size:
        blk, j = self._locate(hint)
        if blk.hl[j] == h and blk.oi[j] == oi:
            return blk, j
        b = blk.idx - blocks[0].idx
        for nb in (b, b - 1, b + 1):
            if 0 <= nb < len(blocks):
                j = blocks[nb].find(h, oi)
                if j >= 0:
                    return blocks[nb], j
    elif hint >= self.size and blocks[-1].hl:
        j = blocks[-1].find(h, oi)
        if j >= 0:
            return blocks[-1], j
    where = self.where
    if where is None:
        where = self.where = {}
        for blk in blocks:
            for hh, oo in zip(blk.hl, blk.oi, strict=True):
                where[_pid(hh, oo)] = blk
    blk2 = where.get(_pid(h, oi))
    if blk2 is None:
        return None
    j = blk2.find(h, oi)
    return (blk2, j) if j >= 0 else None

def _put(self: ListEntry, b: int, j: int, h: int, oi0: int, vals: Sequence[bytes]) -> None:
    """Physically insert a chain at block b, offset j."""
    blocks = self.blocks
    blk = blocks[b]
    n = len(vals)
    hot = self.hot
    if blk.packed is not None or (hot[-1] is not blk if hot else len(blocks) > 1):
        self._thaw(blk)
    if j == len(blk.vals) >= MAX_BLOCK and b == len(blocks) - 1:
        # Appending to a full tail block: start a new one (keeps RPUSH O(1)).
        blk = _empty_block()
        blk.idx = blocks[-1].idx + 1
        b = len(blocks)
        blocks.append(blk)
        if self.fw is not None:
            self._fw_append()
        self._thaw(blk)
        j = 0
    elif j == 0 and b == 0 and len(blk.vals) >= HEAD_BLOCK:
        # Prepending to a full head block (LPUSH): start a new one too, rather than split
        # it: no copy of the full block, and the head block, where every LPUSH shifts the
        # arrays, holds 0-HEAD_BLOCK elements.
        blk = _empty_block()
        blk.idx = blocks[0].idx - 1
        blocks.insert(0, blk)
        self._restructured()
        self._thaw(blk)
    if n == 1:
        if j == len(blk.vals):
            blk.vals.append(vals[0])
            blk.hl.append(h)
            blk.oi.append(oi0)
        else:
            blk.vals.insert(j, vals[0])
            blk.hl.insert(j, h)
            blk.oi.insert(j, oi0)
    else:
        blk.vals[j:j] = vals
        blk.hl[j:j] = array("q", [h]) * n
        blk.oi[j:j] = array("Q", range(oi0, oi0 + n))
    if not blk.live:
        blk.lo, blk.hi = j, j + n
    else:
        if j <= blk.lo:
            blk.lo = j
        blk.hi = j + n if j >= blk.hi else blk.hi + n
    blk.live += n
    self.size += n
    where = self.where
    if where is not None:
        hk = h << 64
        for i in range(n):
            where[hk | (oi0 + i)] = blk
    if len(blk.vals) > MAX_BLOCK:
        self._split(b)
    else:
        self.fwd.add(blk)


def _fw_append(self: ListEntry) -> None:
    """Extend the (current) Fenwick tree by one empty block in O(log blocks)."""
    fw = self.fw
    assert fw is not None
    i = len(fw)
    val = 0
    lb = i & -i
    p = i - 1
    while p > i - lb:
        val += fw[p]
        p -= p & -p
    fw.append(val)

def _split(self: ListEntry, b: int) -> None:
    blk = self.blocks[b]
    vals, hl, oi = blk.vals, blk.hl, blk.oi
    # Equal pieces of about BLOCK (a 1025-element block in 512 + 512 + 1 would leave
    # a stub that never packs).
    size = -(-len(vals) // max(1, len(vals) // BLOCK))
    pieces = [_Block(vals[k:k + size], hl[k:k + size], oi[k:k + size]) for k in range(0, len(vals), size)]
    self.blocks[b:b + 1] = pieces
    # The split block was just written: its pieces take its place among the hot blocks,
    # and the ones that leave that set are packed.
    hot = self.hot
    if hot is None:
        hot = self.hot = []
    elif blk in hot:
        hot.remove(blk)
    hot += pieces
    while len(hot) > HOT:
        hot.pop(0).freeze()
    where = self.where
    if where is not None:
        for p in pieces:
            for hh, oo in zip(p.hl, p.oi, strict=True):
                where[_pid(hh, oo)] = p
    self._rebuild()

def _kill(self: ListEntry, blk: _Block, j: int, stamp: tuple[int, str]) -> None:
    """Remove the live element at (blk, j): a tombstone with peers, gone without.
    list_ends.pop_run makes these removals inline for a pipelined run of pops: a change
    here goes there too (tests/test_list_end_runs.py compares the two)."""
    hot = self.hot
    if blk.packed is not None or (hot and hot[-1] is not blk):
        self._thaw(blk)
    blk.live -= 1
    self.size -= 1
    if self.vst:
        self.vst.pop(blk.hl[j] << 64 | blk.oi[j], None)
    if self.peers:
        vals = blk.vals
        vals[j] = None
        if not blk.live:
            blk.lo = blk.hi = len(vals)
        elif j == blk.lo:
            lo = j + 1
            while lo < blk.hi and vals[lo] is None:
                lo += 1
            blk.lo = lo
        elif j == blk.hi - 1:
            hi = j
            while hi > blk.lo and vals[hi - 1] is None:
                hi -= 1
            blk.hi = hi
        self.rm[blk.hl[j] << 64 | blk.oi[j]] = stamp
        self.fwd.add(blk)
        return
    if self.where is not None:
        self.where.pop(blk.hl[j] << 64 | blk.oi[j], None)
    vals = blk.vals
    if blk.live:
        n = len(vals)
        if j == blk.lo == n - blk.live - 1 and n > HOLE_MIN:
            # The first live element of a big block, with nothing but holes before it (LPOP
            # of a queue): a hole rather than a shift of the three arrays (~0.1-0.3 us for
            # 512-1,024 elements), i.e. a tombstone without a removal stamp (solo: every
            # removal is stable), the holes taken out together once there are HOLES of them.
            vals[j] = None
            j += 1
            if j < HOLES:
                blk.lo = j
            else:
                del vals[:j]
                del blk.hl[:j]
                del blk.oi[:j]
                blk.lo = 0
                blk.hi -= j
            self.fwd.add(blk)
            return
        del vals[j]
        del blk.hl[j]
        del blk.oi[j]
        hi = blk.hi - 1
        if len(vals) != blk.live:  # holes: the live bounds skip the ones now at either end
            while vals[hi - 1] is None:
                hi -= 1
            lo = blk.lo
            while vals[lo] is None:
                lo += 1
            blk.lo = lo
        blk.hi = hi
        self.fwd.add(blk)
        return
    blocks = self.blocks
    b = blk.idx - blocks[0].idx
    del blocks[b]
    if b == 0 or b == len(blocks):  # an end block (a pop's): no other position moves
        self._restructured()
    else:
        self._rebuild()


def drop_holes(self: ListEntry) -> None:
    """Take out the holes solo pops left (`_kill`): before the list meets peers' ops, whose
    tombstones carry removal stamps, as the solo code's removals are final."""
    for blk in self.blocks:
        vals = blk.vals
        if blk.live != len(vals):
            keep = [j for j in range(len(vals)) if vals[j] is not None]
            hl, oi = blk.hl, blk.oi
            blk.vals = [vals[j] for j in keep]
            blk.hl = array("q", [hl[j] for j in keep])
            blk.oi = array("Q", [oi[j] for j in keep])
            blk.recount()


def _tmin(self: ListEntry, ctx: Ctx) -> int:
    """An hlc at or below which every element of this list is observed by ctx."""
    t: int | None = None
    for c in self.origins:
        o = _ORIGINS[c]
        v = ctx.hlc - 1 if o == ctx.origin else ctx.deps.get(o, 0)
        if t is None or v < t:
            t = v
    return t or 0

def _kill_observed(self: ListEntry, b0: int, j0: int, b1: int, j1: int, ctx: Ctx) -> None:
    """Remove the live elements observed by ctx between (b0, j0) and (b1, j1), end
    excluded. Block counts are left stale: the caller runs _compact()."""
    blocks = self.blocks
    if b0 >= len(blocks):
        return
    stamp = (ctx.hlc, ctx.origin)
    obs = ctx.observed
    origins = _ORIGINS
    tmin = self._tmin(ctx)
    peers = self.peers
    rm, vst, where = self.rm, self.vst, self.where
    for b in range(b0, min(b1, len(blocks) - 1) + 1):
        blk = blocks[b]
        vals, hl, oi = blk.vals, blk.hl, blk.oi
        lo = j0 if b == b0 else 0
        hi = j1 if b == b1 else len(vals)
        if lo >= hi or not (blk.live or peers):
            continue
        if blk.packed is not None:
            blk.thaw()  # _compact (the caller runs it) packs it again if it stays cold
            vals, hl, oi = blk.vals, blk.hl, blk.oi
        everything = max(hl[lo:hi]) <= tmin  # the whole span observed (the common case)
        if peers:
            for j in range(lo, hi):
                if everything or obs(hl[j], origins[oi[j] >> 32]):
                    pid = _pid(hl[j], oi[j])
                    if vals[j] is not None:
                        vals[j] = None
                        rm[pid] = stamp
                        if vst:
                            vst.pop(pid, None)
                    else:  # removed twice: keep the smallest stamp, as remove() does
                        old = rm.get(pid)
                        if old is None or stamp < old:
                            rm[pid] = stamp
            continue
        if everything:
            gone = range(lo, hi)
            keep: list[int] = []
        else:
            keep = [j for j in range(lo, hi) if vals[j] is not None and not obs(hl[j], origins[oi[j] >> 32])]
            gone = range(0)
        if where is not None or vst:
            kept = set(keep)
            for j in range(lo, hi):
                if j not in kept:
                    pid = _pid(hl[j], oi[j])
                    if where is not None:
                        where.pop(pid, None)
                    vst.pop(pid, None)
        if everything and len(gone) == len(vals):
            blk.vals = []
            blk.hl = array("q")
            blk.oi = array("Q")
            continue
        vals[lo:hi] = [vals[j] for j in keep]
        hl[lo:hi] = array("q", [hl[j] for j in keep])
        oi[lo:hi] = array("Q", [oi[j] for j in keep])
