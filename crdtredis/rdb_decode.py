"""RESTORE's reading of DUMP payloads (rdbLoadObject of Redis 7.0) for strings, lists, sets,
hashes and sorted sets, in every encoding a 7.0 server writes or loads: plain RDB types,
listpacks, intsets, ziplists, quicklists (1 and 2) and zipmaps, RDB strings integer-encoded
or LZF-compressed.

Validation is always deep (Redis's sanitize-dump-payload yes): lengths are checked against
the bytes present before anything is allocated or looped on, so a hostile payload costs at
most time linear in its size; structural errors, duplicates and empty values raise
PayloadError (RESTORE answers "Bad data format"). The caller has checked the footer
(version and CRC: scripting/dump.verify_payload).
"""
from __future__ import annotations

import math
import struct

from .rdb_encode import (
    QL_PACKED,
    QL_PLAIN,
    T_HASH,
    T_HASH_LISTPACK,
    T_HASH_ZIPLIST,
    T_HASH_ZIPMAP,
    T_LIST,
    T_LIST_QUICKLIST,
    T_LIST_QUICKLIST_2,
    T_LIST_ZIPLIST,
    T_SET,
    T_SET_INTSET,
    T_STRING,
    T_ZSET,
    T_ZSET_2,
    T_ZSET_LISTPACK,
    T_ZSET_ZIPLIST,
)
from .scripting.dump import PayloadError, _Reader

Value = tuple[str, object]


# ---- listpack ------------------------------------------------------------------------
_SMALL = [str(i).encode() for i in range(128)]


def lp_decode(b: bytes) -> list[bytes]:
    """lpValidateIntegrity (deep) + the elements as strings."""
    n = len(b)
    if n < 7 or int.from_bytes(b[0:4], "little") != n or b[-1] != 0xFF:
        raise PayloadError("listpack header")
    count = b[4] | (b[5] << 8)
    out: list[bytes] = []
    p = 6
    end = n - 1
    while p < end:
        start = p
        c = b[p]
        if c < 0x80:
            v: bytes = _SMALL[c]
            p += 1
        elif c < 0xC0:
            ln = c & 0x3F
            v = b[p + 1:p + 1 + ln]
            p += 1 + ln
        elif c < 0xE0:
            if p + 2 > end:
                raise PayloadError("listpack entry")
            u = ((c & 0x1F) << 8) | b[p + 1]
            v = str(u - (1 << 13) if u >= 1 << 12 else u).encode()
            p += 2
        elif c < 0xF0:
            if p + 2 > end:
                raise PayloadError("listpack entry")
            ln = ((c & 0x0F) << 8) | b[p + 1]
            v = b[p + 2:p + 2 + ln]
            p += 2 + ln
        elif c == 0xF0:
            if p + 5 > end:
                raise PayloadError("listpack entry")
            ln = int.from_bytes(b[p + 1:p + 5], "little")
            v = b[p + 5:p + 5 + ln]
            p += 5 + ln
        elif 0xF1 <= c <= 0xF4:
            w = (2, 3, 4, 8)[c - 0xF1]
            if p + 1 + w > end:
                raise PayloadError("listpack entry")
            v = str(int.from_bytes(b[p + 1:p + 1 + w], "little", signed=True)).encode()
            p += 1 + w
        else:
            raise PayloadError("listpack encoding")
        if p > end:
            raise PayloadError("listpack entry")
        enc_len = p - start
        if enc_len <= 127:  # the common one-byte backlen
            if p >= end or b[p] != enc_len:
                raise PayloadError("listpack backlen")
            p += 1
            out.append(v)
            continue
        # The backlen: 7 bits per byte, read right to left, the high bit set on all but
        # the most significant byte.
        want = enc_len
        bl = 1 if want <= 127 else 2 if want < 16383 else 3 if want < 2097151 else 4 if want < 268435455 else 5
        if p + bl > end:
            raise PayloadError("listpack backlen")
        got = 0
        for i in range(bl):
            byte = b[p + bl - 1 - i]
            got |= (byte & 127) << (7 * i)
            if (i < bl - 1) != bool(byte & 128):
                raise PayloadError("listpack backlen")
        if got != want:
            raise PayloadError("listpack backlen")
        p += bl
        out.append(v)
    if p != end or (count != 65535 and count != len(out)):
        raise PayloadError("listpack count")
    return out


