"""The tail of the op log in memory, in apply order, for pushes and pulls.

Apply order is a causal order, so any subsequence filtered by a receiver's version vector
is deliverable in order: each op's dependencies are either earlier in it or already held
by the receiver. Bounded by bytes (like Redis's repl-backlog-size); a peer that needs ops
older than the backlog gets a snapshot instead.

Encoded once. The unit is a *chunk*: the ops of one op-log record (one group commit) and
the bytes the op log wrote for them (`add_record`: protobuf `Op` records framed as field 2
of an `OpBatch`, deps elided only within the record, so each record decodes on its own).
A peer that lacks a whole chunk (the steady state) gets those bytes unchanged; a peer that
lacks part of one (a relay, the first chunk of a catch-up) gets slices of them, and only
an op whose elided deps point at an op it already has is encoded again, alone. Ops that do
not come from the op log (replay at start-up, a node without a data dir) are grouped into
chunks the backlog encodes itself the first time a peer needs them.

Positions are chunk numbers; the per-origin index and the coverage test work per chunk,
so a peer's cursor moves over thousands of ops in one step. A chunk keeps only its bytes
and which seqs of which origins it holds: the bound counts encoded bytes (a SET is ~40),
so the default 64 MB holds over a million ops, a long partition's worth.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from operator import attrgetter

from ..op import Op
from ..wire import ops_pb2 as pb
from ..wire.codec import OpDecoder, OpEncoder, encode_op, split_records
from ..wire.fastenc import varint

_origin = attrgetter("origin")

# Rough per-op overhead of the Op object and its effect tuples, for the byte bound.
_OP_OVERHEAD = 200
# Ops a lazily encoded chunk (replay, no op log) takes before a new one starts.
_LAZY_CHUNK_OPS = 256
# Records larger than this are cut into several chunks.
SPLIT_BYTES = 1 << 20
# Bytes counted per chunk besides its encoding (the chunk, its span, index entries).
_CHUNK_OVERHEAD = 256

Bytes = bytes | memoryview


class TooOld(Exception):
    """The backlog no longer holds ops that the requester lacks."""


class Chunk:
    __slots__ = ("ops", "blob", "span", "size", "n")

    def __init__(self, ops: list[Op] | None, blob: Bytes | None) -> None:
        self.ops = ops  # only until encoded (a lazy chunk): then the bytes say it all
        self.blob = blob
        # origin -> (first seq, last seq) of its ops in this chunk
        self.span: dict[str, tuple[int, int]] = {}
        self.size = 0
        self.n = 0

    def encoded(self) -> Bytes:
        b = self.blob
        if b is None:
            out: list[bytes] = []
            OpEncoder().encode_ops(self.ops or (), out)
            b = self.blob = b"".join(out)
            self.ops = None
        return b


class _OriginIndex:
    """For one origin: its last seq in each chunk that holds its ops, and the chunk."""

    __slots__ = ("lasts", "firsts", "poss", "head")

    def __init__(self) -> None:
        self.lasts: list[int] = []
        self.firsts: list[int] = []
        self.poss: list[int] = []
        self.head = 0

    def trim(self) -> None:
        if self.head > 1024 and self.head * 2 > len(self.lasts):
            del self.lasts[: self.head]
            del self.firsts[: self.head]
            del self.poss[: self.head]
            self.head = 0


class Backlog:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        # A list with a moving head (not a deque: collect indexes it at random, and a
        # deque's index costs O(distance from the nearer end)).
        self._chunks: list[Chunk] = []
        self._head = 0
        self.start = 0  # position of the first live chunk
        self.bytes = 0
        self.n_ops = 0
        self.index: dict[str, _OriginIndex] = {}
        # Highest seq per origin ever evicted: a requester below it needs a snapshot.
        self.evicted: dict[str, int] = {}

    @property
    def end(self) -> int:
        return self.start + len(self._chunks) - self._head

    def chunk(self, pos: int) -> Chunk:
        return self._chunks[self._head + pos - self.start]

    # ---- adding --------------------------------------------------------------------------
    def add_record(self, ops: list[Op], blob: Bytes | None) -> None:
        """The ops of one op-log record and its encoded ops (field 2 of an OpBatch)."""
        if not ops:
            return
        if blob is None:
            for op in ops:
                self.add(op)
            return
        if len(blob) > SPLIT_BYTES and len(ops) > 1:
            # A huge record (big values, a long script) becomes several chunks, so a batch
            # stays near max_batch_bytes.
            for sub_ops, sub_blob in _split(ops, blob):
                self._append(Chunk(None, sub_blob), sub_ops, len(sub_blob))
            return
        self._append(Chunk(None, blob), ops, len(blob))

    def add(self, op: Op) -> None:
        """One op without its encoding: joins the open lazy chunk, if any."""
        chs = self._chunks
        if len(chs) > self._head:
            c = chs[-1]
            if c.ops is not None and len(c.ops) < _LAZY_CHUNK_OPS:
                c.ops.append(op)
                self._note(c, self.end - 1, (op,), _size(op))
                self._bound()
                return
        self._append(Chunk([op], None), (op,), _size(op))

    def _append(self, c: Chunk, ops: list[Op] | tuple[Op, ...], size: int) -> None:
        self._chunks.append(c)
        self._note(c, self.end - 1, ops, size + _CHUNK_OVERHEAD)
        self._bound()

    def _encoded(self, c: Chunk) -> Bytes:
        if c.blob is None:
            before = c.size
            b = c.encoded()
            c.size = len(b) + _CHUNK_OVERHEAD
            self.bytes += c.size - before
            return b
        return c.blob

    def _note(self, c: Chunk, pos: int, ops: list[Op] | tuple[Op, ...], size: int) -> None:
        span = c.span
        index = self.index
        n = len(ops)
        # Ops of one origin (a local record, most received batches) note as their first and
        # last would: only the span's ends and the index's last entry are kept per origin.
        run = (ops[0], ops[-1]) if n > 2 and len(set(map(_origin, ops))) == 1 else ops
        for op in run:
            effects = op.effects
            origin = op.origin
            last = op.seq + len(effects) - 1
            s = span.get(origin)
            span[origin] = (op.seq, last) if s is None else (s[0], last)
            idx = index.get(origin)
            if idx is None:
                idx = index[origin] = _OriginIndex()
            if idx.poss and idx.poss[-1] == pos:
                idx.lasts[-1] = last
            else:
                idx.lasts.append(last)
                idx.firsts.append(op.seq)
                idx.poss.append(pos)
        c.size += size
        c.n += n
        self.bytes += size
        self.n_ops += len(ops)

    def _bound(self) -> None:
        while self.bytes > self.max_bytes and len(self._chunks) - self._head > 1:
            self._evict()

    def _evict(self) -> None:
        c = self._chunks[self._head]
        self._chunks[self._head] = _EMPTY
        self._head += 1
        if self._head > 1024 and self._head * 2 > len(self._chunks):
            del self._chunks[: self._head]
            self._head = 0
        pos = self.start
        self.start += 1
        self.bytes -= c.size
        self.n_ops -= c.n
        for origin, (_first, last) in c.span.items():
            self.evicted[origin] = last
            idx = self.index[origin]
            if idx.head < len(idx.poss) and idx.poss[idx.head] == pos:
                idx.head += 1
            if idx.head >= len(idx.lasts):
                del self.index[origin]
            else:
                idx.trim()

    # ---- reading -------------------------------------------------------------------------
    def first_needed(self, have: Mapping[str, int], ours: Mapping[str, int]) -> int | None:
        """Position of the first chunk with an op not covered by `have`, None if it lacks
        nothing we hold. Raises TooOld when `have` lacks ops that were already evicted."""
        for origin, seq in ours.items():
            if have.get(origin, 0) < seq and self.evicted.get(origin, 0) > have.get(origin, 0):
                raise TooOld(origin)
        best: int | None = None
        for origin, idx in self.index.items():
            h = have.get(origin, 0)
            i = bisect_right(idx.lasts, h, lo=idx.head)
            if i < len(idx.lasts):
                if idx.firsts[i] > h + 1 and i == idx.head and self.evicted.get(origin, 0) > h:
                    raise TooOld(origin)
                p = idx.poss[i]
                if best is None or p < best:
                    best = p
        return best

    def collect(self, pos: int, have: Mapping[str, int], max_ops: int, max_bytes: int
                ) -> tuple[list[Bytes], int, int, bool]:
        """The encoded ops from chunk `pos` on that `have` does not cover, as parts of an
        OpBatch's field 2: (parts, op count, next position, more)."""
        parts: list[Bytes] = []
        n = 0
        size = 0
        p = max(pos, self.start)
        end = self.end
        get = have.get
        while p < end:
            if n and (n >= max_ops or size >= max_bytes):
                return parts, n, p, True
            c = self.chunk(p)
            p += 1
            new = old = 0
            for origin, (first, last) in c.span.items():
                h = get(origin, 0)
                if h >= last:
                    old += 1
                elif h < first:
                    new += 1
                else:
                    old = new = -1
                    break
            if new == 0 and old > 0:
                continue  # all of it is there already
            if old == 0:
                b = self._encoded(c)
                parts.append(b)
                n += c.n
                size += len(b)
                continue
            k, sz = _partial(self._encoded(c), have, parts)
            n += k
            size += sz
        return parts, n, p, False


