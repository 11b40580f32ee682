"""Redis's HyperLogLog representation, byte for byte (src/hyperloglog.c, Redis 7.0).

Pure functions on a `bytearray` holding the whole string value: the 16-byte header
("HYLL", encoding byte, 3 unused bytes, the cached cardinality as a little-endian uint64
whose top bit marks it stale), then either 16384 6-bit registers packed LSB first (dense,
12304 bytes in all) or the run-length opcodes ZERO (00xxxxxx, 1-64 zero registers), XZERO
(01xxxxxx yyyyyyyy, 1-16384 zero registers) and VAL (1vvvvvxx, 1-4 registers of value
1-32) (sparse). Every algorithm follows Redis's exactly, including how a sparse update
splits and re-merges opcodes and when it promotes to dense, because the resulting bytes
depend on that history: GET returns what Redis would, and a value copied from Redis reads
the same here.

The CRDT side (crdt/string_bits.py) replays register updates in stamp order through
`hll_set`, so replicas that applied the same updates hold the same bytes.
"""
from __future__ import annotations

import math
import random
import struct

HLL_P = 14
HLL_Q = 64 - HLL_P
REGISTERS = 1 << HLL_P
P_MASK = REGISTERS - 1
REGISTER_MAX = 63
HDR_SIZE = 16
DENSE_SIZE = HDR_SIZE + (REGISTERS * 6 + 7) // 8
DENSE = 0
SPARSE = 1
VAL_MAX_VALUE = 32
VAL_MAX_LEN = 4
ZERO_MAX_LEN = 64
XZERO_MAX_LEN = 16384
ALPHA_INF = 0.721347520444481703680

_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1
_SEED = 0xADC83B19


def murmur64a(data: bytes, seed: int = _SEED) -> int:
    """MurmurHash64A as Redis builds it on little-endian machines."""
    n = len(data)
    m = _M
    mask = _MASK
    h = (seed ^ (n * m)) & mask
    nb = n >> 3
    if nb:
        for k in struct.unpack_from(f"<{nb}Q", data):
            k = (k * m) & mask
            k ^= k >> 47
            k = (k * m) & mask
            h ^= k
            h = (h * m) & mask
    if n & 7:
        h ^= int.from_bytes(data[nb << 3:], "little")
        h = (h * m) & mask
    h ^= h >> 47
    h = (h * m) & mask
    h ^= h >> 47
    return h


def pat_len(ele: bytes) -> tuple[int, int]:
    """(register index, run of zeros + 1) of an element (hllPatLen)."""
    h = murmur64a(ele)
    index = h & P_MASK
    h = (h >> HLL_P) | (1 << HLL_Q)
    return index, (h & -h).bit_length()


# ---- the value -----------------------------------------------------------------------
def new_sparse() -> bytearray:
    """createHLLObject: an empty sparse HLL (one XZERO of 16384), cache valid at 0."""
    return bytearray(b"HYLL\x01" + b"\0" * 11 + b"\x7f\xff")


def is_valid(v: bytes | bytearray) -> bool:
    """isHLLObjectOrReply's checks (the type check is the caller's)."""
    if len(v) < HDR_SIZE or v[:4] != b"HYLL" or v[4] > SPARSE:
        return False
    return v[4] != DENSE or len(v) == DENSE_SIZE


def invalidate(v: bytearray) -> None:
    v[15] |= 0x80


def cache_valid(v: bytes | bytearray) -> bool:
    return not v[15] & 0x80


def cached_card(v: bytes | bytearray) -> int:
    return int.from_bytes(v[8:16], "little")


def set_cached_card(v: bytearray, card: int) -> None:
    v[8:16] = (card & _MASK).to_bytes(8, "little")


# ---- dense ---------------------------------------------------------------------------
def dense_get(v: bytes | bytearray, idx: int) -> int:
    bit = idx * 6
    b = HDR_SIZE + (bit >> 3)
    fb = bit & 7
    r = v[b] >> fb
    if fb > 2:
        r |= v[b + 1] << (8 - fb)
    return r & 63


def dense_set(v: bytearray, idx: int, val: int) -> int:
    """hllDenseSet: 1 when the register grew."""
    bit = idx * 6
    b = HDR_SIZE + (bit >> 3)
    fb = bit & 7
    old = v[b] >> fb
    if fb > 2:
        old |= v[b + 1] << (8 - fb)
    if val <= old & 63:
        return 0
    v[b] = (v[b] & ~(63 << fb) & 0xFF) | ((val << fb) & 0xFF)
    if fb > 2:
        fb8 = 8 - fb
        v[b + 1] = (v[b + 1] & ~(63 >> fb8) & 0xFF) | (val >> fb8)
    return 1


