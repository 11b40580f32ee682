"""A list's writes at its ends (crdt/list_rga.py): the one-value fast paths of `insert`
(LPUSH / RPUSH of one value to a visible list), and runs of them and of pops: k pushes to
one list applied one after the other, as a pipelined run of them applies (keyspace_batch),
in one move of the end block's arrays instead of k, and k pops in one call instead of k
trips through apply_remove. ListEntry's internal methods (bound in its class body), as
those of list_blocks.py; they only check that the RGA's order puts each value at the end
they write (or that each popped element is the end one), and decline, having changed
nothing, otherwise.
"""
from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any

from .list_blocks import _CODES, _ORIGINS, HEAD_BLOCK, HOLE_MIN, HOLES, MAX_BLOCK, _Block, _code

if TYPE_CHECKING:
    from .list_rga import ListEntry


def push_head(self: ListEntry, h: int, origin: str, value: bytes) -> bool:
    """`insert` of one value at the head, when the head block is thawed, hot and not
    full and the first element's id is smaller than (h, origin), so the RGA puts the
    new element first (always at the origin: the HLC is past every id it has seen).
    False, having changed nothing, when any of that does not hold: the caller then
    takes `insert`, which decides the same way with no precondition."""
    blocks = self.blocks
    blk = blocks[0]
    vals = blk.vals
    hot = self.hot
    if blk.packed is not None or not vals or len(vals) >= HEAD_BLOCK \
            or (hot[-1] is not blk if hot else len(blocks) > 1):
        return False
    hl = blk.hl
    eh = hl[0]
    if eh > h or (eh == h and _ORIGINS[blk.oi[0] >> 32] >= origin):
        return False  # a concurrent insert at the head with a larger id: it stays first
    code = _CODES.get(origin)
    if code is None:
        code = _code(origin)
    self.origins.add(code)
    oi = code << 32
    vals.insert(0, value)
    hl.insert(0, h)
    blk.oi.insert(0, oi)
    blk.lo = 0
    blk.hi = blk.hi + 1 if blk.live else 1
    blk.live += 1
    self.size += 1
    if self.where is not None:
        self.where[h << 64 | oi] = blk
    self.fwd.add(blk)
    return True


def push_after_last(self: ListEntry, h: int, origin: str, rh: int, ro: str, ri: int, value: bytes) -> bool:
    """`insert` of one value after element (rh, ro, ri) when that element is the last
    one stored (RPUSH), in a thawed, hot, not full block: nothing follows it, so the
    RGA puts the new element there. False, having changed nothing, otherwise."""
    blocks = self.blocks
    blk = blocks[-1]
    vals = blk.vals
    n = len(vals)
    hot = self.hot
    if blk.packed is not None or not n or n >= MAX_BLOCK \
            or (hot[-1] is not blk if hot else len(blocks) > 1):
        return False
    rc = _CODES.get(ro)
    if rc is None or blk.hl[n - 1] != rh or blk.oi[n - 1] != (rc << 32 | ri):
        return False
    code = _CODES.get(origin)
    if code is None:
        code = _code(origin)
    self.origins.add(code)
    oi = code << 32
    vals.append(value)
    blk.hl.append(h)
    blk.oi.append(oi)
    if not blk.live:
        blk.lo = n
    blk.hi = n + 1
    blk.live += 1
    self.size += 1
    if self.where is not None:
        self.where[h << 64 | oi] = blk
    self.fwd.add(blk)
    return True


def push_head_run(self: ListEntry, h: int, origin: str, values: list[bytes]) -> bool:
    """`push_head` of each of `values` in turn, the t-th stamped h + t: the state those
    k calls leave, when each of them would succeed (the head block has room for all k,
    and the first push's id is larger than the first element's: the later ones are
    larger still, so each goes first). False, having changed nothing, otherwise."""
    k = len(values)
    blocks = self.blocks
    blk = blocks[0]
    vals = blk.vals
    hot = self.hot
    if blk.packed is not None or not vals or len(vals) + k > HEAD_BLOCK \
            or (hot[-1] is not blk if hot else len(blocks) > 1):
        return False
    hl = blk.hl
    eh = hl[0]
    if eh > h or (eh == h and _ORIGINS[blk.oi[0] >> 32] >= origin):
        return False
    code = _CODES.get(origin)
    if code is None:
        code = _code(origin)
    self.origins.add(code)
    oi = code << 32
    vals[0:0] = values[::-1]  # the last pushed is first
    hl[0:0] = array("q", range(h + k - 1, h - 1, -1))
    blk.oi[0:0] = array("Q", [oi]) * k
    blk.lo = 0
    blk.hi = blk.hi + k if blk.live else k
    blk.live += k
    self.size += k
    where = self.where
    if where is not None:
        for t in range(k):
            where[(h + t) << 64 | oi] = blk
    self.fwd.add(blk)
    return True


