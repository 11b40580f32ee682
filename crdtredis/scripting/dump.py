"""FUNCTION DUMP / RESTORE payloads, in Redis 7.0's format (functions.c, rdb.c).

A payload is, per library, the opcode RDB_OPCODE_FUNCTION2 (245) and the library code as
an RDB string; then the RDB version (2 bytes, little endian) and the CRC64 (Jones, as
Redis's crc64.c) of everything before it, little endian. Payloads from real Redis load
here (LZF-compressed and integer-encoded RDB strings are read), and ours load in Redis.
"""
from __future__ import annotations

import struct

RDB_VERSION = 10
OPCODE_FUNCTION2 = 245
OPCODE_FUNCTION = 246  # 7.0 release candidates: name, engine, description, code

_POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9, reflected


def _table() -> list[int]:
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t.append(c)
    return t


_CRC_TABLE = _table()


def crc64(data: bytes, crc: int = 0) -> int:
    t = _CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


class PayloadError(Exception):
    pass


def _len_bytes(n: int) -> bytes:
    if n < 1 << 6:
        return bytes((n,))
    if n < 1 << 14:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def rdb_string(s: bytes) -> bytes:
    return _len_bytes(len(s)) + s


def build_payload(codes: list[bytes]) -> bytes:
    body = b"".join(bytes((OPCODE_FUNCTION2,)) + rdb_string(c) for c in codes)
    body += RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def verify_payload(p: bytes) -> bool:
    """verifyDumpPayload: a version we can read and a matching checksum."""
    if len(p) < 10:
        return False
    ver = p[-10] | (p[-9] << 8)
    if ver > RDB_VERSION:
        return False
    return crc64(p[:-8]).to_bytes(8, "little") == p[-8:]


class _Reader:
    def __init__(self, data: bytes, end: int) -> None:
        self.d = data
        self.p = 0
        self.end = end

    def take(self, n: int) -> bytes:
        if n < 0 or self.p + n > self.end:
            raise PayloadError("short read")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def length(self) -> tuple[int, bool]:
        """(length or special type, is_encoded)."""
        b = self.take(1)[0]
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.take(1)[0], False
        if kind == 2:
            if b == 0x80:
                return int.from_bytes(self.take(4), "big"), False
            if b == 0x81:
                return int.from_bytes(self.take(8), "big"), False
            raise PayloadError("bad length")
        return b & 0x3F, True

    def string(self) -> bytes:
        n, enc = self.length()
        if not enc:
            return self.take(n)
        if n == 0:
            return str(struct.unpack("<b", self.take(1))[0]).encode()
        if n == 1:
            return str(struct.unpack("<h", self.take(2))[0]).encode()
        if n == 2:
            return str(struct.unpack("<i", self.take(4))[0]).encode()
        if n == 3:
            clen, _ = self.length()
            ulen, _ = self.length()
            return lzf_decompress(self.take(clen), ulen)
        raise PayloadError("unknown string encoding")


def parse_payload(p: bytes) -> list[bytes]:
    """The libraries' code, in payload order (after verify_payload)."""
    r = _Reader(p, len(p) - 10)
    codes = []
    while r.p < r.end:
        try:
            op = r.take(1)[0]
        except PayloadError as e:
            raise PayloadError("can not read data type") from e
        if op not in (OPCODE_FUNCTION, OPCODE_FUNCTION2):
            raise PayloadError("given type is not a function")
        try:
            if op == OPCODE_FUNCTION2:
                codes.append(r.string())
            else:
                name = r.string()
                engine = r.string()
                has_desc, _ = r.length()
                if has_desc:
                    r.string()
                blob = r.string()
                codes.append(b"#!" + engine + b" name=" + name + b"\n" + blob)
        except PayloadError as e:
            raise PayloadError("failed loading the given functions payload") from e
    return codes


def lzf_decompress(src: bytes, out_len: int) -> bytes:
    out = bytearray()
    i = 0
    n = len(src)
    while i < n:
        ctrl = src[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise PayloadError("bad LZF data")
            out += src[i:i + run]
            i += run
            if len(out) > out_len:
                raise PayloadError("bad LZF length")
        else:
            length = ctrl >> 5
            if length == 7:
                if i >= n:
                    raise PayloadError("bad LZF data")
                length += src[i]
                i += 1
            if i >= n:
                raise PayloadError("bad LZF data")
            ref = len(out) - ((ctrl & 0x1F) << 8) - src[i] - 1
            i += 1
            if ref < 0:
                raise PayloadError("bad LZF data")
            n_copy = length + 2
            if len(out) + n_copy > out_len:
                raise PayloadError("bad LZF length")  # more than announced: stop early
            dist = len(out) - ref
            if dist >= n_copy:
                out += out[ref:ref + n_copy]
            else:  # the copy overlaps what it writes: the last `dist` bytes, repeated
                pat = out[ref:]
                out += (pat * (n_copy // dist + 1))[:n_copy]
    if len(out) != out_len:
        raise PayloadError("bad LZF length")
    return bytes(out)
