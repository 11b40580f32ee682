"""Request parser: hiredis parses, Python enforces the limits Redis 7.0 enforces.

hiredis parses RESP about 3x faster than Python, but it is a *reply* parser: it accepts
types a request may not contain, has no `proto-max-bulk-len`, and given
`*1\\r\\n$999999999999\\r\\n` it waits forever, buffering whatever follows. Redis rejects
that at once (`processMultibulkBuffer` in networking.c). So:

* Complete requests in canonical form (what every client library sends) are split by
  fastreq.split_requests when its compiled twin (fastreq.pyx) is built: the hot path, ~50-85 ns a
  request instead of ~260-360 through hiredis. It stops at the first byte it does not
  take, and the paths below parse the rest.
* A read made of complete requests goes to hiredis alone. Python adds one regex scan of
  the read (see _BIG_COUNT) and, per request, a type check of its arguments.
* When hiredis is left holding an incomplete request, `_Scanner` (Redis's header checks,
  resumable at any byte, skipping payloads by length without copying them) validates the
  incomplete part, and every later byte of that request before hiredis gets it.
* Inline requests (the first byte is not `*`), anything hiredis rejects or returns oddly,
  and unauthenticated clients go through the exact Python path, `_parse_py`. It is the
  reference: every error text comes from it or from `_Scanner`.

Known leniency: hiredis turns `+x`, `=3\\r\\ntxt:x` and `(1` elements into plain bytes and
a top-level RESP3 set `~n` into a list, so such requests run where Redis would answer
`expected '$'`. No client sends them.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from itertools import chain
from typing import Final

import hiredis

from crdtredis.protocol import fastreq
from crdtredis.wire.native import native_module

__all__ = ["ProtocolError", "RequestReader", "split_inline", "PROTO_INLINE_MAX_SIZE"]

PROTO_INLINE_MAX_SIZE: Final = 64 * 1024
DEFAULT_PROTO_MAX_BULK_LEN: Final = 512 * 1024 * 1024
# Redis 7.0 allows up to INT_MAX arguments (6.x had 1024*1024).
_MAX_MULTIBULK: Final = 2**31 - 1
# hiredis allocates a list of the announced size as soon as it reads a `*` line, and
# freeing it touches every slot: `*2147483647` costs 3 s of CPU once the connection
# closes. So hiredis never sees a `*` line of 6+ digits: such requests are parsed in
# Python, buffering an incomplete one (memory then grows only with the bytes received).
_BIG_COUNT: Final = 100_000
_BIG_COUNT_RE: Final = re.compile(rb"\*[0-9]{6}")
# fastreq.split_requests compiled, from fastreq.pyx (None without the build: interpreted it costs
# ~10x hiredis, so then hiredis takes every request).
_SPLIT_FN = Callable[[bytes, int, list[list[bytes]], int], int]


def native_split() -> _SPLIT_FN | None:
    nat = native_module("crdtredis.protocol._fastreq_native", os.path.join(os.path.dirname(fastreq.__file__),
                                                                            "fastreq.pyx"))
    return None if nat is None else nat.split_requests  # type: ignore[no-any-return]


_SPLIT: _SPLIT_FN | None = native_split()
# CVE-2021-32675: before AUTH a request may have at most 10 arguments of 16 KiB each.
UNAUTH_MAX_MULTIBULK: Final = 10
UNAUTH_MAX_BULK: Final = 16384
_LLONG_MAX: Final = 2**63 - 1
_LLONG_MIN: Final = -(2**63)

ERR_MBULK_LEN: Final = "Protocol error: invalid multibulk length"
ERR_BULK_LEN: Final = "Protocol error: invalid bulk length"
ERR_UNAUTH_MBULK: Final = "Protocol error: unauthenticated multibulk length"
ERR_UNAUTH_BULK: Final = "Protocol error: unauthenticated bulk length"
ERR_BIG_MBULK: Final = "Protocol error: too big mbulk count string"
ERR_BIG_BULK: Final = "Protocol error: too big bulk count string"
ERR_BIG_INLINE: Final = "Protocol error: too big inline request"
ERR_QUOTES: Final = "Protocol error: unbalanced quotes in request"


class ProtocolError(Exception):
    """A malformed request. `message` is the Redis text after `-ERR `, decoded as latin-1
    so that a raw byte quoted in it (`expected '$', got '\\xff'`) round-trips exactly."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def wire(self) -> bytes:
        return b"-ERR " + self.message.encode("latin-1") + b"\r\n"


