"""Record framing shared by segments and base snapshots: `length | crc32 | payload`.

Bytes in, bytes out; no files. `scan` classifies every way a buffer can end: clean, a
torn tail (a crash mid-write: truncate it), or corruption (a bad record followed by valid
ones: never guess, refuse and say where).
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import NamedTuple

HEADER = struct.Struct("<II")  # payload length, crc32(payload)
HEADER_SIZE = HEADER.size
# Larger than any legitimate record (an op carries at most proto-max-bulk-len of values per
# argument, and snapshots split big values); a bigger length field is damage, not data.
MAX_RECORD = 1 << 31
# How far past a bad record we look for a valid one before calling it a torn tail.
RESYNC_SCAN_LIMIT = 64 << 20

SEG_MAGIC = b"CRDTSEG1"
BASE_MAGIC = b"CRDTBAS1"
MAGIC_SIZE = 8

_crc = zlib.crc32
_pack = HEADER.pack


def frame(payload: bytes) -> bytes:
    return _pack(len(payload), _crc(payload)) + payload


class Bad(NamedTuple):
    offset: int
    reason: str
    tail: bool  # True: nothing valid follows (torn write); False: corruption mid-file


def _record_at(buf: bytes | memoryview, pos: int) -> int | None:
    """End offset of a valid record starting at pos, or None."""
    n = len(buf)
    if pos + HEADER_SIZE > n:
        return None
    length, crc = HEADER.unpack_from(buf, pos)
    if length == 0 or length > MAX_RECORD:
        return None
    end = pos + HEADER_SIZE + length
    if end > n:
        return None
    if _crc(buf[pos + HEADER_SIZE:end]) != crc:
        return None
    return end


def scan(buf: bytes | memoryview, start: int) -> tuple[list[tuple[int, bytes]], Bad | None]:
    """Records (offset, payload) from `start` until the end or the first bad record."""
    out: list[tuple[int, bytes]] = []
    bad = None
    pos = start
    n = len(buf)
    mv = memoryview(buf)
    while pos < n:
        end = _record_at(mv, pos)
        if end is None:
            bad = classify(mv, pos)
            break
        out.append((pos, bytes(mv[pos + HEADER_SIZE:end])))
        pos = end
    return out, bad


def iter_records(buf: bytes | memoryview, start: int) -> Iterator[tuple[int, bytes]]:
    """Like scan but lazy; stops silently at the first bad record (use scan to know why)."""
    mv = memoryview(buf)
    pos = start
    n = len(mv)
    while pos < n:
        end = _record_at(mv, pos)
        if end is None:
            return
        yield pos, bytes(mv[pos + HEADER_SIZE:end])
        pos = end


def classify(buf: bytes | memoryview, pos: int) -> Bad:
    n = len(buf)
    rest = bytes(buf[pos:])
    if not rest.strip(b"\x00"):
        return Bad(pos, "zero-filled tail", True)
    reason = _reason(buf, pos)
    limit = min(n, pos + RESYNC_SCAN_LIMIT)
    for q in range(pos + 1, limit - HEADER_SIZE + 1):
        if _record_at(buf, q) is not None:
            return Bad(pos, reason + f"; a valid record follows at offset {q}", False)
    return Bad(pos, reason, True)


def _reason(buf: bytes | memoryview, pos: int) -> str:
    n = len(buf)
    if pos + HEADER_SIZE > n:
        return f"truncated record header ({n - pos} of {HEADER_SIZE} bytes)"
    length, _crc_v = HEADER.unpack_from(buf, pos)
    if length == 0 or length > MAX_RECORD:
        return f"invalid record length {length}"
    if pos + HEADER_SIZE + length > n:
        return f"truncated record: length {length}, only {n - pos - HEADER_SIZE} bytes present"
    return "checksum mismatch"
