"""DUMP payload encoder/decoder (crdtredis/rdb_encode.py, rdb_decode.py) and DUMP/RESTORE
through a node in-process: round trips of every type and encoding, the encodings Redis 7.0
only loads (ziplist, quicklist 1, zipmap, plain lists, string-scored zsets), bytes captured
from a real redis-server 7.0.15, and hostile payloads (truncated, bad CRC, huge lengths,
corrupted structures), which must fail cleanly and never hang."""
from __future__ import annotations

import dataclasses
import random
import struct
from typing import Any

import pytest

from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.rdb_decode import decode_value, intset_decode, lp_decode, zipmap_decode, zl_decode
from crdtredis.rdb_encode import (
    build_dump,
    encode_value,
    intset,
    listpack,
    lp_entry,
    lzf_compress,
    quicklist_nodes,
    rdb_raw_string,
)
from crdtredis.reply import OK, ErrorReply, Map, SetReply
from crdtredis.scripting.dump import PayloadError, _len_bytes, lzf_decompress, verify_payload
from tests.support.rdb_legacy import ziplist, zipmap
from tests.test_cmd_keys import Pair

# Captured from redis-server 7.0.15 (DUMP): an LZF-compressed string, and a list.
REDIS_LZ = bytes.fromhex(
    "00c32940b40361626361e01702052d68656c6c6fe00905e018382020e009358011201ae018028029e00705016c6f"
    "0a00dfc42d41e2c3e63f")
REDIS_LZ_VALUE = b"abcabcabcabcabcabcabcabcabcabcabcabc-hello-hello-hello-hello" * 3
REDIS_LIST = bytes.fromhex(
    "120102c325371d3700000005008161028162020a01d06002a368656c6c6f20776f726c6420e00e0b0124ff0a00"
    "23e9db94c33dbf38")
REDIS_LIST_VALUE = [b"a", b"b", b"10", b"-4000", b"hello world hello world hello world"]


def payload(body: bytes) -> bytes:
    return build_dump(body)


def roundtrip(kind: str, enc: bytes, data: Any) -> tuple[str, Any]:
    p = payload(encode_value(kind, enc, data))
    assert verify_payload(p)
    return decode_value(p)


# ---- bytes as Redis makes them -------------------------------------------------------------
def test_dump_string_lzf_is_byte_identical_to_redis() -> None:
    assert payload(encode_value("string", b"", REDIS_LZ_VALUE)) == REDIS_LZ
    assert decode_value(REDIS_LZ) == ("string", REDIS_LZ_VALUE)


def test_dump_list_quicklist2_is_byte_identical_to_redis() -> None:
    assert payload(encode_value("list", b"quicklist", REDIS_LIST_VALUE)) == REDIS_LIST
    assert decode_value(REDIS_LIST) == ("list", REDIS_LIST_VALUE)


def test_rdb_raw_string_integer_encodings() -> None:
    assert rdb_raw_string(b"12") == b"\xc0\x0c"
    assert rdb_raw_string(b"-129") == b"\xc1" + struct.pack("<h", -129)
    assert rdb_raw_string(b"100000") == b"\xc2" + struct.pack("<i", 100000)
    assert rdb_raw_string(b"99999999999") == b"\x0b99999999999"  # past int32: plain
    assert rdb_raw_string(b"0123") == b"\x040123"  # not canonical: plain
    assert rdb_raw_string(b"+1") == b"\x02+1"
    assert rdb_raw_string(b"a" * 21)[:1] == b"\xc3"  # compressible, over 20 bytes
    assert rdb_raw_string(b"a" * 21, compress=False) == b"\x15" + b"a" * 21


