"""Segment/base record framing: every way a buffer can be damaged is detected and
classified (torn tail vs corruption), never a crash or a wrong record."""
from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.storage.framing import HEADER_SIZE, MAGIC_SIZE, SEG_MAGIC, frame, scan

PAYLOADS = [b"\x08\x01first", b"\x08\x01" + b"x" * 300, b"\x08\x01third"]


def _buf() -> bytes:
    return SEG_MAGIC + b"".join(frame(p) for p in PAYLOADS)


def test_scan_clean_buffer_returns_every_record() -> None:
    recs, bad = scan(_buf(), MAGIC_SIZE)
    assert bad is None
    assert [p for _o, p in recs] == PAYLOADS


def test_every_truncation_point_is_a_torn_tail_with_only_whole_records() -> None:
    full = _buf()
    ends = [MAGIC_SIZE]
    for p in PAYLOADS:
        ends.append(ends[-1] + HEADER_SIZE + len(p))
    for cut in range(MAGIC_SIZE, len(full)):
        recs, bad = scan(full[:cut], MAGIC_SIZE)
        whole = sum(1 for e in ends[1:] if e <= cut)
        assert [p for _o, p in recs] == PAYLOADS[:whole]
        if cut in ends:
            assert bad is None
        else:
            assert bad is not None and bad.tail, (cut, bad)
            assert bad.offset == ends[whole]


def test_flipped_bit_in_last_record_is_a_tail_and_in_middle_is_corruption() -> None:
    full = bytearray(_buf())
    last_start = len(full) - HEADER_SIZE - len(PAYLOADS[-1])
    for pos in range(MAGIC_SIZE, len(full)):
        for bit in (0, 7):
            damaged = bytearray(full)
            damaged[pos] ^= 1 << bit
            recs, bad = scan(bytes(damaged), MAGIC_SIZE)
            assert bad is not None, pos
            # No record is ever returned with a wrong payload.
            assert all(p in PAYLOADS for _o, p in recs)
            if pos >= last_start:
                assert bad.tail, (pos, bad)
            else:
                # A valid record follows the damaged one: never a silent truncation...
                # unless the damage made the length swallow everything after it.
                assert not bad.tail or bad.offset < last_start


def test_zero_filled_tail_is_a_torn_tail() -> None:
    full = _buf() + b"\x00" * 4096
    recs, bad = scan(full, MAGIC_SIZE)
    assert len(recs) == 3
    assert bad is not None and bad.tail and "zero" in bad.reason


def test_oversized_length_field_is_detected_without_allocation() -> None:
    full = _buf() + struct.pack("<II", 0xFFFFFFFF, 0) + b"abc"
    recs, bad = scan(full, MAGIC_SIZE)
    assert len(recs) == 3
    assert bad is not None and bad.tail and "length" in bad.reason


def test_corruption_followed_by_valid_records_is_not_a_tail() -> None:
    recs_bytes = [frame(p) for p in PAYLOADS]
    damaged = bytearray(recs_bytes[0])
    damaged[-1] ^= 0xFF
    buf = SEG_MAGIC + bytes(damaged) + recs_bytes[1] + recs_bytes[2]
    recs, bad = scan(buf, MAGIC_SIZE)
    assert recs == []
    assert bad is not None and not bad.tail and "checksum" in bad.reason


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=8), st.data())
def test_random_damage_never_yields_a_wrong_record(payloads: list[bytes], data: st.DataObject) -> None:
    buf = bytearray(SEG_MAGIC + b"".join(frame(p) for p in payloads))
    n = data.draw(st.integers(1, 4))
    for _ in range(n):
        pos = data.draw(st.integers(MAGIC_SIZE, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(MAGIC_SIZE, len(buf)))
    recs, _bad = scan(bytes(buf[:cut]), MAGIC_SIZE)
    # Records come out in order and each equals the payload written at that position,
    # unless the damage produced another valid crc (2^-32): treat only the prefix.
    for (_off, got), want in zip(recs, payloads, strict=False):
        assert got == want
