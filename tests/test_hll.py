"""crdt/hll.py: Redis's HyperLogLog encoding, checked against bytes real Redis 7.0.15 wrote
(captured from `PFADD`/`GET`), and the fast batch path against the opcode-by-opcode one."""
from __future__ import annotations

import hashlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.crdt import hll
from crdtredis.crdt.hll_batch import add_many

# redis-server 7.0.15: PFADD k a b c foo bar; GET k; PFCOUNT k; GET k
REDIS_SMALL = bytes.fromhex("48594c4c0100000000000000000000805cb390443e804621804a8e844bfb80425a")
REDIS_SMALL_CACHED = bytes.fromhex("48594c4c0100000005000000000000005cb390443e804621804a8e844bfb80425a")
# PFADD d x0 ... x4999 (one command): dense; sha256 of GET d, and PFCOUNT d.
REDIS_DENSE_SHA = "fcf4cccaaeea5f93db22b38218ed82e4d5c05c3234c60376f84c46c1af999e2b"


def _add(v: bytearray, elements: list[bytes], max_bytes: int = 3000) -> int:
    r = add_many(v, [hll.pat_len(e) for e in elements], max_bytes)
    if r == 1:
        hll.invalidate(v)
    return r


def test_pfadd_bytes_equal_redis_sparse() -> None:
    v = hll.new_sparse()
    hll.invalidate(v)  # PFADD on a missing key counts the creation as an update
    _add(v, [b"a", b"b", b"c", b"foo", b"bar"])
    assert bytes(v) == REDIS_SMALL
    assert hll.count(v) == 5
    hll.set_cached_card(v, 5)
    assert bytes(v) == REDIS_SMALL_CACHED


def test_pfadd_bytes_equal_redis_dense() -> None:
    v = hll.new_sparse()
    _add(v, [b"x%d" % i for i in range(5000)])
    assert v[4] == hll.DENSE and len(v) == hll.DENSE_SIZE
    assert hashlib.sha256(bytes(v)).hexdigest() == REDIS_DENSE_SHA
    assert hll.count(v) == 4970


def test_value_copied_from_redis_reads_here() -> None:
    assert hll.is_valid(REDIS_SMALL)
    assert hll.count(REDIS_SMALL) == 5
    assert hll.decode(REDIS_SMALL).startswith(b"Z:")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, hll.REGISTERS - 1), st.integers(1, 51)), max_size=60),
                min_size=1, max_size=6),
       st.sampled_from([3000, 60, 200, 100000]))
def test_batch_path_equals_redis_opcode_path(batches: list[list[tuple[int, int]]], max_bytes: int) -> None:
    a = hll.new_sparse()
    b = hll.new_sparse()
    for pairs in batches:
        ua = 0
        for idx, cnt in pairs:
            r = hll.hll_set(a, idx, cnt, max_bytes)
            assert r >= 0
            ua |= r
        ub = add_many(b, pairs, max_bytes)
        assert a == b
        assert bool(ua) == bool(ub)


def test_dense_registers_round_trip() -> None:
    rng = random.Random(3)
    regs = bytes(rng.getrandbits(6) for _ in range(hll.REGISTERS))
    v = hll.pack_dense(b"HYLL" + bytes(12), regs)
    assert hll.dense_registers(v) == regs
    assert all(hll.dense_get(v, i) == regs[i] for i in range(0, hll.REGISTERS, 37))


def test_sparse_to_dense_keeps_registers_and_count() -> None:
    v = hll.new_sparse()
    _add(v, [b"e%d" % i for i in range(300)], 1 << 30)
    assert v[4] == hll.SPARSE
    regs = hll.registers(v)
    c = hll.count(v)
    assert hll.to_dense(v)
    assert hll.registers(v) == regs and hll.count(v) == c


def test_corrupt_sparse_is_detected() -> None:
    v = bytearray(REDIS_SMALL)
    v[20] = 0x7F  # an XZERO that runs past the 16384 registers
    assert hll.count(v) is None
    assert hll.sparse_registers(v) is None
    assert not hll.to_dense(bytearray(v))


def test_selftest_passes() -> None:
    assert hll.selftest(3000, random.Random(1)) is None