def test_lzf_round_trip_random_and_repetitive() -> None:
    rnd = random.Random(7)
    for n in (3, 5, 21, 100, 5000, 70000):
        for data in (bytes(rnd.randrange(256) for _ in range(n)), bytes(rnd.choice(b"ab") for _ in range(n)),
                     b"x" * n):
            c = lzf_compress(data, len(data) + len(data) // 32 + 64)
            assert c is not None
            assert lzf_decompress(c, len(data)) == data
    assert lzf_compress(bytes(range(256)), 100) is None  # incompressible: does not fit


def test_listpack_entries_of_every_encoding_round_trip() -> None:
    vals = [b"0", b"127", b"128", b"-1", b"-4096", b"4095", b"4096", b"-32768", b"32767", b"32768",
            b"-8388608", b"8388607", b"8388608", b"2147483647", b"2147483648", b"-9223372036854775808",
            b"9223372036854775807", b"9223372036854775808", b"", b"x" * 63, b"y" * 64, b"z" * 4095,
            b"w" * 4096, b"007", b"-0", b"1.5"]
    lp = listpack([lp_entry(v) for v in vals], len(vals))
    assert lp_decode(lp) == vals
    assert lp_entry(b"5") == b"\x05\x01"
    assert lp_entry(b"-1")[:1] == b"\xdf"  # 13-bit int


def test_intset_widths_round_trip() -> None:
    for vals in ([1, 2, 3], [-40000, 5], [1, 1 << 40], [-(1 << 63), (1 << 63) - 1]):
        b = intset(vals)
        assert intset_decode(b) == [str(v).encode() for v in sorted(vals)]
    assert struct.unpack_from("<I", intset([1, 70000]))[0] == 4


def test_quicklist_nodes_split_at_8kb() -> None:
    vals = [b"v" * 100] * 200
    nodes = quicklist_nodes(vals)
    assert len(nodes) > 1 and sum(map(len, nodes)) == 200
    assert all(len(listpack(n, len(n))) <= 8192 for n in nodes)
    assert [len(n) for n in quicklist_nodes([b"x"] * 10, fill=3)] == [3, 3, 3, 1]


@pytest.mark.parametrize("kind,enc,data", [
    ("string", b"", b"hello"), ("string", b"", b""), ("string", b"", b"-17"), ("string", b"", b"q" * 10000),
    ("list", b"quicklist", [b"a", b"1", b"x" * 300]), ("list", b"quicklist", [str(i).encode() * 9 for i in range(5000)]),
    ("set", b"intset", [b"1", b"-5", b"99999999999"]), ("set", b"hashtable", [b"a", b"b", b"1"]),
    ("hash", b"listpack", [(b"f", b"v"), (b"n", b"12")]), ("hash", b"hashtable", [(b"f%d" % i, b"v") for i in range(600)]),
    ("zset", b"listpack", [(-1.5, b"a"), (0.0, b"z"), (3.0, b"b"), (1e300, b"c"), (float("inf"), b"d")]),
    ("zset", b"skiplist", [(float(i) / 3, b"m%d" % i) for i in range(200)]),
])
def test_encode_decode_round_trip(kind: str, enc: bytes, data: Any) -> None:
    got_kind, got = roundtrip(kind, enc, data)
    assert got_kind == kind
    if kind == "set":
        assert sorted(got) == sorted(data)
    else:
        assert got == data


# ---- encodings only a loader meets -----------------------------------------------------
ZL_VALS = [b"a", b"0", b"12", b"13", b"-100", b"1000", b"-70000", b"100000", b"3000000000", b"x" * 100, b"y" * 20000]


def test_ziplist_decodes_every_encoding() -> None:
    assert zl_decode(ziplist(ZL_VALS)) == ZL_VALS


@pytest.mark.parametrize("rtype,wrap,want", [
    (10, lambda: rdb_raw_string(ziplist(ZL_VALS)), ("list", ZL_VALS)),
    (14, lambda: _len_bytes(2) + rdb_raw_string(ziplist(ZL_VALS[:3])) + rdb_raw_string(ziplist(ZL_VALS[3:])),
     ("list", ZL_VALS)),
    (13, lambda: rdb_raw_string(ziplist([b"f", b"1", b"g", b"v"])), ("hash", [(b"f", b"1"), (b"g", b"v")])),
    (12, lambda: rdb_raw_string(ziplist([b"a", b"1", b"b", b"2.5"])), ("zset", [(1.0, b"a"), (2.5, b"b")])),
    (9, lambda: rdb_raw_string(zipmap([(b"f", b"v"), (b"k", b"")])), ("hash", [(b"f", b"v"), (b"k", b"")])),
    (1, lambda: _len_bytes(2) + rdb_raw_string(b"a") + rdb_raw_string(b"7"), ("list", [b"a", b"7"])),
    (3, lambda: _len_bytes(2) + rdb_raw_string(b"a") + b"\x031.5" + rdb_raw_string(b"b") + b"\xfe",
     ("zset", [(1.5, b"a"), (float("inf"), b"b")])),
    (18, lambda: _len_bytes(1) + _len_bytes(1) + rdb_raw_string(b"plain node"), ("list", [b"plain node"])),
])
def test_legacy_encodings_load(rtype: int, wrap: Any, want: tuple[str, Any]) -> None:
    got = decode_value(payload(bytes((rtype,)) + wrap()))
    assert got == want


def test_zipmap_pairs() -> None:
    assert zipmap_decode(zipmap([(b"a", b"b")])) == [(b"a", b"b")]


# ---- hostile payloads ----------------------------------------------------------------------
def _fails(body: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_value(payload(body))


def test_footer_checks() -> None:
    p = payload(encode_value("string", b"", b"x"))
    assert verify_payload(p)
    assert not verify_payload(p[:-1] + bytes((p[-1] ^ 1,)))  # CRC
    assert not verify_payload(p[:-10] + (11).to_bytes(2, "little") + p[-8:])  # newer RDB version
    assert not verify_payload(b"short")


def test_truncated_payloads_fail_cleanly() -> None:
    bodies = [encode_value(k, e, d) for k, e, d in [
        ("string", b"", b"z" * 100), ("list", b"quicklist", [b"a", b"bb", b"ccc" * 30]),
        ("set", b"intset", [b"1", b"2"]), ("set", b"hashtable", [b"a", b"b"]),
        ("hash", b"listpack", [(b"f", b"v")]), ("hash", b"hashtable", [(b"f", b"v")]),
        ("zset", b"listpack", [(1.0, b"a")]), ("zset", b"skiplist", [(1.0, b"a"), (2.0, b"b")]),
    ]]
    for body in bodies:
        for cut in range(len(body)):
            try:  # reads may run into the footer, as in Redis: no crash is what counts
                decode_value(payload(body[:cut]))
            except PayloadError:
                pass
            with pytest.raises(PayloadError):
                decode_value(body[:cut])  # no footer at all to read into


def test_huge_lengths_fail_without_allocating() -> None:
    _fails(b"\x00\x81" + (1 << 62).to_bytes(8, "big") + b"x")  # a string "of 4 EiB"
    _fails(b"\x02\x81" + (1 << 62).to_bytes(8, "big") + b"\x01a")  # a set of 2^62 members
    _fails(b"\x00\xc3\x02\x81" + (1 << 40).to_bytes(8, "big")[:8] + b"\x00a")  # LZF, huge ulen
    _fails(b"\x10" + rdb_raw_string(struct.pack("<IH", 0xFFFFFFFF, 1) + b"\x81a\x02\xff"))
    lp = listpack([b"\xf0" + (1 << 31).to_bytes(4, "little") + b"ab\x07"], 1)
    _fails(b"\x10" + rdb_raw_string(lp))


def test_corrupt_structures_are_rejected() -> None:
    good = listpack([lp_entry(b"f"), lp_entry(b"v")], 2)
    _fails(b"\x10" + rdb_raw_string(good[:-1] + b"\x00"))  # no terminator
    _fails(b"\x10" + rdb_raw_string(good[:6] + b"\x81f\x03" + good[9:]))  # wrong backlen
    _fails(b"\x10" + rdb_raw_string(good[:4] + b"\x03\x00" + good[6:]))  # wrong count
    _fails(b"\x10" + rdb_raw_string(listpack([lp_entry(b"f")], 1)))  # odd pairs
    _fails(b"\x10" + rdb_raw_string(listpack([lp_entry(b"f"), lp_entry(b"1")] * 2, 4)))  # dup field
    _fails(b"\x10" + rdb_raw_string(listpack([], 0)))  # empty hash
    _fails(b"\x0b" + rdb_raw_string(struct.pack("<II2h", 2, 2, 5, 1)))  # unsorted intset
    _fails(b"\x0b" + rdb_raw_string(struct.pack("<II2h", 3, 2, 1, 5)))  # bad width
    _fails(b"\x02" + _len_bytes(2) + rdb_raw_string(b"a") * 2)  # duplicate set member
    _fails(b"\x05" + _len_bytes(1) + rdb_raw_string(b"a") + struct.pack("<d", float("nan")))  # NaN score
    _fails(b"\x12" + _len_bytes(1) + _len_bytes(3) + rdb_raw_string(b"x"))  # bad container
    _fails(b"\x0f\x00")  # stream
    _fails(b"\x06\x00")  # module
    _fails(b"\x63")  # unknown type
    zl = ziplist([b"a", b"b"])
    _fails(b"\x0a" + rdb_raw_string(zl[:4] + (99).to_bytes(4, "little") + zl[8:]))  # ziplist tail
    _fails(b"\x0a" + rdb_raw_string(zl[:11] + b"\x05" + zl[12:]))  # ziplist prevlen


def test_random_mutations_never_crash() -> None:
    rnd = random.Random(12)
    bodies = [encode_value(k, e, d) for k, e, d in [
        ("list", b"quicklist", [b"a", b"77", b"x" * 40]), ("hash", b"listpack", [(b"f", b"v"), (b"g", b"300")]),
        ("zset", b"listpack", [(1.0, b"a"), (2.5, b"b")]), ("set", b"intset", [b"1", b"300", b"70000"]),
        ("string", b"", b"abc" * 20),
    ]] + [b"\x0a" + rdb_raw_string(ziplist(ZL_VALS[:6])), b"\x09" + rdb_raw_string(zipmap([(b"a", b"b")]))]
    for _ in range(3000):
        b = bytearray(rnd.choice(bodies))
        for _ in range(rnd.randrange(1, 4)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        try:
            decode_value(payload(bytes(b)))
        except PayloadError:
            pass


# ---- DUMP / RESTORE through a node --------------------------------------------------------
class R:
    def __init__(self) -> None:
        self.node = new_node(dataclasses.replace(default_config(), replica_id="t"))
        self.c = self.node.new_client("", "", lambda: None)

    def __call__(self, *args: Any) -> Any:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.node.execute(self.c, argv)


def norm(reply: Any) -> Any:
    if isinstance(reply, (SetReply, Map)):
        return sorted(reply.items)
    return reply


def test_dump_restore_every_type_in_process() -> None:
    r = R()
    r("SET", "s", "v"), r("RPUSH", "l", "a", "b"), r("SADD", "st", "1", "2"), r("SADD", "sh", "x")
    r("HSET", "h", "f", "v"), r("ZADD", "z", "1.5", "m")
    reads = {"s": ("GET",), "l": ("LRANGE", 0, -1), "st": ("SMEMBERS",), "sh": ("SMEMBERS",),
             "h": ("HGETALL",), "z": ("ZRANGE", 0, -1, "WITHSCORES")}
    for k, (cmd, *args) in reads.items():
        p = r("DUMP", k)
        assert isinstance(p, bytes)
        assert r("RESTORE", k + "2", 0, p) == OK
        assert norm(r(cmd, k + "2", *args)) == norm(r(cmd, k, *args))
        assert r("OBJECT", "ENCODING", k + "2") == r("OBJECT", "ENCODING", k)
    assert r("DUMP", "nokey") is None


def test_restore_errors_and_options_in_process() -> None:
    r = R()
    r("SET", "k", "v")
    p = r("DUMP", "k")
    assert r("RESTORE", "k", 0, p) == ErrorReply("BUSYKEY Target key name already exists.")
    assert r("RESTORE", "k2", -1, p) == ErrorReply("ERR Invalid TTL value, must be >= 0")
    assert r("RESTORE", "k2", "x", p) == ErrorReply("ERR value is not an integer or out of range")
    assert r("RESTORE", "k2", 0, p[:-1] + b"\x00") == ErrorReply("ERR DUMP payload version or checksum are wrong")
    assert r("RESTORE", "k2", 0, payload(b"\x63")) == ErrorReply("ERR Bad data format")
    assert r("RESTORE", "k2", 0, p, "bogus") == ErrorReply("ERR syntax error")
    assert r("RESTORE", "k2", 0, p, "IDLETIME", -1) == ErrorReply("ERR Invalid IDLETIME value, must be >= 0")
    assert r("RESTORE", "k2", 0, p, "FREQ", 256) == ErrorReply("ERR Invalid FREQ value, must be >= 0 and <= 255")
    assert r("RESTORE", "k2", 0, p, "FREQ", 5, "IDLETIME", 5) == ErrorReply("ERR syntax error")
    assert r("RESTORE", "k2", 5000, p) == OK
    assert 0 < r("PTTL", "k2") <= 5000
    assert r("RESTORE", "k2", 1, p, "ABSTTL", "REPLACE") == OK  # in the past: only deletes
    assert r("EXISTS", "k2") == 0
    r("RPUSH", "l", "x")
    assert r("RESTORE", "l", 0, p, "REPLACE") == OK
    assert r("GET", "l") == b"v"
    r("XADD", "st", "*", "f", "v")
    assert r("DUMP", "st") == ErrorReply("ERR DUMP of stream keys is not supported")


def test_restore_emits_delete_then_ordinary_effects() -> None:
    r = R()
    seen: list[Any] = []
    r.node.op_listeners.append(lambda op: seen.extend(e[0] & ~0x80 for e in op.effects))
    r("HSET", "src", "a", "1")
    p = r("DUMP", "src")
    seen.clear()
    r("RESTORE", "dst", 100000, p)
    r.node.close_group()
    assert codes.DEL in seen and codes.EXPIRE in seen and len(seen) == 3


# ---- RESTORE concurrent with writes at another replica --------------------------------------
def _sorted(reply: Any) -> Any:
    return sorted(norm(reply))


def test_restore_replace_concurrent_with_sadd_merges() -> None:
    p = Pair()
    p.ra("SADD", "src", "a", "b")
    p.ra("SADD", "k", "old")
    p.sync()
    payload = p.ra("DUMP", "src")
    assert p.ra("RESTORE", "k", 0, payload, "REPLACE") == OK
    p.rb("SADD", "k", "x")
    p.sync()
    # The restore deleted only the "old" it saw; the concurrent add survives beside the payload.
    assert _sorted(p.ra("SMEMBERS", "k")) == _sorted(p.rb("SMEMBERS", "k")) == [b"a", b"b", b"x"]


def test_restore_concurrent_restores_of_a_hash_converge() -> None:
    p = Pair()
    p.ra("HSET", "h1", "f", "1", "g", "1")
    p.ra("HSET", "h2", "f", "2", "h", "2")
    p.sync()
    d1, d2 = p.ra("DUMP", "h1"), p.rb("DUMP", "h2")
    p.ra("RESTORE", "k", 100000, d1)
    p.rb("RESTORE", "k", 0, d2)
    p.sync()
    assert norm(p.ra("HGETALL", "k")) == norm(p.rb("HGETALL", "k"))
    assert p.ra("PEXPIRETIME", "k") == p.rb("PEXPIRETIME", "k")
    assert sorted(f for f, _ in norm(p.ra("HGETALL", "k"))) == [b"f", b"g", b"h"]
