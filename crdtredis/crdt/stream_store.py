"""A stream's entries in ID order, stored compactly: Redis-like nodes of packed entries.

An entry ID `ms-seq` is held as one int, `sid = ms << 64 | seq` (Python compares 128-bit
ints at C speed). Entries live in *chunks* that mirror Redis's listpack nodes: a chunk
takes new entries until it holds `stream-node-max-entries` of them (live and deleted) or
about `stream-node-max-bytes` bytes, then the next one starts. Approximate trimming
(`MAXLEN ~`, `MINID ~`) removes whole chunks exactly where Redis removes whole nodes, so
its counts match Redis's on a single node.

Per entry a chunk stores 16 bytes of ID (two `array('Q')`), a 4-byte offset and a record
in one byte string: a header (0: the fields are the chunk's *master* fields, the ones of
its first entry, and only values follow, as Redis's SAMEFIELDS flag; else the number of
items) and each item as a varint length plus its bytes. That is ~24 bytes plus the data
for a one-field entry, against ~25 for Redis's listpack: DESIGN §7's memory budget, which
per-entry Python objects (~100 bytes each) would blow. A deleted entry is marked, like
Redis's deleted flag, and its chunk dropped once nothing in it is live.

Entries normally arrive in ID order (appends); an entry replicated from a concurrent writer
can land inside the range, and is spliced into its chunk (O(chunk)).
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence

from ..wire.fastenc import varint

M64 = (1 << 64) - 1
MAX_SID = (1 << 128) - 1

# Redis defaults (stream-node-max-entries / -bytes); the commands layer updates them from
# CONFIG before each write. Chunk boundaries are local layout, never replicated state.
NODE_MAX_ENTRIES = 100
NODE_MAX_BYTES = 4096
LISTPACK_MAX = 1 << 30  # STREAM_LISTPACK_MAX_SIZE

_LEN1 = [bytes((i,)) for i in range(128)]


def sid_of(ms: int, seq: int) -> int:
    return ms << 64 | seq


def sid_str(sid: int) -> bytes:
    return b"%d-%d" % (sid >> 64, sid & M64)


def encode_record(items: Sequence[bytes], master: tuple[bytes, ...]) -> bytes:
    """One entry's record relative to its chunk's master fields."""
    n = len(items)
    if n == 2 and len(master) == 1 and items[0] == master[0]:
        v = items[1]
        return b"\x00" + (_LEN1[len(v)] if len(v) < 128 else varint(len(v))) + v
    parts: list[bytes]
    if n == 2 * len(master) and all(items[2 * i] == master[i] for i in range(len(master))):
        parts = [b"\x00"]
        vals = items[1::2]
    else:
        parts = [varint(n)]
        vals = items
    for x in vals:
        ln = len(x)
        parts.append(_LEN1[ln] if ln < 128 else varint(ln))
        parts.append(x)
    return b"".join(parts)


def decode_record(blob: bytes | bytearray, p: int, end: int, master: tuple[bytes, ...]) -> list[bytes]:
    """The items (field, value, field, value...) of the record at blob[p:end]."""
    h = blob[p]
    if h == 0 and len(master) == 1 and blob[p + 1] < 0x80:
        # The usual entry: one field, the chunk's, with a short value.
        v = blob[p + 2:end]
        return [master[0], bytes(v) if type(v) is bytearray else v]  # type: ignore[list-item]
    p += 1
    if h & 0x80:
        h = 0
        shift = 0
        p -= 1
        while True:
            b = blob[p]
            p += 1
            h |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
    vals: list[bytes] = []
    conv = type(blob) is bytearray
    while p < end:
        n = blob[p]
        p += 1
        if n & 0x80:
            n &= 0x7F
            shift = 7
            while True:
                b = blob[p]
                p += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
        x = blob[p:p + n]
        vals.append(bytes(x) if conv else x)  # type: ignore[arg-type]
        p += n
    if h:
        return vals
    out: list[bytes] = []
    for f, v in zip(master, vals, strict=False):
        out.append(f)
        out.append(v)
    return out


def _lp_str(n: int) -> int:
    """Bytes a string of length n takes in a listpack (header, data, backlen)."""
    if n < 64:
        return n + 2
    if n < 4096:
        return n + 2 + (1 if n + 2 < 128 else 2)
    return n + 5 + (2 if n + 5 < 16384 else 3)


def _lp_int(v: int) -> int:
    if 0 <= v < 128:
        return 2
    if -4096 <= v < 4096:
        return 3
    if -32768 <= v < 32768:
        return 4
    if -(1 << 23) <= v < 1 << 23:
        return 5
    if -(1 << 31) <= v < 1 << 31:
        return 6
    return 10


class Chunk:
    """Entries of one node. `ms`/`sq` hold every entry's ID (dead ones too, as Redis keeps
    deleted entries in a listpack); `off[j]` is where entry j's record starts in `blob`;
    `dead` marks deleted entries; `live` counts the others; `lp` estimates the listpack
    size Redis would have (the node-full check)."""

    __slots__ = ("ms", "sq", "off", "blob", "master", "dead", "live", "lp")

    def __init__(self, master: tuple[bytes, ...]) -> None:
        self.ms = array("Q")
        self.sq = array("Q")
        self.off = array("I")
        self.blob: bytes | bytearray = bytearray()
        self.master = master
        self.dead: set[int] | None = None
        self.live = 0
        # listpack header + end byte, then count, deleted, num-fields, fields, terminator.
        self.lp = 7 + 2 + 2 + 2 + sum(_lp_str(len(f)) for f in master) + 2

    def __len__(self) -> int:
        return len(self.ms)

    def sid(self, j: int) -> int:
        return self.ms[j] << 64 | self.sq[j]

    def first(self) -> int:
        return self.ms[0] << 64 | self.sq[0]

    def last(self) -> int:
        return self.ms[-1] << 64 | self.sq[-1]

    def find(self, sid: int) -> int:
        """Index of the first entry with ID >= sid (dead or live): IDs are ordered by ms,
        then seq, so two C-speed bisections of the arrays find it."""
        ms = self.ms
        m = sid >> 64
        lo = bisect_left(ms, m)
        hi = bisect_right(ms, m, lo)
        if lo == hi:
            return lo
        return bisect_left(self.sq, sid & M64, lo, hi)

    def items(self, j: int) -> list[bytes]:
        off = self.off
        end = off[j + 1] if j + 1 < len(off) else len(self.blob)
        return decode_record(self.blob, off[j], end, self.master)

    def is_live(self, j: int) -> bool:
        d = self.dead
        return d is None or j not in d

    def kill(self, j: int) -> None:
        d = self.dead
        if d is None:
            d = self.dead = set()
        d.add(j)
        self.live -= 1

    def append(self, sid: int, items: Sequence[bytes]) -> None:
        rec = encode_record(items, self.master)
        blob = self.blob
        if type(blob) is not bytearray:
            blob = self.blob = bytearray(blob)
        self.off.append(len(blob))
        blob += rec
        # What the entry adds to Redis's listpack, near enough to split nodes where Redis
        # does: flags, two ID deltas and the back count (~8 bytes), and a header and a
        # back length per string where the record has a one-byte length.
        self.lp += len(rec) + 8 + (len(items) >> 1 if rec[0] == 0 else len(items) + 1)
        self.ms.append(sid >> 64)
        self.sq.append(sid & M64)
        self.live += 1

    def splice(self, j: int, sid: int, items: Sequence[bytes]) -> None:
        """Insert an entry at index j (an ID inside the chunk's range)."""
        rec = encode_record(items, self.master)
        blob = bytearray(self.blob)
        at = self.off[j] if j < len(self.off) else len(blob)
        blob[at:at] = rec
        self.blob = blob
        n = len(rec)
        off = self.off
        self.off = array("I", [*off[:j], at, *(o + n for o in off[j:])])
        self.ms.insert(j, sid >> 64)
        self.sq.insert(j, sid & M64)
        if self.dead:
            self.dead = {d + 1 if d >= j else d for d in self.dead}
        self.live += 1
        self.lp += len(rec) + 8 + len(items)

    def replace(self, j: int, items: Sequence[bytes]) -> None:
        """New fields for entry j (a concurrent write of the same ID won): same ID, live."""
        rec = encode_record(items, self.master)
        blob = bytearray(self.blob)
        off = self.off
        a = off[j]
        b = off[j + 1] if j + 1 < len(off) else len(blob)
        blob[a:b] = rec
        self.blob = blob
        delta = len(rec) - (b - a)
        if delta:
            for k in range(j + 1, len(off)):
                off[k] += delta
        if self.dead and j in self.dead:
            self.dead.discard(j)
            self.live += 1

    def seal(self) -> None:
        """No more appends: drop the arrays' and buffer's spare capacity."""
        self.blob = bytes(self.blob)
        self.ms = array("Q", self.ms)
        self.sq = array("Q", self.sq)
        self.off = array("I", self.off)


class EntryLog:
    """All chunks of a stream, in ID order. `firsts[i]` is chunk i's first ID."""

    __slots__ = ("chunks", "firsts", "length")

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.firsts: list[int] = []
        self.length = 0

    def __len__(self) -> int:
        return self.length

    # ---- lookups ---------------------------------------------------------------------
    def _locate(self, sid: int) -> tuple[int, int]:
        """(chunk index, entry index) of the first entry >= sid; chunk index == number of
        chunks when there is none."""
        chunks = self.chunks
        i = bisect_right(self.firsts, sid) - 1
        if i < 0:
            return (0, 0) if chunks else (0, 0)
        c = chunks[i]
        j = c.find(sid)
        if j == len(c):
            return (i + 1, 0)
        return (i, j)

    def position(self, sid: int) -> tuple[Chunk, int] | None:
        """The chunk and index of live entry `sid`, None if absent."""
        if not self.chunks:
            return None
        i = bisect_right(self.firsts, sid) - 1
        if i < 0:
            return None
        c = self.chunks[i]
        j = c.find(sid)
        if j < len(c) and c.sid(j) == sid and c.is_live(j):
            return c, j
        return None

    def slot(self, sid: int) -> tuple[Chunk, int] | None:
        """The chunk and index holding `sid`, live or dead."""
        if not self.chunks:
            return None
        i = bisect_right(self.firsts, sid) - 1
        if i < 0:
            return None
        c = self.chunks[i]
        j = c.find(sid)
        if j < len(c) and c.sid(j) == sid:
            return c, j
        return None

    def get(self, sid: int) -> list[bytes] | None:
        p = self.position(sid)
        return None if p is None else p[0].items(p[1])

    def __contains__(self, sid: int) -> bool:
        return self.position(sid) is not None

    def first_sid(self) -> int | None:
        for c in self.chunks:
            for j in range(len(c)):
                if c.is_live(j):
                    return c.sid(j)
        return None

    def last_sid(self) -> int | None:
        for c in reversed(self.chunks):
            for j in range(len(c) - 1, -1, -1):
                if c.is_live(j):
                    return c.sid(j)
        return None

    def top_sid(self) -> int:
        """Highest ID held, dead or live (0 when empty)."""
        return self.chunks[-1].last() if self.chunks else 0

    # ---- iteration -------------------------------------------------------------------
    def walk(self, start: int, end: int, rev: bool = False) -> Iterator[tuple[int, Chunk, int]]:
        """(sid, chunk, index) of live entries with start <= sid <= end, in ID order
        (reversed with `rev`). Items are decoded by the caller, only for what it keeps."""
        chunks = self.chunks
        if not chunks or start > end:
            return
        if not rev:
            i, j = self._locate(start)
            while i < len(chunks):
                c = chunks[i]
                ms, sq, dead = c.ms, c.sq, c.dead
                n = len(ms)
                while j < n:
                    sid = ms[j] << 64 | sq[j]
                    if sid > end:
                        return
                    if dead is None or j not in dead:
                        yield sid, c, j
                    j += 1
                i += 1
                j = 0
        else:
            i, j = self._locate(end)
            if i < len(chunks) and chunks[i].sid(j) == end:
                pass
            else:
                # the first entry > end, or past the last: step back one.
                if j == 0:
                    i -= 1
                    j = len(chunks[i]) - 1 if i >= 0 else -1
                else:
                    j -= 1
            while i >= 0:
                c = chunks[i]
                ms, sq, dead = c.ms, c.sq, c.dead
                while j >= 0:
                    sid = ms[j] << 64 | sq[j]
                    if sid < start:
                        return
                    if dead is None or j not in dead:
                        yield sid, c, j
                    j -= 1
                i -= 1
                if i >= 0:
                    j = len(chunks[i]) - 1

    def range(self, start: int, end: int, count: int = 0, rev: bool = False) -> list[tuple[int, list[bytes]]]:
        out: list[tuple[int, list[bytes]]] = []
        if rev or not self.chunks or start > end:
            for sid, c, j in self.walk(start, end, rev):
                out.append((sid, c.items(j)))
                if count and len(out) >= count:
                    break
            return out
        # Forward reads (XRANGE, XREAD, XREADGROUP) without the generator's per-entry cost.
        chunks = self.chunks
        i, j = self._locate(start)
        while i < len(chunks):
            c = chunks[i]
            ms, sq, dead, off, blob, master = c.ms, c.sq, c.dead, c.off, c.blob, c.master
            n = len(ms)
            while j < n:
                sid = ms[j] << 64 | sq[j]
                if sid > end:
                    return out
                if dead is None or j not in dead:
                    out.append((sid, decode_record(blob, off[j], off[j + 1] if j + 1 < n else len(blob), master)))
                    if count and len(out) >= count:
                        return out
                j += 1
            i += 1
            j = 0
        return out

    def sids(self) -> Iterator[int]:
        for sid, _c, _j in self.walk(0, MAX_SID):
            yield sid

    # ---- writes ----------------------------------------------------------------------
    def add(self, sid: int, items: Sequence[bytes]) -> None:
        """Insert a new ID (not held, live or dead)."""
        chunks = self.chunks
        self.length += 1
        c = chunks[-1] if chunks else None
        if c is None or sid > (c.ms[-1] << 64 | c.sq[-1]):
            if c is not None:
                size = len(items[0]) + len(items[1]) if len(items) == 2 else sum(len(x) for x in items)
                if (NODE_MAX_ENTRIES and len(c.ms) >= NODE_MAX_ENTRIES) \
                        or c.lp + size >= (NODE_MAX_BYTES or LISTPACK_MAX):
                    c.seal()
                    c = None
            if c is None:
                c = Chunk(tuple(items[0::2]))
                chunks.append(c)
                self.firsts.append(sid)
            c.append(sid, items)
            return
        i = bisect_right(self.firsts, sid) - 1
        if i < 0:
            i = 0
            self.firsts[0] = sid
        c = chunks[i]
        c.splice(c.find(sid), sid, items)

    def revive(self, c: Chunk, j: int, items: Sequence[bytes]) -> None:
        """Entry j of chunk c gets these fields (and is live)."""
        if not c.is_live(j):
            self.length += 1
        c.replace(j, items)

    def delete(self, sid: int) -> bool:
        chunks = self.chunks
        if not chunks:
            return False
        i = bisect_right(self.firsts, sid) - 1
        if i < 0:
            return False
        c = chunks[i]
        j = c.find(sid)
        if j >= len(c) or c.sid(j) != sid or not c.is_live(j):
            return False
        self._kill(i, c, j)
        return True

    def _kill(self, i: int, c: Chunk, j: int) -> bool:
        """Mark entry j of chunk i deleted; True when that dropped the whole chunk."""
        self.length -= 1
        if c.live == 1:
            del self.chunks[i]
            del self.firsts[i]
            return True
        c.kill(j)
        return False

    def remove_upto(self, top: int, keep: set[int] | frozenset[int]) -> list[int]:
        """Delete every live entry with ID <= top except those in `keep`; whole chunks go
        at once. Returns the deleted IDs only when some were kept (else an empty list:
        callers that need the IDs pass a non-empty keep)."""
        chunks = self.chunks
        removed: list[int] = []
        while chunks:
            c = chunks[0]
            if c.last() <= top and not keep:
                self.length -= c.live
                del chunks[0]
                del self.firsts[0]
                continue
            dropped = False
            ms, sq = c.ms, c.sq
            for j in range(len(ms)):
                sid = ms[j] << 64 | sq[j]
                if sid > top:
                    break
                if c.is_live(j) and sid not in keep:
                    removed.append(sid)
                    if self._kill(0, c, j):
                        dropped = True
                        break
            if not dropped:
                break
        return removed

    def clear(self) -> None:
        self.chunks = []
        self.firsts = []
        self.length = 0

    # ---- what Redis's streamTrim would delete ----------------------------------------
    def trim_plan(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> tuple[int, int]:
        """(deleted count, ID of the last entry deleted) for XADD/XTRIM's trimming, as
        Redis's streamTrim decides it on this layout; the deleted entries are always the
        live entries up to that ID. (0, 0) when nothing goes."""
        length = self.length
        deleted = 0
        last = 0
        for c in self.chunks:
            if maxlen is not None and length <= maxlen:
                break
            entries = c.live
            if limit and deleted + entries > limit:
                break
            if maxlen is not None:
                remove = length - entries >= maxlen
            else:
                remove = c.last() < minid  # type: ignore[operator]
            if remove:
                length -= entries
                deleted += entries
                for j in range(len(c) - 1, -1, -1):
                    if c.is_live(j):
                        last = c.sid(j)
                        break
                continue
            if approx:
                break
            for j in range(len(c)):
                sid = c.sid(j)
                if maxlen is not None:
                    if length <= maxlen:
                        break
                elif sid >= minid:  # type: ignore[operator]
                    break
                if c.is_live(j):
                    length -= 1
                    deleted += 1
                    last = sid
            break
        return deleted, last

    # ---- a canonical form (snapshots, comparing replicas) ------------------------------
    def runs(self) -> list[tuple[list[bytes], bytes, bytes, bytes, bytes]]:
        """The live entries as runs of consecutive entries with the same fields: (fields,
        ms array, seq array, record offsets, records), every record values-only. Equal
        entries give equal runs whatever the chunks look like (dead entries and chunk
        boundaries are local layout)."""
        out: list[tuple[list[bytes], bytes, bytes, bytes, bytes]] = []
        master: tuple[bytes, ...] | None = None
        ms = array("Q")
        sq = array("Q")
        off = array("I")
        recs: list[bytes] = []
        size = 0

        def flush() -> None:
            if master is not None and ms:
                out.append((list(master), ms.tobytes(), sq.tobytes(), off.tobytes(), b"".join(recs)))

        for c in self.chunks:
            blob, coff, dead = c.blob, c.off, c.dead
            n = len(coff)
            for j in range(n):
                if dead is not None and j in dead:
                    continue
                a = coff[j]
                b = coff[j + 1] if j + 1 < n else len(blob)
                if blob[a] == 0:
                    fields = c.master
                    rec = bytes(blob[a:b])
                else:
                    items = decode_record(blob, a, b, c.master)
                    fields = tuple(items[0::2])
                    rec = encode_record(items, fields)
                if fields is not master and fields != master:
                    flush()
                    master, ms, sq, off, recs, size = fields, array("Q"), array("Q"), array("I"), [], 0
                ms.append(c.ms[j])
                sq.append(c.sq[j])
                off.append(size)
                recs.append(rec)
                size += len(rec)
        flush()
        return out

    def load_runs(self, runs: list[tuple[list[bytes], bytes, bytes, bytes, bytes]], swap: bool) -> None:
        """Rebuild from `runs()` (into an empty log); `swap`: the arrays were written on a
        machine of the other byte order."""
        per = NODE_MAX_ENTRIES or 100
        for fields, msb, sqb, offb, blob in runs:
            ms, sq, off = array("Q", msb), array("Q", sqb), array("I", offb)
            if swap:
                ms.byteswap()
                sq.byteswap()
                off.byteswap()
            if not (len(ms) == len(sq) == len(off)) or not ms:
                raise ValueError("bad stream run")
            master = tuple(fields)
            for k in range(0, len(ms), per):
                c = Chunk(master)
                c.ms, c.sq = ms[k:k + per], sq[k:k + per]
                base = off[k]
                end = off[k + per] if k + per < len(off) else len(blob)
                c.off = array("I", [o - base for o in off[k:k + per]])
                c.blob = bytes(blob[base:end])
                c.live = len(c.ms)
                c.lp += len(c.blob) + 8 * c.live
                if self.chunks and c.first() <= self.chunks[-1].last():
                    raise ValueError("stream runs out of order")
                self.chunks.append(c)
                self.firsts.append(c.first())
                self.length += c.live

    def rax_nodes(self) -> int:
        """A stand-in for Redis's rax->numnodes (XINFO radix-tree-nodes): what Redis shows
        for node keys of nearby timestamps (1, 2, then 2 per key + 2)."""
        n = len(self.chunks)
        return n + 1 if n < 2 else 2 * n + 2
