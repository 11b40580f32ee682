"""Bitmap and bitfield commands (Redis bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
BITFIELD, BITFIELD_RO.

Writes to a part of a string ship only that part (crdt/string_bits.py: BITW writes bits,
BITINCR ships a BITFIELD INCRBY's delta and overflow rule), so concurrent SETBITs of
different bits both survive and concurrent INCRBYs of one field add up. BITOP writes its
destination as a whole value (a SET). Replies are computed at the origin from the state
after its own effects, which is what Redis replies.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.numbers import parse_int
from ..crdt.string_bits import (
    BITINCR,
    BITW,
    OVERFLOW_FAIL,
    OVERFLOW_SAT,
    OVERFLOW_WRAP,
    BitStr,
    field_incr,
    get_bits,
    to_signed,
)
from ..keyspace import Db
from ..notify import GENERIC, STRING, notify_event
from ..reply import CommandError, Reply
from .helpers import db_of, is_string, lookup_read, lookup_write
from .registry import command
from .strings import set_encoding_hint

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_VALUE = "ERR bit is not an integer or out of range"
BITPOS_BIT = "ERR The bit argument must be 1 or 0."
BITOP_NOT_ONE = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
BITFIELD_OVERFLOW = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO_GET = "ERR BITFIELD_RO only supports the GET subcommand"


def view(e: Any) -> bytes | bytearray:
    """The bytes of a string entry without copying a bitmap (callers only read)."""
    if type(e) is tuple:
        return e[0]  # type: ignore[no-any-return]
    if type(e) is BitStr:
        return e.view()
    return e.value  # type: ignore[no-any-return]


def read_bits(node: Node, db: Db, key: bytes) -> bytes | bytearray | None:
    e = lookup_read(node, db, key)
    if e is None:
        return None
    if not is_string(e):
        raise CommandError(errors.WRONGTYPE)
    return view(e)


def write_target(node: Node, db: Db, key: bytes) -> bytes | bytearray | None:
    e = lookup_write(node, db, key)
    if e is None:
        return None
    if not is_string(e):
        raise CommandError(errors.WRONGTYPE)
    return view(e)


def bit_offset(node: Node, b: bytes, bits: int = 0) -> int:
    """getBitOffsetFromArgument: a bit offset, `#n` meaning n * bits for BITFIELD."""
    usehash = bits > 0 and b[:1] == b"#"
    v = parse_int(b[1:] if usehash else b)
    if v is None:
        raise CommandError(BIT_OFFSET)
    if usehash:
        v *= bits
    if v < 0 or (v >> 3) >= node.proto_max_bulk_len:
        raise CommandError(BIT_OFFSET)
    return v


def _i64(b: bytes, msg: str = errors.NOT_INTEGER) -> int:
    v = parse_int(b)
    if v is None:
        raise CommandError(msg)
    return v


# SETBIT key offset value
@command("setbit", 4, "write denyoom", 1, 1, 1, group="bitmap", summary="Sets or clears the bit at offset in the string value stored at key",
         since="2.2.0", acl="bitmap slow")
def setbit_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    off = bit_offset(node, argv[2])
    on = parse_int(argv[3])
    if on is None or on & ~1:
        raise CommandError(BIT_VALUE)
    db = db_of(node, client)
    v = write_target(node, db, argv[1])
    old = 0
    if v is not None and (off >> 3) < len(v):
        old = (v[off >> 3] >> (7 - (off & 7))) & 1
    elif v is None or (off >> 3) >= len(v):
        old = -1  # the string grows: a write even if the bit is unchanged (Redis's dirty)
    if old != on:
        node.emit((BITW, db.index, argv[1], off, 1, on))
        notify_event(node, STRING, b"setbit", argv[1], db.index)
    return max(old, 0)


# GETBIT key offset
@command("getbit", 3, "readonly fast", 1, 1, 1, group="bitmap", summary="Returns the bit value at offset in the string value stored at key",
         since="2.2.0", acl="bitmap fast")
def getbit_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    off = bit_offset(node, argv[2])
    v = read_bits(node, db_of(node, client), argv[1])
    if v is None or (off >> 3) >= len(v):
        return 0
    return (v[off >> 3] >> (7 - (off & 7))) & 1


def _range(argv: list[bytes], start_i: int, unit_i: int, total: int, end_default: bool) \
        -> tuple[int, int, bool, int, int]:
    """BITCOUNT/BITPOS range arguments: (start, end, isbit, first_mask, last_mask) in
    bytes, with Redis's negative index and BIT edge-mask rules."""
    start = _i64(argv[start_i])
    isbit = False
    if len(argv) > unit_i:
        unit = argv[unit_i].lower()
        if unit == b"bit":
            isbit = True
        elif unit != b"byte":
            raise CommandError(errors.SYNTAX)
    if end_default:
        end = (total << 3) + 7 if isbit else total - 1
    else:
        end = _i64(argv[start_i + 1])
    if isbit:
        total <<= 3
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    if end >= total:
        end = total - 1
    first_mask = last_mask = 0
    if isbit and start <= end:
        first_mask = ~((1 << (8 - (start & 7))) - 1) & 0xFF
        last_mask = (1 << (7 - (end & 7))) - 1
        start >>= 3
        end >>= 3
    return start, end, isbit, first_mask, last_mask


