"""DUMP payloads of keys, in the bytes Redis 7.0 produces (rdb.c, listpack.c, intset.c, lzf_c.c).

A payload is the RDB type byte, the RDB-encoded value, the RDB version (2 bytes, little
endian) and the CRC64 of everything before it (framing shared with FUNCTION DUMP:
scripting/dump.py). Values take the encoding a 7.0 server would have for them, so that a
payload of a small hash is a listpack, of a small integer set an intset, of a list a
quicklist of listpacks; each RDB string goes through rdbSaveRawString's choices (integer
encoding for short decimal strings, LZF for strings over 20 bytes when it saves 4 bytes),
with LZF output byte-identical to Redis's compressor. Orders Redis takes from a hash table
(big sets and hashes) are ours, which is no difference a loader can see.
"""
from __future__ import annotations

import struct
import zlib

from .scripting.dump import RDB_VERSION, _len_bytes, crc64

# RDB types (rdb.h).
T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_ZSET_2 = 0, 1, 2, 3, 4, 5
T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST = 9, 10, 11, 12, 13
T_LIST_QUICKLIST, T_STREAM, T_HASH_LISTPACK, T_ZSET_LISTPACK, T_LIST_QUICKLIST_2 = 14, 15, 16, 17, 18
T_STREAM_2 = 19

QL_PLAIN, QL_PACKED = 1, 2  # quicklist node containers
LLONG_MIN, LLONG_MAX = -(1 << 63), (1 << 63) - 1


# ---- LZF (lzf_c.c as Redis builds it: HLOG 16, VERY_FAST, no ULTRA_FAST) -----------------
_HSIZE_MASK = (1 << 16) - 1
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """lzf_compress into at most `out_len` bytes; None when the output would not fit.
    A port statement by statement, so the choices of matches (and the bytes) are Redis's;
    the hash table starts empty where C's is uninitialized stack, which only ever adds
    matches a zeroed table finds too after validation."""
    n = len(data)
    if not n or not out_len:
        return None
    htab: dict[int, int] = {}
    out = bytearray(out_len + 8)
    ip = 0
    op = 1  # start run
    lit = 0
    in_end = n
    hval = (data[0] << 8) | data[1] if n >= 2 else 0
    while ip < in_end - 2:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = ((hval >> 8) - hval * 5) & _HSIZE_MASK
        ref = htab.get(slot, -1)
        htab[slot] = ip
        if (ref >= 0 and ref < ip and ip - ref - 1 < _MAX_OFF and ref > 0
                and data[ref + 2] == data[ip + 2] and data[ref] == data[ip] and data[ref + 1] == data[ip + 1]):
            off = ip - ref - 1
            ln = 2
            maxlen = in_end - ip - ln
            if maxlen > _MAX_REF:
                maxlen = _MAX_REF
            if op + 3 + 1 >= out_len and op - (not lit) + 3 + 1 >= out_len:
                return None
            out[op - lit - 1] = lit - 1 & 0xFF  # stop run
            op -= not lit  # undo run if length is zero
            broke = False
            if maxlen > 16:
                for _ in range(16):
                    ln += 1
                    if data[ref + ln] != data[ip + ln]:
                        broke = True
                        break
            if not broke:
                while True:
                    ln += 1
                    if not (ln < maxlen and data[ref + ln] == data[ip + ln]):
                        break
            ln -= 2  # #octets - 1
            ip += 1
            if ln < 7:
                out[op] = (off >> 8) + (ln << 5)
                op += 1
            else:
                out[op] = (off >> 8) + (7 << 5)
                out[op + 1] = ln - 7
                op += 2
            out[op] = off & 0xFF
            op += 2  # and start a run
            lit = 0
            ip += ln + 1
            if ip >= in_end - 2:
                break
            ip -= 2
            hval = (data[ip] << 8) | data[ip + 1]
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
            htab[((hval >> 8) - hval * 5) & _HSIZE_MASK] = ip
            ip += 1
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
            htab[((hval >> 8) - hval * 5) & _HSIZE_MASK] = ip
            ip += 1
        else:
            if op >= out_len:
                return None
            lit += 1
            out[op] = data[ip]
            op += 1
            ip += 1
            if lit == _MAX_LIT:
                out[op - lit - 1] = lit - 1
                lit = 0
                op += 1
    if op + 3 > out_len:
        return None
    while ip < in_end:
        lit += 1
        out[op] = data[ip]
        op += 1
        ip += 1
        if lit == _MAX_LIT:
            out[op - lit - 1] = lit - 1
            lit = 0
            op += 1
    out[op - lit - 1] = lit - 1 & 0xFF
    op -= not lit
    return bytes(out[:op])


