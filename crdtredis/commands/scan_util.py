"""What SCAN, HSCAN, SSCAN and ZSCAN share: the cursor, the MATCH/COUNT/TYPE options and
the position-ordered snapshots that HSCAN and ZSCAN resume from.

One place, because Redis itself has one (scanGenericCommand, parseScanCursorOrReply): the
four commands must reject the same cursors and options with the same errors, and a quirk
fixed in one copy would otherwise stay in the others.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable

from .. import errors
from ..glob import compile_pattern
from ..reply import CommandError
from .helpers import arg_int

ULONG_MAX = (1 << 64) - 1


def parse_cursor(b: bytes) -> int:
    """Redis parseScanCursorOrReply: strtoul in base 10, so '' is 0 and '-1' wraps; no
    leading space."""
    if not b:
        return 0
    s = b[1:] if b[:1] in (b"+", b"-") else b
    if not s.isdigit() or not s.isascii():
        raise CommandError(errors.INVALID_CURSOR)
    v = int(s)
    if v > ULONG_MAX:
        raise CommandError(errors.INVALID_CURSOR)
    return (-v) & ULONG_MAX if b[:1] == b"-" else v


def parse_scan_options(argv: list[bytes], start: int,
                       allow_type: bool = False) -> tuple[int, bytes | None, bytes | None]:
    """[MATCH pattern] [COUNT count] [TYPE type] from argv[start:] -> (count, pattern or
    None for '*', lowercased type or None). TYPE only where `allow_type` (SCAN): the key
    scans answer it with a syntax error, like Redis."""
    count = 10
    pattern: bytes | None = None
    typename: bytes | None = None
    i, n = start, len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"count" and n - i >= 2:
            count = arg_int(argv[i + 1])
            if count < 1:
                raise CommandError(errors.SYNTAX)
        elif opt == b"match" and n - i >= 2:
            pattern = None if argv[i + 1] == b"*" else argv[i + 1]
        elif allow_type and opt == b"type" and n - i >= 2:
            typename = argv[i + 1].lower()
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    return count, pattern, typename


def match_pairs(out: list[bytes], pattern: bytes | None) -> list[bytes]:
    """Keep the (name, value) pairs of a flat reply whose name matches `pattern`."""
    if pattern is None:
        return out
    match = compile_pattern(pattern)
    return [y for j in range(0, len(out), 2) if match(out[j]) for y in (out[j], out[j + 1])]


# A hashtable-encoded hash or skiplist-encoded zset is scanned in the order of a per-process
# hash of the name, and the cursor is the position to resume from, so a name present for the
# whole scan is returned whatever else is added, removed or re-scored meanwhile (SCAN's
# guarantee). That order is snapshotted when a scan starts (cursor 0) and reused by later
# calls: a snapshot holds every name present when it was taken, so reusing one taken after
# the scan began loses nothing the guarantee covers.
_POS_MASK = (1 << 63) - 1


def _pos(name: bytes) -> int:
    return (hash(name) & _POS_MASK) + 1


class PositionSnapshots:
    """The last few snapshots (positions, names) of one command's scans, keyed by entry."""

    __slots__ = ("snaps", "max_snapshots")

    def __init__(self, max_snapshots: int = 4) -> None:
        self.snaps: dict[int, tuple[object, array[int], list[bytes]]] = {}
        self.max_snapshots = max_snapshots

    def get(self, e: object, names: Iterable[bytes], restart: bool) -> tuple[array[int], list[bytes]]:
        """The snapshot of `e` (whose current names are `names`), a new one if `restart`."""
        snaps = self.snaps
        snap = snaps.get(id(e))
        if snap is None or snap[0] is not e or restart:
            ordered = sorted(names, key=_pos)
            snap = (e, array("Q", map(_pos, ordered)), ordered)
            snaps.pop(id(e), None)
            while len(snaps) >= self.max_snapshots:
                del snaps[next(iter(snaps))]
            snaps[id(e)] = snap
        return snap[1], snap[2]

    def scan(self, e: object, names: Iterable[bytes], cursor: int, count: int,
             value: Callable[[bytes], bytes | None]) -> tuple[int, list[bytes]]:
        """(next cursor, flat name/value reply) of about `count` names from `cursor`;
        `value(name)` is None for a name removed since the snapshot."""
        positions, ordered = self.get(e, names, cursor == 0)
        n = len(ordered)
        i = bisect_left(positions, cursor)
        out: list[bytes] = []
        while i < n and len(out) < 2 * count:
            p = positions[i]
            # Names sharing a position are returned together, so the cursor always advances.
            while i < n and positions[i] == p:
                name = ordered[i]
                v = value(name)
                if v is not None:
                    out.append(name)
                    out.append(v)
                i += 1
        return (positions[i] if i < n else 0), out