# BITCOUNT key [start end [BYTE|BIT]]
@command("bitcount", -2, "readonly", 1, 1, 1, group="bitmap", summary="Count set bits in a string",
         since="2.6.0", acl="bitmap slow")
def bitcount_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    v = read_bits(node, db_of(node, client), argv[1])
    if v is None:
        return 0
    n = len(argv)
    if n in (4, 5):
        start = _i64(argv[2])
        end = _i64(argv[3])
        if start < 0 and end < 0 and start > end:
            return 0
        start, end, _isbit, fmask, lmask = _range(argv, 2, 4, len(v), False)
    elif n == 2:
        start, end, fmask, lmask = 0, len(v) - 1, 0, 0
    else:
        raise CommandError(errors.SYNTAX)
    if start > end:
        return 0
    count = int.from_bytes(v[start:end + 1], "big").bit_count()
    if fmask:
        count -= (v[start] & fmask).bit_count()
    if lmask:
        count -= (v[end] & lmask).bit_count()
    return count


def _bitpos(data: bytes | bytearray, bit: int) -> int:
    """redisBitpos: first `bit` in data; -1 (bit 1) or len*8 (bit 0) when absent."""
    if bit:
        rest = data.lstrip(b"\0")
        if not rest:
            return -1
        i = len(data) - len(rest)
        return i * 8 + 8 - rest[0].bit_length()
    rest = data.lstrip(b"\xff")
    if not rest:
        return len(data) * 8
    i = len(data) - len(rest)
    return i * 8 + 8 - (~rest[0] & 0xFF).bit_length()


# BITPOS key bit [start [end [BYTE|BIT]]]
@command("bitpos", -3, "readonly", 1, 1, 1, group="bitmap", summary="Find first bit set or clear in a string",
         since="2.8.7", acl="bitmap slow")
def bitpos_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    bit = _i64(argv[2])
    if bit not in (0, 1):
        raise CommandError(BITPOS_BIT)
    v = read_bits(node, db_of(node, client), argv[1])
    if v is None:
        return -1 if bit else 0
    n = len(argv)
    end_given = False
    if n in (4, 5, 6):
        end_given = n >= 5
        start, end, _isbit, fmask, lmask = _range(argv, 3, 5, len(v), not end_given)
    elif n == 3:
        start, end, fmask, lmask = 0, len(v) - 1, 0, 0
    else:
        raise CommandError(errors.SYNTAX)
    if start > end:
        return -1
    nbytes = end - start + 1
    pos = -1
    done = False
    if fmask:
        t = v[start] & ~fmask & 0xFF if bit else v[start] | fmask
        if lmask and nbytes == 1:
            t = t & ~lmask & 0xFF if bit else t | lmask
        pos = _bitpos(bytes((t,)), bit)
        if nbytes == 1 or (pos != -1 and pos != 8):
            done = True
        else:
            start += 1
            nbytes -= 1
    if not done:
        cur = nbytes - (1 if lmask else 0)
        if cur > 0:
            pos = _bitpos(v[start:start + cur], bit)
            if nbytes == cur or (pos != -1 and pos != cur << 3):
                done = True
            else:
                start += cur
                nbytes -= cur
        if not done:
            t = v[end] & ~lmask & 0xFF if bit else v[end] | lmask
            pos = _bitpos(bytes((t,)), bit)
    if end_given and bit == 0 and pos == nbytes << 3:
        return -1
    if pos != -1:
        pos += start << 3
    return pos


# BITOP AND|OR|XOR|NOT destkey key [key ...]
@command("bitop", -4, "write denyoom", 2, -1, 1, group="bitmap",
         summary="Perform bitwise operations between strings", since="2.6.0", acl="bitmap slow")
def bitop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise CommandError(errors.SYNTAX)
    if op == b"not" and len(argv) != 4:
        raise CommandError(BITOP_NOT_ONE)
    db = db_of(node, client)
    srcs: list[bytes | bytearray | None] = [read_bits(node, db, k) for k in argv[3:]]
    maxlen = max((len(s) for s in srcs if s is not None), default=0)
    dst = argv[2]
    if maxlen == 0:
        if lookup_write(node, db, dst) is not None:
            node.emit((codes.DEL, db.index, dst))
            notify_event(node, GENERIC, b"del", dst, db.index)
        return 0
    if op == b"not":
        s0 = srcs[0] or b""
        res = (~int.from_bytes(s0, "big") & ((1 << (8 * maxlen)) - 1)).to_bytes(maxlen, "big")
    else:
        acc: int | None = None
        for s in srcs:
            x = int.from_bytes(bytes(s or b"").ljust(maxlen, b"\0"), "big")
            if acc is None:
                acc = x
            elif op == b"and":
                acc &= x
            elif op == b"or":
                acc |= x
            else:
                acc ^= x
        res = (acc or 0).to_bytes(maxlen, "big")
    node.emit((codes.SET, db.index, dst, res, codes.TTL_CLEAR, None))
    set_encoding_hint(node, db, dst, b"raw")
    notify_event(node, STRING, b"set", dst, db.index)
    return maxlen