def _expected_dollar(byte: int) -> ProtocolError:
    # addReplyErrorFormat maps CR and LF inside the message to spaces.
    ch = " " if byte in (10, 13) else chr(byte)
    return ProtocolError(f"Protocol error: expected '$', got '{ch}'")


_LL_RE = re.compile(rb"-?[1-9][0-9]*|0")
# `_Scanner._skim` pays for a hiredis reader only when this much input is left.
_SKIM_MIN = 4096


def _string2ll(s: bytes) -> int | None:
    """Redis `string2ll`: no sign but '-', no leading zeros or spaces, fits a long long."""
    if len(s) >= 21 or _LL_RE.fullmatch(s) is None:
        return None
    v = int(s)
    return v if _LLONG_MIN <= v <= _LLONG_MAX else None


def _find_line_end(buf: bytes, start: int, sep: bytes) -> int:
    """Where Redis's `strchr(querybuf + pos, sep)` finds the end of the line at `start`,
    or -1 while it would keep waiting.

    strchr stops at a NUL byte, so a NUL before the separator hides it for good (the
    request then fails once 64 KiB are buffered). A separator further than 64 KiB away is
    treated as missing: Redis reads at most 16 KiB at a time and gives up as soon as more
    than 64 KiB are buffered without one, so it only ever sees such a line when the bytes
    arrived in one burst; treating it as too big is the deterministic choice.
    """
    i = buf.find(sep, start, start + PROTO_INLINE_MAX_SIZE + 1)
    if i < 0 or buf.find(b"\0", start, i) >= 0:
        return -1
    return i