def push_after_last_run(self: ListEntry, h: int, origin: str, rh: int, ro: str, ri: int,
                        values: list[bytes]) -> bool:
    """`push_after_last` of each of `values` in turn, the first after element (rh, ro, ri)
    and each next one after the one before it, the t-th stamped h + t: the state those k
    calls leave when each would succeed (that element is the last one stored, in a block
    with room for all k). False, having changed nothing, otherwise."""
    k = len(values)
    blocks = self.blocks
    blk = blocks[-1]
    vals = blk.vals
    n = len(vals)
    hot = self.hot
    if blk.packed is not None or not n or n + k > MAX_BLOCK \
            or (hot[-1] is not blk if hot else len(blocks) > 1):
        return False
    rc = _CODES.get(ro)
    if rc is None or blk.hl[n - 1] != rh or blk.oi[n - 1] != (rc << 32 | ri):
        return False
    code = _CODES.get(origin)
    if code is None:
        code = _code(origin)
    self.origins.add(code)
    oi = code << 32
    vals += values
    blk.hl.extend(range(h, h + k))
    blk.oi.extend(array("Q", [oi]) * k)
    if not blk.live:
        blk.lo = n
    blk.hi = n + k
    blk.live += k
    self.size += k
    where = self.where
    if where is not None:
        for t in range(k):
            where[(h + t) << 64 | oi] = blk
    self.fwd.add(blk)
    return True


def end_items(self: ListEntry, n: int, left: bool) -> tuple[list[bytes | None], Any, Any] | None:
    """The first n live elements from the head (`left`) or the last n from the tail, in
    that order, when they are the n slots at that end of the end block: their values, HLCs
    and packed origin ids (`_ORIGINS[o >> 32]`, `o & _I_MASK`), as slices, so that a
    pipelined run of pops reads what it pops in three C copies instead of a Python step
    each (runs.py `_pops`). None otherwise (a hole or a tombstone among them, fewer than n
    live in the block): the caller walks `iter_items`. With n live in the block, n slots
    follow its first live one (and precede its last), so the slices are never short."""
    blocks = self.blocks
    if not blocks:
        return None
    blk = blocks[0] if left else blocks[-1]
    if blk.live < n:
        return None
    if left:
        a = blk.lo
        vals = blk.vals[a:a + n]
        if None in vals:
            return None
        return vals, blk.hl[a:a + n], blk.oi[a:a + n]
    b = blk.hi
    vals = blk.vals[b - n:b]
    if None in vals:
        return None
    vals.reverse()
    return vals, blk.hl[b - n:b][::-1], blk.oi[b - n:b][::-1]


def pop_run(self: ListEntry, left: bool, h: int, origin: str, effs: list[tuple[Any, ...]]) -> int:
    """`remove1` of the element each of `effs` names, in turn (LREMOVE effects of one
    element, as an LPOP (`left`) or RPOP run emits them: (code, db, key, hlc, origin or ""
    for `origin`, i, hint)), the t-th stamped (h + t, origin), for as long as each is the
    first (last) live element of the end block and not its last one (whose removal may
    drop the block: `remove1` takes that one). What those calls leave; the number removed.

    Each removal is list_blocks._kill's, inline for a thawed, hot block without value
    stamps (nor, solo, an id locator): a tombstone with peers, a hole or a shift solo."""
    blocks = self.blocks
    if not blocks:
        return 0
    blk = blocks[0] if left else blocks[-1]
    hot = self.hot
    peers = self.peers
    if blk.packed is not None or (hot and hot[-1] is not blk) or self.vst or (not peers and self.where is not None):
        return _pop_run_killing(self, blk, left, h, origin, effs)
    vals = blk.vals
    hl = blk.hl
    oi = blk.oi
    rm = self.rm
    k = 0
    seen = None
    code = None
    for eff in effs:
        live = blk.live
        if live < 2:
            break
        eo = eff[4] or origin
        if eo is not seen:
            code = _CODES.get(eo)
            seen = eo
        j = blk.lo if left else blk.hi - 1
        if code is None or hl[j] != eff[3] or oi[j] != (code << 32 | eff[5]):
            break
        live -= 1
        blk.live = live
        if peers:  # a tombstone with its removal stamp; the live bounds skip it
            vals[j] = None
            if left:
                lo = j + 1
                while lo < blk.hi and vals[lo] is None:
                    lo += 1
                blk.lo = lo
            else:
                hi = j
                while hi > blk.lo and vals[hi - 1] is None:
                    hi -= 1
                blk.hi = hi
            rm[hl[j] << 64 | oi[j]] = (h + k, origin)
        else:
            n = len(vals)
            if j == blk.lo == n - live - 1 and n > HOLE_MIN:  # a hole (see _kill)
                vals[j] = None
                j += 1
                if j < HOLES:
                    blk.lo = j
                else:
                    del vals[:j]
                    del hl[:j]
                    del oi[:j]
                    blk.lo = 0
                    blk.hi -= j
            else:
                del vals[j]
                del hl[j]
                del oi[j]
                hi = blk.hi - 1
                if len(vals) != live:
                    while vals[hi - 1] is None:
                        hi -= 1
                    lo = blk.lo
                    while vals[lo] is None:
                        lo += 1
                    blk.lo = lo
                blk.hi = hi
        k += 1
    if k:
        self.size -= k
        self.fwd.add(blk)
    return k


def _pop_run_killing(self: ListEntry, blk: _Block, left: bool, h: int, origin: str,
                     effs: list[tuple[Any, ...]]) -> int:
    """`pop_run` through list_blocks._kill, one call each (it thaws the block, drops value
    stamps and locator entries)."""
    kill = self._kill
    k = 0
    for eff in effs:
        if blk.live < 2:
            break
        j = blk.lo if left else blk.hi - 1
        code = _CODES.get(eff[4] or origin)
        if code is None or blk.hl[j] != eff[3] or blk.oi[j] != (code << 32 | eff[5]):
            break
        kill(blk, j, (h + k, origin))
        k += 1
    return k