# ---- BITFIELD ------------------------------------------------------------------------
_GET, _SET, _INCRBY = 0, 1, 2
_FieldOp = tuple[int, int, int, bool, int, int]  # (opcode, offset, bits, signed, i64, overflow)


def _bitfield_type(b: bytes) -> tuple[bool, int]:
    if b[:1] == b"i":
        signed = True
    elif b[:1] == b"u":
        signed = False
    else:
        raise CommandError(BITFIELD_TYPE)
    bits = parse_int(b[1:])
    if bits is None or bits < 1 or (signed and bits > 64) or (not signed and bits > 63):
        raise CommandError(BITFIELD_TYPE)
    return signed, bits


def _parse_bitfield(node: Node, argv: list[bytes]) -> tuple[list[_FieldOp], bool, int]:
    ops: list[_FieldOp] = []
    overflow = OVERFLOW_WRAP
    readonly = True
    highest = 0
    j = 2
    n = len(argv)
    while j < n:
        rem = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and rem >= 2:
            opcode = _GET
        elif sub == b"set" and rem >= 3:
            opcode = _SET
        elif sub == b"incrby" and rem >= 3:
            opcode = _INCRBY
        elif sub == b"overflow" and rem >= 1:
            kind = argv[j + 1].lower()
            j += 2
            if kind == b"wrap":
                overflow = OVERFLOW_WRAP
            elif kind == b"sat":
                overflow = OVERFLOW_SAT
            elif kind == b"fail":
                overflow = OVERFLOW_FAIL
            else:
                raise CommandError(BITFIELD_OVERFLOW)
            continue
        else:
            raise CommandError(errors.SYNTAX)
        signed, bits = _bitfield_type(argv[j + 1])
        off = bit_offset(node, argv[j + 2], bits)
        i64 = 0
        if opcode != _GET:
            readonly = False
            highest = max(highest, off + bits - 1)
            i64 = _i64(argv[j + 3])
        ops.append((opcode, off, bits, signed, i64, overflow))
        j += 3 if opcode == _GET else 4
    return ops, readonly, highest


def _field(v: bytes | bytearray | None, off: int, bits: int, signed: bool) -> int:
    if v is None:
        return 0
    u = get_bits(v, off, bits)
    return to_signed(u, bits) if signed else u


def _bitfield(node: Node, client: Client, argv: list[bytes], ro: bool) -> Reply:
    ops, readonly, highest = _parse_bitfield(node, argv)
    db = db_of(node, client)
    key = argv[1]
    if readonly:
        v = read_bits(node, db, key)
        return [_field(v, off, bits, signed) for _c, off, bits, signed, _i, _o in ops]
    if ro:
        raise CommandError(BITFIELD_RO_GET)
    v = write_target(node, db, key)
    group = node._group
    emitted = 0 if group is None else len(group.effects)
    # lookupStringForBitCommand grows the string to the farthest bit written; a write
    # that changes nothing is not propagated unless the string grew (Redis's `dirty`).
    grow = v is None or len(v) <= highest >> 3
    out: list[int | None] = []
    for opcode, off, bits, signed, i64, overflow in ops:
        cur = _field(write_target(node, db, key), off, bits, signed)
        if opcode == _GET:
            out.append(cur)
            continue
        if opcode == _INCRBY:
            new = field_incr(cur, i64, bits, signed, overflow)
            out.append(new)
            if new is not None and (grow or new != cur):
                node.emit((BITINCR, db.index, key, off, bits, int(signed), i64, overflow))
            continue
        # SET: the value itself goes through the overflow rule (Redis checks it as an
        # increment of 0 from the value); the reply is the old value.
        if not signed:
            i64 &= (1 << 64) - 1  # Redis reads the value as int64 into a uint64
        new = field_incr(i64, 0, bits, signed, overflow)
        if new is None:
            out.append(None)
            continue
        out.append(cur)
        if grow or new != cur:
            node.emit((BITW, db.index, key, off, bits, new & ((1 << bits) - 1)))
    after = write_target(node, db, key)
    if after is None or len(after) <= highest >> 3:
        node.emit((BITW, db.index, key, highest, 0, 0))
    if node._group is not None and len(node._group.effects) > emitted:
        notify_event(node, STRING, b"setbit", key, db.index)  # once, if anything changed
    return out


# BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
#     [OVERFLOW WRAP|SAT|FAIL]
@command("bitfield", -2, "write denyoom", 1, 1, 1, group="bitmap",
         summary="Perform arbitrary bitfield integer operations on strings", since="3.2.0", acl="bitmap slow")
def bitfield_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _bitfield(node, client, argv, False)


# BITFIELD_RO key [GET type offset ...]
@command("bitfield_ro", -2, "readonly fast", 1, 1, 1, group="bitmap",
         summary="Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
         since="6.0.0", acl="bitmap fast")
def bitfield_ro_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _bitfield(node, client, argv, True)
