"""Packed records of plain string keys for base snapshots (format version 2).

Most keys of a typical keyspace are plain strings: `(value, hlc, origin)` tuples with no
expiry and no hidden content. A version-1 base writes each as its own framed protobuf
`Value`, and loading one costs a protobuf parse plus a Python walk of the nested value
(~13 µs a key here), far from the 1,000,000 keys/s that a snapshot install must reach
(issue 12). A version-2 base packs up to `BATCH` such keys of one database into one
record that the loader turns into tuples with a few C-level passes:

    0x00 'S'                      marker (never the first byte of an encoded Value)
    <H db> <I n> <H m>            database, number of keys, number of origin names
    m x (<H len> utf-8 name)      the origins used by this record
    n x <I>  key lengths          little-endian arrays, in key order
    n x <I>  value lengths
    n x <q>  hlcs
    n x <H>  origin indexes
    keys, then values             concatenated bytes

Keys with an expiry, hidden content or any other shape keep the version-1 per-key record.

Compiled when it can be (setup.py, as crdtredis.storage._strbatch_native): `decode` is
then `decode_loop`, one pass over the arrays in C (~5x faster than the C-level passes of
`decode_arrays`, which the pure-Python build keeps). Both give the same result or raise
ValueError/IndexError on the same records (tests/test_snapshot_format.py).
"""
from __future__ import annotations

import struct
import sys
from array import array
from itertools import accumulate
from typing import Any

MARKER = b"\x00S"
BATCH = 8192
_HDR = struct.Struct("<HIH")
_LEN = struct.Struct("<H")
_HLC_MAX = (1 << 63) - 1
_SWAP = sys.byteorder != "little"


def packable(e: Any) -> bool:
    """True for a plain string entry this format can hold."""
    return (type(e) is tuple and len(e) == 3 and type(e[0]) is bytes and type(e[1]) is int
            and 0 <= e[1] <= _HLC_MAX and type(e[2]) is str)


def _arr(code: str, items: Any) -> bytes:
    a = array(code, items)
    if _SWAP:
        a.byteswap()
    return a.tobytes()


def encode(dbi: int, keys: list[bytes], entries: list[tuple[bytes, int, str]]) -> bytes:
    """One record holding `keys` with their `entries` (all `packable`)."""
    names: dict[str, int] = {}
    oidx = [names.setdefault(e[2], len(names)) for e in entries]
    if len(names) > 0xFFFF:
        raise ValueError("too many origins in one string batch")
    vals = [e[0] for e in entries]
    parts = [MARKER, _HDR.pack(dbi, len(keys), len(names))]
    for name in names:
        b = name.encode()
        parts += (_LEN.pack(len(b)), b)
    parts += (
        _arr("I", map(len, keys)), _arr("I", map(len, vals)), _arr("q", [e[1] for e in entries]),
        _arr("H", oidx), b"".join(keys), b"".join(vals),
    )
    return b"".join(parts)


def _take(code: str, data: bytes, pos: int, n: int) -> tuple[array[int], int]:
    a = array(code)
    end = pos + n * a.itemsize
    if end > len(data):
        raise ValueError("string batch shorter than its arrays")
    a.frombytes(data[pos:end])
    if _SWAP:
        a.byteswap()
    return a, end


def _head(data: bytes) -> tuple[int, int, list[str], int]:
    """(db index, number of keys, origin names, offset of the arrays)."""
    if data[:2] != MARKER or len(data) < 2 + _HDR.size:
        raise ValueError("not a string batch")
    dbi, n, m = _HDR.unpack_from(data, 2)
    pos = 2 + _HDR.size
    names: list[str] = []
    for _ in range(m):
        if pos + 2 > len(data):
            raise ValueError("string batch truncated in its origins")
        (ln,) = _LEN.unpack_from(data, pos)
        pos += 2
        if pos + ln > len(data):
            raise ValueError("string batch truncated in its origins")
        names.append(data[pos:pos + ln].decode())
        pos += ln
    return dbi, n, names, pos


def decode_arrays(data: bytes) -> tuple[int, list[bytes], list[tuple[bytes, int, str]]]:
    """`decode` with C-level passes over arrays (the fastest form in pure Python)."""
    dbi, n, names, pos = _head(data)
    m = len(names)
    klens, pos = _take("I", data, pos, n)
    vlens, pos = _take("I", data, pos, n)
    hlcs, pos = _take("q", data, pos, n)
    oidx, pos = _take("H", data, pos, n)
    ko = list(accumulate(klens, initial=pos))
    vo = list(accumulate(vlens, initial=ko[-1]))
    if vo[-1] != len(data):
        raise ValueError("string batch lengths do not match its size")
    get = data.__getitem__
    keys = list(map(get, map(slice, ko, ko[1:])))
    vals = list(map(get, map(slice, vo, vo[1:])))
    # A damaged origin index fails here (IndexError); hlcs are unsigned by construction
    # (the crc of the record guards against damage, this only against a bad writer).
    origins = [names[i] for i in oidx] if m > 1 else [names[0]] * n if m else []
    if n and min(hlcs) < 0:
        raise ValueError("string batch with a negative hlc")
    return dbi, keys, list(zip(vals, hlcs, origins, strict=True))


def _u32(data: bytes, i: int) -> int:
    return data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24


def decode_loop(data: bytes) -> tuple[int, list[bytes], list[tuple[bytes, int, str]]]:
    """`decode` as one loop over the keys (the fastest form compiled)."""
    dbi, n, names, pos = _head(data)
    m = len(names)
    size = len(data)
    kl, vl, hp, op, kp = pos, pos + 4 * n, pos + 8 * n, pos + 16 * n, pos + 18 * n
    if kp > size:
        raise ValueError("string batch shorter than its arrays")
    vp = kp
    for i in range(n):
        vp += _u32(data, kl + 4 * i)
    if n and not m:
        raise ValueError("string batch without origins")
    keys: list[bytes] = []
    entries: list[tuple[bytes, int, str]] = []
    origin = names[0] if m else ""
    for i in range(n):
        ke = kp + _u32(data, kl + 4 * i)
        ve = vp + _u32(data, vl + 4 * i)
        if ve > size:
            raise ValueError("string batch lengths do not match its size")
        j = hp + 8 * i
        if data[j + 7] >= 0x80:
            raise ValueError("string batch with a negative hlc")
        h = _u32(data, j) | _u32(data, j + 4) << 32
        if m > 1:
            origin = names[data[op + 2 * i] | data[op + 2 * i + 1] << 8]
        keys.append(data[kp:ke])
        entries.append((data[vp:ve], h, origin))
        kp = ke
        vp = ve
    if vp != size:
        raise ValueError("string batch lengths do not match its size")
    return dbi, keys, entries


def _native_decode() -> Any:
    from ..wire.native import native_module

    nat = native_module("crdtredis.storage._strbatch_native", __file__)
    return None if nat is None else getattr(nat, "decode_loop", None)


# Only this module looks for the compiled copy (the copy itself runs this code too).
_NATIVE: Any = _native_decode() if __name__ == "crdtredis.storage.strbatch" else None
decode = _NATIVE or decode_arrays


def compiled() -> bool:
    """True when `decode` is the compiled loop."""
    return _NATIVE is not None