class _Scanner:
    """Redis's `processMultibulkBuffer` checks for one request, resumable at any byte.

    `scan` consumes input until the request ends (returning the offset after it) or the
    input runs out (returning -1). Payloads are skipped by length and never stored;
    only an unfinished header line (at most 64 KiB) is kept between calls. With `args`
    it also collects the arguments, which the caller uses only when the whole request
    was in `data`.
    """

    __slots__ = ("max_bulk", "auth_required", "count", "_phase", "_left", "_skip", "_line")

    def __init__(self, max_bulk: int, auth_required: bool) -> None:
        self.max_bulk = max_bulk
        self.auth_required = auth_required
        self.count: int | None = None  # the request's argument count, once its `*` line is in
        self._phase = 0  # 0: `*` count line, 1: `$` length line, 2: inside a payload
        self._left = 0
        self._skip = 0  # payload bytes plus the 2 after it (Redis never checks they are CRLF)
        self._line = b""

    def scan(self, data: bytes, pos: int, args: list[bytes] | None = None) -> int:
        n = len(data)
        skim = True
        while True:
            if self._phase == 2:
                skip = self._skip
                if n - pos < skip:
                    self._skip = skip - (n - pos)
                    return -1
                if args is not None:
                    args.append(data[pos : pos + skip - 2])
                pos += skip
                self._left -= 1
                if self._left == 0:
                    self._phase = 0
                    return pos
                self._phase = 1
            if skim and self._phase == 1 and not self._line:
                p = self._skim(data, pos, n, args)
                if self._phase == 0:
                    return p
                # No progress: hiredis stopped at this header (Redis-valid framing it
                # rejects, say). The rest of this read takes the exact path, so such
                # input costs what it did before, not a hiredis reader per argument.
                skim = p > pos
                pos = p
            if pos >= n:
                return -1
            line = self._read_line(data, pos)
            if line is None:
                return -1
            text, pos = line
            if self._phase == 0:
                ll = _string2ll(text[1:])
                if ll is None or ll > _MAX_MULTIBULK:
                    raise ProtocolError(ERR_MBULK_LEN)
                if ll > UNAUTH_MAX_MULTIBULK and self.auth_required:
                    raise ProtocolError(ERR_UNAUTH_MBULK)
                self.count = ll
                if ll <= 0:  # `*0`, `*-1`, even `*-5`: an empty request, skipped
                    return pos
                self._left = ll
                self._phase = 1
            else:
                # The prefix is only checked once the whole line is in: `*1\r\nX...`
                # without a CR is "too big bulk count string", not "expected '$'".
                first = text[0] if text else 13  # an empty line starts with its CR
                if first != 36:
                    raise _expected_dollar(first)
                ll = _string2ll(text[1:])
                if ll is None or ll < 0 or ll > self.max_bulk:
                    raise ProtocolError(ERR_BULK_LEN)
                if ll > UNAUTH_MAX_BULK and self.auth_required:
                    raise ProtocolError(ERR_UNAUTH_BULK)
                self._skip = ll + 2
                self._phase = 2

    def _skim(self, data: bytes, pos: int, n: int, args: list[bytes] | None) -> int:
        """Skip the arguments at `pos` that are whole in `data`, parsed by hiredis as a
        stream of bulk strings (a request announcing 2^31 arguments is otherwise 2 µs of
        Python per argument: a 77 ms stall per 256 KB read). hiredis is stricter than
        Redis about headers (no `$3\\rX`), never laxer, and its lengths fix the bytes each
        argument took (one spelling per length); anything it stops at (a bad or partial
        header, a length over the limit) is left to the exact path, which reports it."""
        if n - pos < _SKIM_MIN:
            return pos
        limit = UNAUTH_MAX_BULK if self.auth_required else self.max_bulk
        left = self._left
        r = hiredis.Reader()
        r.feed(data, pos)
        gets = r.gets
        ovh = _OVERHEAD
        while True:
            try:
                a = gets()
            except Exception:  # hiredis.ProtocolError: the exact path reports it
                break
            if a.__class__ is not bytes:  # False (incomplete), None ($-1), ...
                break
            la = len(a)
            if la > limit:
                break
            pos += la + (ovh[la] if la < 1024 else len(str(la)) + 5)
            if args is not None:
                args.append(a)
            left -= 1
            if left == 0:
                self._phase = 0
                break
        self._left = left
        return pos

    def _read_line(self, data: bytes, pos: int) -> tuple[bytes, int] | None:
        """The header line at `pos` (continuing `self._line`) without its terminator, and
        the offset after the terminator; None (line kept) while it is incomplete."""
        head = self._line
        hl = len(head)
        if hl:
            buf = head + data[pos : pos + PROTO_INLINE_MAX_SIZE + 2 - hl]
            start = 0
        else:
            buf = data
            start = pos
        cr = _find_line_end(buf, start, b"\r")
        # Redis needs one byte after the CR and skips it unchecked.
        if cr >= 0 and cr + 1 < len(buf):
            self._line = b""
            return buf[start:cr], pos + cr + 2 - start - hl
        if cr < 0 and hl + len(data) - pos > PROTO_INLINE_MAX_SIZE:
            raise ProtocolError(ERR_BIG_MBULK if self._phase == 0 else ERR_BIG_BULK)
        self._line = buf[start:]  # at most 64 KiB + 1, by the check above
        return None


_ISSPACE = frozenset(b" \t\n\r\v\f")  # C isspace() in the C locale
_TOKEN_END = frozenset(b" \n\r\t\0")  # what ends an unquoted token: \v and \f do not
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = frozenset(b"0123456789abcdefABCDEF")
_NEEDS_SLOW_SPLIT = re.compile(rb"[\"'\v\f\0]")


def split_inline(line: bytes) -> list[bytes] | None:
    """Redis `sdssplitargs`: whitespace-separated tokens with "double" (\\n, \\xHH escapes)
    and 'single' quoting; None for unbalanced quotes or a closing quote followed by
    something other than a space."""
    if _NEEDS_SLOW_SPLIT.search(line) is None:
        return line.split()  # same separators when there are no quotes, \v or \f
    z = line.find(b"\0")  # a C string ends at its first NUL
    if z >= 0:
        line = line[:z]
    n = len(line)

    def at(k: int) -> int:
        return line[k] if k < n else 0

    args: list[bytes] = []
    i = 0
    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = done = False
        while not done:
            c = at(i)
            if inq:
                if c == 0x5C and at(i + 1) == 0x78 and at(i + 2) in _HEX and at(i + 3) in _HEX:
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and at(i + 1):
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == 0x22:
                    if at(i + 1) and at(i + 1) not in _ISSPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 0x5C and at(i + 1) == 0x27:
                    i += 1
                    cur.append(0x27)
                elif c == 0x27:
                    if at(i + 1) and at(i + 1) not in _ISSPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    cur.append(c)
            elif c in _TOKEN_END:
                done = True
            elif c == 0x22:
                inq = True
            elif c == 0x27:
                insq = True
            else:
                cur.append(c)
            if at(i):
                i += 1
        args.append(bytes(cur))