# ---- RDB strings ---------------------------------------------------------------------
def _canonical_int(s: bytes) -> int | None:
    """string2ll + ll2string round trip: the integer whose decimal text is exactly `s`."""
    if not s or len(s) > 20:
        return None
    try:
        v = int(s)
    except ValueError:
        return None
    if str(v).encode() != s or not LLONG_MIN <= v <= LLONG_MAX:
        return None
    return v


def _encode_int(v: int) -> bytes | None:
    if -(1 << 7) <= v < 1 << 7:
        return b"\xc0" + struct.pack("<b", v)
    if -(1 << 15) <= v < 1 << 15:
        return b"\xc1" + struct.pack("<h", v)
    if -(1 << 31) <= v < 1 << 31:
        return b"\xc2" + struct.pack("<i", v)
    return None


# Past this size a string is first tried with zlib (C, fast): when even deflate saves under
# 1%, LZF (weaker, and a Python loop here at ~2 s per MB) cannot save the 1/32 its literal
# runs cost, so it is not run and the string goes out plain, as Redis's failed attempt would.
_LZF_PROBE = 4096


def rdb_raw_string(s: bytes, compress: bool = True) -> bytes:
    """rdbSaveRawString."""
    n = len(s)
    if n <= 11:
        v = _canonical_int(s)
        if v is not None:
            enc = _encode_int(v)
            if enc is not None:
                return enc
    if compress and n > 20 and (n <= _LZF_PROBE or len(zlib.compress(s, 1)) < n - n // 100):
        c = lzf_compress(s, n - 4)
        if c is not None:
            return b"\xc3" + _len_bytes(len(c)) + _len_bytes(n) + c
    return _len_bytes(n) + s


# ---- listpack / intset ---------------------------------------------------------------
def _lp_backlen(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                  (n & 127) | 128))


def _lp_int_entry(v: int) -> bytes:
    if 0 <= v <= 127:
        enc = bytes((v,))
    elif -4096 <= v <= 4095:
        u = v & 0x1FFF
        enc = bytes((0xC0 | (u >> 8), u & 0xFF))
    elif -(1 << 15) <= v < 1 << 15:
        enc = b"\xf1" + struct.pack("<h", v)
    elif -(1 << 23) <= v < 1 << 23:
        enc = b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little")
    elif -(1 << 31) <= v < 1 << 31:
        enc = b"\xf3" + struct.pack("<i", v)
    else:
        enc = b"\xf4" + struct.pack("<q", v)
    return enc + _lp_backlen(len(enc))


# Small integers are most of the integer elements there are: their entries, ready made.
_LP_SMALL = {str(i).encode(): _lp_int_entry(i) for i in range(-4096, 4096)}
_NUM_START = frozenset(b"-0123456789")


def lp_entry(s: bytes) -> bytes:
    """One listpack entry (encoding, data, backlen) for element `s`, as lpInsertString
    encodes it: integers when `s` is a canonical 64-bit decimal, else a string."""
    n = len(s)
    if n and n <= 20 and s[0] in _NUM_START:
        e = _LP_SMALL.get(s)
        if e is not None:
            return e
        v = _canonical_int(s)
        if v is not None:
            return _lp_int_entry(v)
    if n < 64:
        return bytes((0x80 | n,)) + s + bytes((n + 1,))
    if n < 4096:
        enc = bytes((0xE0 | (n >> 8), n & 0xFF)) + s
    else:
        enc = b"\xf0" + n.to_bytes(4, "little") + s
    return enc + _lp_backlen(len(enc))


def listpack(entries: list[bytes], count: int) -> bytes:
    """A listpack of already encoded `entries` (lp_entry) holding `count` elements."""
    body = b"".join(entries)
    total = 6 + len(body) + 1
    return total.to_bytes(4, "little") + min(count, 65535).to_bytes(2, "little") + body + b"\xff"


def intset(values: list[int]) -> bytes:
    vs = sorted(values)
    lo, hi = (vs[0], vs[-1]) if vs else (0, 0)
    if -(1 << 15) <= lo and hi < 1 << 15:
        width, fmt = 2, "h"
    elif -(1 << 31) <= lo and hi < 1 << 31:
        width, fmt = 4, "i"
    else:
        width, fmt = 8, "q"
    return struct.pack(f"<II{len(vs)}{fmt}", width, len(vs), *vs)