# ---- ziplist -------------------------------------------------------------------------
def zl_decode(b: bytes) -> list[bytes]:
    """ziplistValidateIntegrity (deep) + the elements as strings."""
    n = len(b)
    if n < 11 or int.from_bytes(b[0:4], "little") != n or b[-1] != 0xFF:
        raise PayloadError("ziplist header")
    tail = int.from_bytes(b[4:8], "little")
    count = b[8] | (b[9] << 8)
    out: list[bytes] = []
    p = 10
    end = n - 1
    prev_len = 0
    last = -1
    while p < end:
        start = p
        if b[p] < 254:
            plen = b[p]
            p += 1
        elif b[p] == 254:
            if p + 5 > end:
                raise PayloadError("ziplist prevlen")
            plen = int.from_bytes(b[p + 1:p + 5], "little")
            p += 5
        else:
            raise PayloadError("ziplist prevlen")
        if plen != prev_len:
            raise PayloadError("ziplist prevlen")
        if p >= end:
            raise PayloadError("ziplist entry")
        c = b[p]
        kind = c >> 6
        if kind == 0:
            ln = c & 0x3F
            p += 1
            v = b[p:p + ln]
            p += ln
        elif kind == 1:
            if p + 2 > end:
                raise PayloadError("ziplist entry")
            ln = ((c & 0x3F) << 8) | b[p + 1]
            p += 2
            v = b[p:p + ln]
            p += ln
        elif c == 0x80:
            if p + 5 > end:
                raise PayloadError("ziplist entry")
            ln = int.from_bytes(b[p + 1:p + 5], "big")
            p += 5
            v = b[p:p + ln]
            p += ln
        elif kind == 2:
            raise PayloadError("ziplist encoding")
        else:
            if c == 0xC0:
                w = 2
            elif c == 0xD0:
                w = 4
            elif c == 0xE0:
                w = 8
            elif c == 0xF0:
                w = 3
            elif c == 0xFE:
                w = 1
            elif 0xF1 <= c <= 0xFD:
                w = 0
            else:
                raise PayloadError("ziplist encoding")
            if p + 1 + w > end:
                raise PayloadError("ziplist entry")
            iv = c - 0xF1 if w == 0 else int.from_bytes(b[p + 1:p + 1 + w], "little", signed=True)
            v = str(iv).encode()
            p += 1 + w
        if p > end:
            raise PayloadError("ziplist entry")
        prev_len = p - start
        last = start
        out.append(v)
    if p != end or (count != 65535 and count != len(out)):
        raise PayloadError("ziplist count")
    if tail != (last if last >= 0 else 10):
        raise PayloadError("ziplist tail")
    return out


# ---- zipmap / intset -----------------------------------------------------------------
def zipmap_decode(b: bytes) -> list[tuple[bytes, bytes]]:
    """zipmapValidateIntegrity (deep) + the pairs."""
    n = len(b)
    if n < 2 or b[-1] != 0xFF:
        raise PayloadError("zipmap")
    p = 1
    end = n - 1
    pairs: list[tuple[bytes, bytes]] = []

    def length() -> int:
        nonlocal p
        if p >= end:
            raise PayloadError("zipmap")
        c = b[p]
        if c < 254:
            p += 1
            return c
        if c == 254 and p + 5 <= end:
            p += 5
            return int.from_bytes(b[p - 4:p], "little")
        raise PayloadError("zipmap")

    while p < end:
        kl = length()
        if p + kl > end:
            raise PayloadError("zipmap")
        k = b[p:p + kl]
        p += kl
        vl = length()
        if p >= end:
            raise PayloadError("zipmap")
        free = b[p]
        p += 1
        if p + vl + free > end:
            raise PayloadError("zipmap")
        pairs.append((k, b[p:p + vl]))
        p += vl + free
    if b[0] < 254 and b[0] != len(pairs):
        raise PayloadError("zipmap count")
    return pairs


def intset_decode(b: bytes) -> list[bytes]:
    """intsetValidateIntegrity (deep): a known width, the size its count says, ascending."""
    if len(b) < 8:
        raise PayloadError("intset")
    width, count = struct.unpack_from("<II", b)
    if width not in (2, 4, 8) or len(b) != 8 + width * count or count == 0:
        raise PayloadError("intset")
    vals = struct.unpack_from(f"<{count}{'hiq'[(2, 4, 8).index(width)]}", b, 8)
    for i in range(1, count):
        if vals[i] <= vals[i - 1]:
            raise PayloadError("intset order")
    return [str(v).encode() for v in vals]


