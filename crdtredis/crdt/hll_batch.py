"""Many HyperLogLog register updates at once, with Redis's exact sparse results.

hllSparseSet (crdt/hll.py `sparse_set`) walks the opcodes from the start to find the one
covering a register: a PFADD of n elements on a sparse value is n walks. Here the opcodes
are parsed once into a list, found by bisection, updated with hllSparseSet's own split,
merge and promotion rules, and encoded back: the same bytes, in C-level list operations.
"""
from __future__ import annotations

from bisect import bisect_right

from .hll import (
    HDR_SIZE,
    REGISTERS,
    SPARSE,
    VAL_MAX_LEN,
    VAL_MAX_VALUE,
    ZERO_MAX_LEN,
    dense_set,
    invalidate,
    sparse_set,
    to_dense,
    val_op,
)


def _span(code: int) -> int:
    if code > 0xFF:  # XZERO, stored as 0x10000 | its two bytes
        return (code & 0x3FFF) + 1
    if code & 0x80:
        return (code & 3) + 1
    return (code & 0x3F) + 1


def _zero_codes(n: int) -> list[int]:
    if n > ZERO_MAX_LEN:
        return [0x10000 | 0x4000 | (n - 1)]
    return [n - 1]


class _Runs:
    """The sparse opcodes as two parallel lists (first register covered, opcode), so that
    finding the opcode of a register is a bisect instead of a walk from the start. The
    opcodes, and every split, merge and promotion decision, are hllSparseSet's: only the
    search differs, and it finds the same opcode because spans are contiguous."""

    __slots__ = ("starts", "codes", "nbytes")

    def __init__(self, starts: list[int], codes: list[int], nbytes: int) -> None:
        self.starts = starts
        self.codes = codes
        self.nbytes = nbytes

    @classmethod
    def parse(cls, v: bytes | bytearray) -> _Runs | None:
        """None when the opcodes do not cover exactly 16384 registers (then the byte-level
        walk decides, as Redis's does, what an update of a corrupt value does)."""
        starts: list[int] = []
        codes: list[int] = []
        idx = 0
        p = HDR_SIZE
        end = len(v)
        while p < end:
            b = v[p]
            starts.append(idx)
            if b & 0xC0 == 0x40:
                if p + 1 >= end:
                    return None
                code = 0x10000 | b << 8 | v[p + 1]
                p += 2
            else:
                code = b
                p += 1
            codes.append(code)
            idx += _span(code)
        if idx != REGISTERS:
            return None
        return cls(starts, codes, end)

    def encode(self, header: bytes | bytearray) -> bytearray:
        out = bytearray(header[:HDR_SIZE])
        for c in self.codes:
            if c > 0xFF:
                out.append((c >> 8) & 0xFF)
                out.append(c & 0xFF)
            else:
                out.append(c)
        return out

    def set(self, index: int, count: int, max_bytes: int) -> int:
        """hllSparseSet on the runs: 1 updated, 0 unchanged, 2 promote to dense."""
        if count > VAL_MAX_VALUE:
            return 2
        starts, codes = self.starts, self.codes
        i = bisect_right(starts, index) - 1
        code = codes[i]
        first = starts[i]
        span = _span(code)
        is_val = code <= 0xFF and bool(code & 0x80)
        if is_val:
            cur = ((code >> 2) & 0x1F) + 1
            if cur >= count:
                return 0
            if span == 1:
                codes[i] = val_op(count, 1)
                self._merge(i - 1)
                return 1
        elif code <= 0xFF and span == 1:
            codes[i] = val_op(count, 1)
            self._merge(i - 1)
            return 1
        last = first + span - 1
        ns: list[int] = []
        nc: list[int] = []
        if is_val:
            if index != first:
                ns.append(first)
                nc.append(val_op(cur, index - first))
            ns.append(index)
            nc.append(val_op(count, 1))
            if index != last:
                ns.append(index + 1)
                nc.append(val_op(cur, last - index))
        else:
            if index != first:
                ns.append(first)
                nc += _zero_codes(index - first)
            ns.append(index)
            nc.append(val_op(count, 1))
            if index != last:
                ns.append(index + 1)
                nc += _zero_codes(last - index)
        newlen = sum(2 if c > 0xFF else 1 for c in nc)
        delta = newlen - (2 if code > 0xFF else 1)
        if delta > 0 and self.nbytes + delta > max_bytes:
            return 2
        starts[i:i + 1] = ns
        codes[i:i + 1] = nc
        self.nbytes += delta
        self._merge(i - 1)
        return 1

    def _merge(self, p: int) -> None:
        if p < 0:
            p = 0
        starts, codes = self.starts, self.codes
        scan = 5
        while p < len(codes) and scan:
            scan -= 1
            c = codes[p]
            if c > 0xFF or not c & 0x80:
                p += 1
                continue
            if p + 1 < len(codes):
                c2 = codes[p + 1]
                if c2 <= 0xFF and c2 & 0x80 and (c >> 2) & 0x1F == (c2 >> 2) & 0x1F:
                    n = (c & 3) + (c2 & 3) + 2
                    if n <= VAL_MAX_LEN:
                        codes[p] = val_op(((c >> 2) & 0x1F) + 1, n)
                        del codes[p + 1]
                        del starts[p + 1]
                        self.nbytes -= 1
                        continue
            p += 1


def add_many(v: bytearray, pairs: list[tuple[int, int]], max_bytes: int) -> int:
    """hllAdd for each (index, count) in order, in place: 1 if any register grew, 0 if
    none did, -1 at the first update that finds the value corrupt (the updates before it
    stay, as in Redis). The cache is left to the caller, as PFADD invalidates it."""
    updated = 0
    k = 0
    n = len(pairs)
    if v[4] == SPARSE:
        runs = _Runs.parse(v) if n > 2 else None
        if runs is None:
            while k < n and v[4] == SPARSE:
                r = sparse_set(v, pairs[k][0], pairs[k][1], max_bytes)
                if r < 0:
                    return -1
                updated |= r
                k += 1
        else:
            hdr = bytes(v[:HDR_SIZE])
            while k < n:
                idx, cnt = pairs[k]
                r = runs.set(idx, cnt, max_bytes)
                if r == 2:
                    break
                updated |= r
                k += 1
            v[:] = runs.encode(hdr)
            if updated:
                invalidate(v)
            if k < n:
                # Promotion: what hllSparseSet does at this update.
                if not to_dense(v):
                    return -1
                dense_set(v, pairs[k][0], pairs[k][1])
                updated = 1
                k += 1
    while k < n:
        updated |= dense_set(v, pairs[k][0], pairs[k][1])
        k += 1
    return updated