def _partial(blob: Bytes, have: Mapping[str, int], parts: list[Bytes]) -> tuple[int, int]:
    """The ops of a chunk that `have` lacks: slices of the chunk's bytes; an op whose deps
    were elided against an op left out is decoded and encoded again, with its deps."""
    batch = pb.OpBatch()
    batch.ParseFromString(blob)  # type: ignore[arg-type]  # any buffer works
    mv = memoryview(blob)
    dec = OpDecoder()
    sent: set[str] = set()  # origins whose previous op in this chunk is in the output
    seen: set[str] = set()  # origins met earlier in this chunk
    n = size = 0
    get = have.get
    for m, (s, e) in zip(batch.ops, split_records(blob), strict=True):
        origin = m.origin
        if m.seq + len(m.effects) - 1 > get(origin, 0):
            if origin in sent or origin not in seen:
                part: Bytes = mv[s:e]
                dec.note_deps(m)
            else:
                body = encode_op(dec.from_message(m))
                part = b"\x12" + varint(len(body)) + body
            parts.append(part)
            sent.add(origin)
            n += 1
            size += len(part)
        else:
            dec.note_deps(m)
        seen.add(origin)
    return n, size


def _split(ops: list[Op], blob: Bytes) -> list[tuple[list[Op], bytes]]:
    """Cut one record into pieces of about SPLIT_BYTES, each decodable on its own: an op
    whose deps were elided against an op in an earlier piece is encoded again."""
    mv = memoryview(blob)
    out: list[tuple[list[Op], bytes]] = []
    group = 0
    last_group: dict[str, int] = {}  # origin -> piece of its previous op in the record
    cur_ops: list[Op] = []
    cur: list[Bytes] = []
    size = 0
    for op, (s, e) in zip(ops, split_records(blob), strict=True):
        if cur_ops and size >= SPLIT_BYTES:
            out.append((cur_ops, b"".join(cur)))
            cur_ops, cur, size = [], [], 0
            group += 1
        g = last_group.get(op.origin)
        if g is None or g == group:
            part: Bytes = mv[s:e]
        else:
            body = encode_op(op)
            part = b"\x12" + varint(len(body)) + body
        last_group[op.origin] = group
        cur_ops.append(op)
        cur.append(part)
        size += len(part)
    if cur_ops:
        out.append((cur_ops, b"".join(cur)))
    return out


def _size(op: Op) -> int:
    n = _OP_OVERHEAD
    for e in op.effects:
        n += 64
        for a in e:
            if type(a) is bytes:
                n += len(a)
    return n


_EMPTY = Chunk(None, b"")