# `$<len>\r\n` + payload + `\r\n` costs len + _OVERHEAD[len] bytes on the wire.
_OVERHEAD: Final = bytes(len(str(n)) + 5 for n in range(1024))


def _encoded_size(cmds: list[list[bytes]], start: int) -> int:
    """Bytes that cmds[start:] took on the wire. Exact because `string2ll` (in Redis and in
    hiredis) accepts only one spelling of each length. Only reads that end inside a
    request pay for this, so it is written for C-level iteration rather than clarity."""
    sub = cmds[start:] if start else cmds
    lens = list(map(len, chain.from_iterable(sub)))
    counts = list(map(len, sub))
    try:
        overhead = sum(map(_OVERHEAD.__getitem__, lens)) + sum(map(_OVERHEAD.__getitem__, counts))
    except IndexError:
        overhead = sum(len(str(n)) + 5 for n in lens) + sum(len(str(n)) + 5 for n in counts)
    # A `*<count>\r\n` line is 2 bytes shorter than a `$<len>\r\n...\r\n` overhead.
    return sum(lens) + overhead - 2 * len(counts)


_IDLE: Final = 0  # at a request boundary; hiredis holds nothing unparsed
_TAIL: Final = 1  # hiredis holds the start of a request not yet validated (_tail[_tail_pos:])
_PARTIAL: Final = 2  # hiredis holds the start of a request; _scanner validated all of it
_BUFFERED: Final = 3  # _big holds the start of a request with a big count; _scanner ditto
_DEAD: Final = 4  # after a ProtocolError