# ---- values --------------------------------------------------------------------------
def zscore_entry(v: float) -> bytes:
    """A score as zzlInsertAt stores it: an integer when double2ll takes it, else d2string's
    "%.17g" text (or inf/-inf)."""
    half = float(LLONG_MAX // 2)
    if -half <= v <= half and v == int(v):
        return lp_entry(str(int(v)).encode())
    if v in (float("inf"), float("-inf")):
        return lp_entry(b"inf" if v > 0 else b"-inf")
    return lp_entry(b"%.17g" % v)


def _ql_limit(fill: int) -> tuple[int, int]:
    """(size limit in bytes, count limit) of a quicklist node for list-max-listpack-size."""
    if fill >= 0:
        return 8192, max(fill, 1)  # count-limited nodes, with Redis's 8 kB safety limit
    return (4096, 8192, 16384, 32768, 65536)[min(-fill - 1, 4)], 0


def quicklist_nodes(values: list[bytes], fill: int = -2) -> list[list[bytes]]:
    """The nodes RPUSH would fill (_quicklistNodeAllowInsert of 7.0.15): an element joins
    the tail node while the node's size plus the element's length plus 8 stays within the
    limit."""
    limit, count_limit = _ql_limit(fill)
    if count_limit:
        limit = 8192
    ents = list(map(lp_entry, values))
    nodes: list[list[bytes]] = []
    start = 0
    sz = 7
    for i, v in enumerate(values):
        if i > start and (sz + len(v) + 8 > limit or (count_limit and i - start >= count_limit)):
            nodes.append(ents[start:i])
            start, sz = i, 7
        sz += len(ents[i])
    if ents:
        nodes.append(ents[start:])
    return nodes


def encode_value(kind: str, encoding: bytes, data: object, compress: bool = True, fill: int = -2) -> bytes:
    """Type byte + RDB value (rdbSaveObjectType + rdbSaveObject) of a value of `kind`
    ("string" bytes, "list" [bytes], "set" [bytes], "hash" [(field, value)], "zset"
    [(score, member)] ascending) held in `encoding` (what OBJECT ENCODING shows)."""
    raw = rdb_raw_string
    if kind == "string":
        assert isinstance(data, bytes)
        return bytes((T_STRING,)) + raw(data, compress)
    if kind == "list":
        assert isinstance(data, list)
        nodes = quicklist_nodes(data, fill)
        out = [bytes((T_LIST_QUICKLIST_2,)), _len_bytes(len(nodes))]
        for node in nodes:
            out.append(_len_bytes(QL_PACKED))
            out.append(raw(listpack(node, len(node)), compress))
        return b"".join(out)
    if kind == "set":
        assert isinstance(data, list)
        ints = [v for m in data if (v := _canonical_int(m)) is not None] if encoding == b"intset" else []
        if ints and len(ints) == len(data):
            return bytes((T_SET_INTSET,)) + raw(intset(ints), compress)
        out = [bytes((T_SET,)), _len_bytes(len(data))]
        out += [raw(m, compress) for m in data]
        return b"".join(out)
    if kind == "hash":
        assert isinstance(data, list)
        if encoding == b"listpack":
            ents = [lp_entry(x) for fv in data for x in fv]
            return bytes((T_HASH_LISTPACK,)) + raw(listpack(ents, 2 * len(data)), compress)
        out = [bytes((T_HASH,)), _len_bytes(len(data))]
        for f, v in data:
            out.append(raw(f, compress))
            out.append(raw(v, compress))
        return b"".join(out)
    if kind == "zset":
        assert isinstance(data, list)  # (score, member), ascending
        if encoding == b"listpack":
            ents = []
            for s, m in data:
                ents.append(lp_entry(m))
                ents.append(zscore_entry(s))
            return bytes((T_ZSET_LISTPACK,)) + raw(listpack(ents, 2 * len(data)), compress)
        # The skiplist goes out from the greatest element down (rdbSaveObject), so a loader
        # inserts each at the head.
        out = [bytes((T_ZSET_2,)), _len_bytes(len(data))]
        for s, m in reversed(data):
            out.append(raw(m, compress))
            out.append(struct.pack("<d", s))
        return b"".join(out)
    raise ValueError(kind)


def build_dump(body: bytes) -> bytes:
    """createDumpPayload's footer: RDB version and CRC64, both little endian."""
    body += RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")