def _table(f: object) -> bytes:
    return bytes(f(i) & 0xFF for i in range(256))  # type: ignore[operator]


_LO6 = _table(lambda b: b & 63)
_HI2 = _table(lambda b: b >> 6)
_LO4_SHL2 = _table(lambda b: (b & 15) << 2)
_HI4 = _table(lambda b: b >> 4)
_LO2_SHL4 = _table(lambda b: (b & 3) << 4)
_HI6 = _table(lambda b: b >> 2)


def _or_bytes(a: bytes, b: bytes) -> bytes:
    """Byte-wise a | b for bytes whose set bits never overlap (an addition without carries)."""
    return (int.from_bytes(a, "little") + int.from_bytes(b, "little")).to_bytes(len(a), "little")


def dense_registers(v: bytes | bytearray) -> bytes:
    """All 16384 registers of a dense HLL, one byte each. Every 3 bytes hold 4 registers;
    the bytes are split by position and translated (C loops, not 16384 Python steps)."""
    body = bytes(v[HDR_SIZE:HDR_SIZE + REGISTERS * 6 // 8])
    b0, b1, b2 = body[0::3], body[1::3], body[2::3]
    out = bytearray(REGISTERS)
    out[0::4] = b0.translate(_LO6)
    out[1::4] = _or_bytes(b0.translate(_HI2), b1.translate(_LO4_SHL2))
    out[2::4] = _or_bytes(b1.translate(_HI4), b2.translate(_LO2_SHL4))
    out[3::4] = b2.translate(_HI6)
    return bytes(out)


_R1_LO2_SHL6 = _table(lambda r: (r & 3) << 6)
_R1_SHR2 = _table(lambda r: r >> 2)
_R2_LO4_SHL4 = _table(lambda r: (r & 15) << 4)
_R2_SHR4 = _table(lambda r: r >> 4)
_R3_SHL2 = _table(lambda r: r << 2)


def pack_dense(header: bytes | bytearray, regs: bytes) -> bytearray:
    """A dense value with this header (encoding set to dense) and these registers (< 64);
    the inverse of dense_registers, with the same C-level byte operations."""
    out = bytearray(DENSE_SIZE)
    out[:HDR_SIZE] = header[:HDR_SIZE]
    out[4] = DENSE
    r0, r1, r2, r3 = regs[0::4], regs[1::4], regs[2::4], regs[3::4]
    body = bytearray(REGISTERS * 6 // 8)
    body[0::3] = _or_bytes(r0, r1.translate(_R1_LO2_SHL6))
    body[1::3] = _or_bytes(r1.translate(_R1_SHR2), r2.translate(_R2_LO4_SHL4))
    body[2::3] = _or_bytes(r2.translate(_R2_SHR4), r3.translate(_R3_SHL2))
    out[HDR_SIZE:] = body
    return out


def merge_dense(v: bytearray, regs: bytes) -> None:
    """Every register of dense `v` to max(itself, regs[i]), in place (PFMERGE's loop of
    hllDenseSet, which depends only on the final registers)."""
    old = dense_registers(v)
    new = max_bytes(old, regs)
    if new != old:
        v[:] = pack_dense(v, new)


# ---- sparse --------------------------------------------------------------------------
def val_op(val: int, n: int) -> int:
    return ((val - 1) << 2 | (n - 1)) | 0x80


def _zero_ops(n: int) -> bytes:
    if n > ZERO_MAX_LEN:
        n -= 1
        return bytes(((n >> 8) | 0x40, n & 0xFF))
    return bytes((n - 1,))


def sparse_registers(v: bytes | bytearray) -> bytes | None:
    """All registers of a sparse HLL (hllSparseToDense's walk); None if corrupt."""
    out = bytearray(REGISTERS)
    idx = 0
    p = HDR_SIZE
    end = len(v)
    while p < end:
        b = v[p]
        if b & 0xC0 == 0:
            idx += (b & 0x3F) + 1
            p += 1
        elif b & 0x80 == 0:
            nxt = v[p + 1] if p + 1 < end else 0
            idx += ((b & 0x3F) << 8 | nxt) + 1
            p += 2
        else:
            n = (b & 3) + 1
            val = ((b >> 2) & 0x1F) + 1
            if n + idx > REGISTERS:
                break
            out[idx:idx + n] = bytes((val,)) * n
            idx += n
            p += 1
    if idx != REGISTERS:
        return None
    return bytes(out)


def registers(v: bytes | bytearray) -> bytes | None:
    """Registers of a valid HLL value (None: corrupt sparse form)."""
    if v[4] == DENSE:
        return dense_registers(v)
    return sparse_registers(v)


def to_dense(v: bytearray) -> bool:
    """hllSparseToDense in place; False (unchanged) if the sparse form is corrupt."""
    if v[4] == DENSE:
        return True
    regs = sparse_registers(v)
    if regs is None:
        return False
    v[:] = pack_dense(v, regs)
    return True


def sparse_set(v: bytearray, index: int, count: int, max_bytes: int) -> int:
    """hllSparseSet: 1 updated, 0 unchanged, -1 corrupt. May promote `v` to dense."""
    if count <= VAL_MAX_VALUE:
        r = _sparse_set(v, index, count, max_bytes)
        if r != 2:
            return r
    if not to_dense(v):
        return -1
    dense_set(v, index, count)
    return 1


def _sparse_set(v: bytearray, index: int, count: int, max_bytes: int) -> int:
    """The sparse update; 2 asks the caller to promote to dense."""
    p = HDR_SIZE
    end = len(v)
    first = 0
    prev = -1
    span = 0
    b = 0
    while p < end:
        b = v[p]
        oplen = 1
        if b & 0xC0 == 0:
            span = (b & 0x3F) + 1
        elif b & 0x80:
            span = (b & 3) + 1
        else:
            span = ((b & 0x3F) << 8 | (v[p + 1] if p + 1 < end else 0)) + 1
            oplen = 2
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        return -1
    is_zero = b & 0xC0 == 0
    is_val = bool(b & 0x80)
    is_xzero = not is_zero and not is_val
    if is_val:
        if ((b >> 2) & 0x1F) + 1 >= count:
            return 0
        if span == 1:
            v[p] = val_op(count, 1)
            return _merge(v, prev, end)
    if is_zero and span == 1:
        v[p] = val_op(count, 1)
        return _merge(v, prev, end)
    last = first + span - 1
    seq = bytearray()
    if is_val:
        cur = ((b >> 2) & 0x1F) + 1
        if index != first:
            seq.append(val_op(cur, index - first))
        seq.append(val_op(count, 1))
        if index != last:
            seq.append(val_op(cur, last - index))
    else:
        if index != first:
            seq += _zero_ops(index - first)
        seq.append(val_op(count, 1))
        if index != last:
            seq += _zero_ops(last - index)
    oldlen = 2 if is_xzero else 1
    delta = len(seq) - oldlen
    if delta > 0 and len(v) + delta > max_bytes:
        return 2
    v[p:p + oldlen] = seq
    return _merge(v, prev, end + delta)


def _merge(v: bytearray, prev: int, end: int) -> int:
    """Step 4 of hllSparseSet: merge adjacent VAL opcodes of equal value, scanning at
    most 5 opcodes from the one before the update. Always reports an update."""
    p = prev if prev >= 0 else HDR_SIZE
    scan = 5
    while p < end and scan:
        scan -= 1
        b = v[p]
        if b & 0xC0 == 0x40:
            p += 2
            continue
        if b & 0xC0 == 0:
            p += 1
            continue
        if p + 1 < end and v[p + 1] & 0x80:
            b2 = v[p + 1]
            if (b >> 2) & 0x1F == (b2 >> 2) & 0x1F:
                n = (b & 3) + (b2 & 3) + 2
                if n <= VAL_MAX_LEN:
                    v[p + 1] = val_op(((b >> 2) & 0x1F) + 1, n)
                    del v[p]
                    end -= 1
                    continue
        p += 1
    invalidate(v)
    return 1


def hll_set(v: bytearray, index: int, count: int, max_bytes: int) -> int:
    """Set one register to max(current, count) in whichever encoding `v` has."""
    if v[4] == DENSE:
        return dense_set(v, index, count)
    return sparse_set(v, index, count, max_bytes)


# ---- counting ------------------------------------------------------------------------
def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        zp = z
        z += x * y
        y += y
        if zp == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        zp = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if zp == z:
            return z / 3


def count_histo(histo: list[int]) -> int:
    """hllCount's estimator (Ertl, arXiv:1702.01284) from a register histogram."""
    m = float(REGISTERS)
    z = m * _tau((m - histo[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    f = math.floor(e)
    return int(f + 1 if e - f >= 0.5 else f)  # llroundl: half away from zero


def histogram(regs: bytes) -> list[int]:
    out = [0] * 64
    left = len(regs)
    for i in range(64):
        if not left:
            break
        n = regs.count(i)
        out[i] = n
        left -= n
    return out


def count(v: bytes | bytearray) -> int | None:
    """Cardinality estimate of a valid HLL value; None when the sparse form is corrupt
    (hllCount's `invalid`)."""
    if v[4] == DENSE:
        return count_histo(histogram(dense_registers(v)))
    histo = [0] * 64
    idx = 0
    p = HDR_SIZE
    end = len(v)
    while p < end:
        b = v[p]
        if b & 0xC0 == 0:
            n = (b & 0x3F) + 1
            histo[0] += n
            p += 1
        elif b & 0x80 == 0:
            n = ((b & 0x3F) << 8 | (v[p + 1] if p + 1 < end else 0)) + 1
            histo[0] += n
            p += 2
        else:
            n = (b & 3) + 1
            histo[((b >> 2) & 0x1F) + 1] += n
            p += 1
        idx += n
    if idx != REGISTERS:
        return None
    return count_histo(histo)


def merge_max(acc: bytearray, v: bytes | bytearray) -> bool:
    """hllMerge: acc[i] = max(acc[i], register i of `v`); False when `v` is corrupt."""
    regs = registers(v)
    if regs is None:
        return False
    acc[:] = max_bytes(bytes(acc), regs)
    return True


_H = int.from_bytes(b"\x80" * REGISTERS, "little")
_FULL = (1 << (8 * REGISTERS)) - 1


def max_bytes(a: bytes, b: bytes) -> bytes:
    """Byte-wise max of two register arrays (values < 128), as big-integer lane
    arithmetic: (a | 0x80) - b keeps bit 7 of a lane set exactly where a >= b."""
    x = int.from_bytes(a, "little")
    y = int.from_bytes(b, "little")
    ge = (((x | _H) - y) & _H) >> 7
    mask = ge * 0xFF
    return ((x & mask) | (y & ~mask & _FULL)).to_bytes(REGISTERS, "little")


def decode(v: bytes | bytearray) -> bytes:
    """PFDEBUG DECODE of a sparse value."""
    parts = []
    p = HDR_SIZE
    end = len(v)
    while p < end:
        b = v[p]
        if b & 0xC0 == 0:
            parts.append(f"z:{(b & 0x3F) + 1}")
            p += 1
        elif b & 0x80 == 0:
            parts.append(f"Z:{((b & 0x3F) << 8 | (v[p + 1] if p + 1 < end else 0)) + 1}")
            p += 2
        else:
            parts.append(f"v:{((b >> 2) & 0x1F) + 1},{(b & 3) + 1}")
            p += 1
    return " ".join(parts).encode()


# ---- PFSELFTEST ----------------------------------------------------------------------
def selftest(max_bytes: int, rng: random.Random | None = None) -> str | None:
    """Redis's PFSELFTEST checks, None when they pass, else the error text: register
    access in the dense encoding, then unique elements added to a dense and a sparse HLL
    at once, checking the sparse encoding is used while small, that both estimate the
    same, and that the error stays within 6 standard errors. Fewer cycles and elements
    than Redis's C loop (10 cycles, 10^5 elements) so that it answers in about a second."""
    rng = rng or random.Random()
    v = bytearray(DENSE_SIZE)
    v[:5] = b"HYLL\x00"
    for _ in range(10):
        want = bytes(rng.getrandbits(6) for _ in range(REGISTERS))
        v[:] = pack_dense(v, want)
        for i in range(0, REGISTERS, 97):
            if dense_get(v, i) != want[i]:
                return f"TESTFAILED Register {i} should be {want[i]} but is {dense_get(v, i)}"
        if dense_registers(v) != want:
            return "TESTFAILED Register access mismatch"
    dense = bytearray(DENSE_SIZE)
    dense[:5] = b"HYLL\x00"
    sparse = new_sparse()
    relerr = 1.04 / math.sqrt(REGISTERS)
    checkpoint = 1
    seed = rng.getrandbits(64)
    for j in range(1, 100_001):
        ele = struct.pack("<Q", j ^ seed)
        idx, cnt = pat_len(ele)
        dense_set(dense, idx, cnt)
        if hll_set(sparse, idx, cnt, max_bytes) < 0:
            return "TESTFAILED sparse HLL corrupted"
        if j == checkpoint:
            if j < max_bytes // 2 and sparse[4] != SPARSE:
                return "TESTFAILED sparse encoding not used"
            dc = count(dense)
            if dc != count(sparse):
                return "TESTFAILED dense/sparse disagree"
            maxerr = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
            abserr = abs(checkpoint - (dc or 0))
            if abserr > maxerr:
                return f"TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            checkpoint *= 10
    return None