# ---- RDB values ----------------------------------------------------------------------
def _count(r: _Reader) -> int:
    n, _ = r.length()
    if n == 0:
        raise PayloadError("empty key")
    return n


def _pairs(items: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(items) % 2:
        raise PayloadError("odd pairs")
    return list(zip(items[0::2], items[1::2], strict=True))


def _score(s: bytes) -> float:
    try:
        v = float(s)
    except ValueError as e:
        raise PayloadError("score") from e
    if math.isnan(v):
        raise PayloadError("nan score")
    return v


def _unique(kind: str, keys: list[bytes]) -> None:
    if len(set(keys)) != len(keys):
        raise PayloadError(f"duplicate {kind} members")


def _hash(pairs: list[tuple[bytes, bytes]]) -> Value:
    if not pairs:
        raise PayloadError("empty key")
    _unique("hash", [f for f, _ in pairs])
    return "hash", pairs


def _zset(pairs: list[tuple[bytes, float]]) -> Value:
    if not pairs:
        raise PayloadError("empty key")
    _unique("zset", [m for m, _ in pairs])
    return "zset", sorted((s, m) for m, s in pairs)


def _list_of(elems: list[bytes]) -> Value:
    if not elems:
        raise PayloadError("empty key")
    return "list", elems


def decode_value(p: bytes) -> Value:
    """(kind, contents) of a verified payload: "string" bytes, "list" [bytes], "set"
    [bytes], "hash" [(field, value)], "zset" [(score, member)]."""
    # Like Redis's rio over the whole argument, reads may run into the 10-byte footer: a
    # body cut short by a few bytes loads what those bytes make of it, as in Redis.
    r = _Reader(p, len(p))
    t = r.take(1)[0]
    if t == T_STRING:
        return "string", r.string()
    if t == T_LIST:
        return _list_of([r.string() for _ in range(_count(r))])
    if t == T_SET:
        members = [r.string() for _ in range(_count(r))]
        _unique("set", members)
        return "set", members
    if t in (T_ZSET, T_ZSET_2):
        zpairs: list[tuple[bytes, float]] = []
        for _ in range(_count(r)):
            m = r.string()
            if t == T_ZSET_2:
                s = struct.unpack("<d", r.take(8))[0]
            else:
                ln = r.take(1)[0]
                s = {255: -math.inf, 254: math.inf, 253: math.nan}.get(ln)
                if s is None:
                    s = _score(r.take(ln))
            if math.isnan(s):
                raise PayloadError("nan score")
            zpairs.append((m, s))
        return _zset(zpairs)
    if t == T_HASH:
        pairs: list[tuple[bytes, bytes]] = []
        for _ in range(_count(r)):
            f = r.string()
            pairs.append((f, r.string()))
        return _hash(pairs)
    if t in (T_LIST_QUICKLIST, T_LIST_QUICKLIST_2):
        elems: list[bytes] = []
        for _ in range(_count(r)):
            container = QL_PACKED
            if t == T_LIST_QUICKLIST_2:
                container, _ = r.length()
                if container not in (QL_PACKED, QL_PLAIN):
                    raise PayloadError("quicklist container")
            blob = r.string()
            if not blob:
                raise PayloadError("empty quicklist node")
            if container == QL_PLAIN:
                elems.append(blob)
            else:
                elems += lp_decode(blob) if t == T_LIST_QUICKLIST_2 else zl_decode(blob)
        return _list_of(elems)
    if t in (T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_ZSET_LISTPACK,
             T_HASH_ZIPLIST, T_HASH_LISTPACK):
        blob = r.string()
        if t == T_HASH_ZIPMAP:
            return _hash(zipmap_decode(blob))
        if t == T_LIST_ZIPLIST:
            return _list_of(zl_decode(blob))
        if t == T_SET_INTSET:
            return "set", intset_decode(blob)
        items = zl_decode(blob) if t in (T_ZSET_ZIPLIST, T_HASH_ZIPLIST) else lp_decode(blob)
        if t in (T_HASH_ZIPLIST, T_HASH_LISTPACK):
            return _hash(_pairs(items))
        return _zset([(m, _score(s)) for m, s in _pairs(items)])
    raise PayloadError("unsupported type")  # modules, streams, unknown types