class RequestReader:
    """Turns the bytes of one connection into argument lists.

    Per read call `parse(data)` (or `feed(data)` then `get_commands()`), execute the
    batch, and while `more` is true call `get_commands()` and execute again. An error
    found after some complete requests is raised by the *next* call (Redis runs those
    requests first); an incomplete request after a batch is validated only then, once an
    AUTH in the batch has taken effect. Set `auth_required` before each call (Redis's
    limits for unauthenticated clients). After a ProtocolError every call raises it again.
    """

    __slots__ = (
        "proto_max_bulk_len", "auth_required", "more", "_q", "_qpos", "_starved", "_mode",
        "_scanner", "_tail", "_tail_pos", "_big", "_error", "_gets", "_has_data", "_feed", "_len",
    )

    def __init__(self, proto_max_bulk_len: int = DEFAULT_PROTO_MAX_BULK_LEN) -> None:
        self.proto_max_bulk_len = proto_max_bulk_len
        self.auth_required = False
        # After a call: whether another get_commands() may return requests or raise.
        self.more = False
        self._q: list[bytes] = []  # reads not yet handed to hiredis or parsed
        self._qpos = 0  # offset into _q[0] already consumed
        self._starved = False  # _q[0] is an unfinished line: wait for more bytes
        self._mode = _IDLE
        self._scanner: _Scanner | None = None
        self._tail = b""
        self._tail_pos = 0
        self._big: list[bytes] = []
        self._error: ProtocolError | None = None
        self._new_hiredis()

    def _new_hiredis(self) -> None:
        r = hiredis.Reader()
        self._gets = r.gets
        self._has_data = r.has_data
        self._feed = r.feed
        self._len = r.len

    def feed(self, data: bytes) -> None:
        if data and self._mode != _DEAD:
            self._q.append(data if data.__class__ is bytes else bytes(data))
            self._starved = False
            self.more = True

    def idle(self) -> bool:
        """Nothing received since the last batch: no request, part of one or error."""
        return self._mode == _IDLE and not self._q

    def buffered(self) -> int:
        """Bytes received and not yet returned as requests: the unfinished request a
        client is sending (its query buffer, as client-query-buffer-limit bounds it)."""
        if self._mode == _IDLE and not self._q:
            return 0
        n = sum(map(len, self._q)) - self._qpos + sum(map(len, self._big))
        if self._mode != _BUFFERED:
            n += self._len()
        return n

    def parse(self, data: bytes) -> list[list[bytes]]:
        """`feed(data)` then `get_commands()`; the hot path, when `data` holds complete
        canonical requests as clients send them, costs one call of the compiled splitter
        (or, without it, little beyond hiredis itself)."""
        if self._mode == _IDLE and not self._q and not self.auth_required and data.__class__ is bytes:
            cmds: list[list[bytes]] = []
            split = _SPLIT
            if split is not None:
                # Canonical requests (all of a pipelining client's, usually): no hiredis.
                p = split(data, 0, cmds, self.proto_max_bulk_len)
                if p == len(data):
                    self.more = False
                    return cmds
                if p:  # the rest from that request boundary on, the reader's own way
                    self._q.append(data)
                    self._qpos = p
                    try:
                        self._run(cmds)
                    except ProtocolError as e:
                        return self._die(e, cmds)
                    return self._done(cmds)
            if data[:1] != b"*" or _BIG_COUNT_RE.search(data) is not None:
                self.feed(data)
                return self.get_commands()
            self._feed(data)
            try:
                self._drain(data, 0, cmds)
                if self._mode == _IDLE and not self._q:
                    self.more = False
                    return cmds
                self._run(cmds)
            except ProtocolError as e:
                return self._die(e, cmds)
            return self._done(cmds)
        self.feed(data)
        return self.get_commands()

    def get_commands(self) -> list[list[bytes]]:
        """All complete requests available now, in order; [] when there are none."""
        if self._mode == _DEAD:
            assert self._error is not None
            raise self._error
        cmds: list[list[bytes]] = []
        try:
            self._run(cmds)
        except ProtocolError as e:
            return self._die(e, cmds)
        return self._done(cmds)

    def _done(self, cmds: list[list[bytes]]) -> list[list[bytes]]:
        self.more = bool(self._q) and not self._starved or self._mode == _TAIL
        return cmds

    def _die(self, e: ProtocolError, cmds: list[list[bytes]]) -> list[list[bytes]]:
        self._error = e
        self._mode = _DEAD
        self._q.clear()
        self._big = []
        self._scanner = None
        self._new_hiredis()  # drop whatever it buffered
        if not cmds:
            raise e
        self.more = True  # the next call raises
        return cmds

    def _run(self, cmds: list[list[bytes]]) -> None:
        q = self._q
        while True:
            mode = self._mode
            if mode == _TAIL:
                if cmds:
                    return
                self._check_tail(cmds)
                continue
            if not q or self._starved:
                return
            if cmds and self.auth_required:
                return  # one request at a time: it may be the AUTH that lifts the limits
            chunk = q.pop(0)
            pos = self._qpos
            self._qpos = 0
            if mode == _PARTIAL:
                self._continue_partial(chunk, cmds)
            elif mode == _BUFFERED:
                self._continue_buffered(chunk, cmds)
            else:
                split = _SPLIT
                if split is not None and not self.auth_required:
                    pos = split(chunk, pos, cmds, self.proto_max_bulk_len)
                    if pos == len(chunk):
                        continue
                if chunk[pos] == 42 and not self.auth_required and _BIG_COUNT_RE.search(chunk, pos) is None:
                    self._feed(chunk, pos)
                    self._drain(chunk, pos, cmds)
                else:
                    self._parse_py(chunk, pos, cmds)

    def _push_back(self, chunk: bytes, pos: int) -> None:
        """Put the unparsed rest of `chunk` back at the head of the queue."""
        if pos < len(chunk):
            self._q.insert(0, chunk)
            self._qpos = pos

    def _carry(self, chunk: bytes, pos: int) -> None:
        """Keep an unfinished line (at most 64 KiB) to parse again with the next read."""
        rest = chunk[pos:]
        if self._q:
            self._q[0] = rest + self._q[0][self._qpos :]
            self._qpos = 0
        else:
            self._q.append(rest)
            self._starved = True

    def _drain(self, chunk: bytes, x0: int, cmds: list[list[bytes]]) -> None:
        """Collect what hiredis parses from chunk[x0:] (just fed; x0 is a request boundary)."""
        gets = self._gets
        has_data = self._has_data
        append = cmds.append
        base = len(cmds)
        skipped = 0  # bytes of `*0` requests, which hiredis returns as []
        while True:
            try:
                c = gets()
            except Exception:  # hiredis.ProtocolError, say
                break
            if c.__class__ is list:
                if c:
                    for a in c:
                        if a.__class__ is not bytes:  # `:1`, `$-1`, nested arrays...
                            break
                    else:
                        append(c)
                        if not has_data():
                            return
                        continue
                    break
                skipped += 4
            elif c is False:
                # An incomplete request: find where it starts so it can be validated.
                p = x0 + skipped + _encoded_size(cmds, base)
                if p >= len(chunk) or chunk[p] != 42 or (p > x0 and chunk[p - 2 : p] != b"\r\n"):
                    break
                self._mode = _TAIL
                self._tail = chunk
                self._tail_pos = p
                return
            else:  # `*-1` or not an array at all (an inline request): not hiredis's job
                break
            if not has_data():
                return
        # Re-parse chunk[x0:] the exact way, discarding what hiredis made of it.
        del cmds[base:]
        self._new_hiredis()
        self._parse_py(chunk, x0, cmds)

    def _check_tail(self, cmds: list[list[bytes]]) -> None:
        chunk, p = self._tail, self._tail_pos
        self._tail = b""
        self._mode = _IDLE
        sc = _Scanner(self.proto_max_bulk_len, self.auth_required)
        if sc.scan(chunk, p) < 0 and sc.count is not None:
            self._scanner = sc
            self._mode = _PARTIAL
            return
        # Either Redis's rules end the request inside the chunk though hiredis did not
        # (exotic framing such as a CR followed by another byte), or its `*` line is not
        # complete yet: start over from the request's first byte in Python.
        self._new_hiredis()
        self._parse_py(chunk, p, cmds)

    def _continue_partial(self, chunk: bytes, cmds: list[list[bytes]]) -> None:
        sc = self._scanner
        assert sc is not None
        sc.auth_required = self.auth_required
        end = sc.scan(chunk, 0)  # Redis's error, before hiredis sees the bytes
        if end < 0:
            self._feed(chunk)
            return
        self._scanner = None
        self._mode = _IDLE
        self._feed(chunk, 0, end)
        try:
            c = self._gets()
        except Exception:
            c = None
        if not isinstance(c, list) or any(a.__class__ is not bytes for a in c) or self._has_data():
            # Valid by Redis's rules (a CR followed by another byte, say) but not by
            # hiredis's, which holds the earlier bytes: the request cannot be rebuilt.
            raise ProtocolError(ERR_MBULK_LEN)
        cmds.append(c)
        self._push_back(chunk, end)

    def _continue_buffered(self, chunk: bytes, cmds: list[list[bytes]]) -> None:
        sc = self._scanner
        assert sc is not None
        sc.auth_required = self.auth_required
        end = sc.scan(chunk, 0)
        if end < 0:
            self._big.append(chunk)
            return
        self._big.append(chunk[:end])
        buf = b"".join(self._big)
        self._big = []
        self._scanner = None
        self._mode = _IDLE
        self._parse_py(buf, 0, cmds)
        self._push_back(chunk, end)

    def _parse_py(self, chunk: bytes, pos: int, cmds: list[list[bytes]]) -> None:
        """Redis's processInputBuffer over chunk[pos:], exactly. An incomplete multibulk
        request goes to hiredis (validated so far) or, with a big count, to _big."""
        n = len(chunk)
        while pos < n:
            if cmds and self.auth_required:
                self._push_back(chunk, pos)
                return
            if chunk[pos] == 42:
                sc = _Scanner(self.proto_max_bulk_len, self.auth_required)
                args: list[bytes] = []
                end = sc.scan(chunk, pos, args)
                if end >= 0:
                    if args:
                        cmds.append(args)
                    pos = end
                    continue
                if sc.count is None:
                    self._carry(chunk, pos)
                elif sc.count >= _BIG_COUNT:
                    self._big = [chunk[pos:]]
                    self._scanner = sc
                    self._mode = _BUFFERED
                else:
                    self._feed(chunk, pos)
                    self._scanner = sc
                    self._mode = _PARTIAL
                return
            nl = _find_line_end(chunk, pos, b"\n")
            if nl < 0:
                if n - pos > PROTO_INLINE_MAX_SIZE:
                    raise ProtocolError(ERR_BIG_INLINE)
                self._carry(chunk, pos)
                return
            end = nl - 1 if nl > pos and chunk[nl - 1] == 13 else nl
            argv = split_inline(chunk[pos:end])
            if argv is None:
                raise ProtocolError(ERR_QUOTES)
            if argv:
                cmds.append(argv)
            pos = nl + 1
