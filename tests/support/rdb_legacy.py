"""Builders of the RDB encodings Redis 7.0 still loads but no longer writes (ziplists,
zipmaps), for the DUMP/RESTORE tests: payloads in these encodings come from Redis <= 6.2."""
from __future__ import annotations

import struct


def ziplist(vals: list[bytes]) -> bytes:
    """A ziplist as Redis <= 6.2 wrote it (strings and integers)."""
    ents: list[bytes] = []
    prev = 0
    offsets: list[int] = []
    off = 10
    for v in vals:
        pl = bytes((prev,)) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")
        iv = int(v) if v.lstrip(b"-").isdigit() and str(int(v)).encode() == v else None
        if iv is not None and 0 <= iv <= 12:
            body = bytes((0xF1 + iv,))
        elif iv is not None and -128 <= iv < 128:
            body = b"\xfe" + struct.pack("<b", iv)
        elif iv is not None and -(1 << 15) <= iv < 1 << 15:
            body = b"\xc0" + struct.pack("<h", iv)
        elif iv is not None and -(1 << 23) <= iv < 1 << 23:
            body = b"\xf0" + (iv & 0xFFFFFF).to_bytes(3, "little")
        elif iv is not None and -(1 << 31) <= iv < 1 << 31:
            body = b"\xd0" + struct.pack("<i", iv)
        elif iv is not None:
            body = b"\xe0" + struct.pack("<q", iv)
        elif len(v) < 64:
            body = bytes((len(v),)) + v
        elif len(v) < 16384:
            body = bytes((0x40 | (len(v) >> 8), len(v) & 0xFF)) + v
        else:
            body = b"\x80" + len(v).to_bytes(4, "big") + v
        e = pl + body
        offsets.append(off)
        off += len(e)
        prev = len(e)
        ents.append(e)
    data = b"".join(ents)
    tail = offsets[-1] if offsets else 10
    total = 10 + len(data) + 1
    return struct.pack("<IIH", total, tail, min(len(vals), 65535)) + data + b"\xff"


def zipmap(pairs: list[tuple[bytes, bytes]]) -> bytes:
    out = bytes((len(pairs),))
    for k, v in pairs:
        out += bytes((len(k),)) + k + bytes((len(v),)) + b"\x00" + v
    return out + b"\xff"
