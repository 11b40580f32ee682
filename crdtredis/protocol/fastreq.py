"""The request splitter of the pipelined hot path; its compiled twin is fastreq.pyx (Cython).

`split_requests` takes the longest run of complete requests in canonical RESP form
(`*<count>\\r\\n` then `$<len>\\r\\n<payload>\\r\\n` per argument, counts and lengths
without sign or leading zeros) from a read, and stops at the first byte that is anything
else: an incomplete request, an inline one, `*0`, a length over `proto-max-bulk-len`, a
count of 100,000 or more, a missing CRLF. RequestReader (reader.py) parses the rest the
way it always has (hiredis, then its exact Python checks), so every error and every odd
form keeps its one implementation there; this module only takes the bytes that cannot
mean anything but their argument lists.

Why it exists: the reader's hiredis path costs ~260 ns per PING and ~360 ns per 3-argument
SET (hiredis's call per reply, then a type check of every argument, since hiredis also
accepts reply types a request may not hold). Compiled with mypyc, this loop cost 67 ns a
PING, 126 a SET and 704 a 10-key MSET; fastreq.pyx, which reads the bytes through a C
pointer, costs 49, 83 and 428 (bench/RESULTS.md, 2026-12-07). Interpreted
it costs ~10x hiredis, so the reader uses it only compiled (`reader.native_split`);
without the compiled copy the reader is what it was. tests/test_fastreq.py holds this
function, its twin and the reader without either to one parse.
"""
from __future__ import annotations

from typing import Final

# `*` lines of more digits go to the reader, which refuses to let hiredis allocate for
# them (reader._BIG_COUNT: 100,000).
_MAX_COUNT_DIGITS: Final = 5
# Redis's bulk lengths fit a long long; proto-max-bulk-len bounds them far lower anyway.
_MAX_LEN_DIGITS: Final = 18


def _digits(data: bytes, pos: int, n: int) -> tuple[int, int]:
    """The decimal number at data[pos:n] and the offset after its last digit (compiled, the
    pair is returned as a C struct, not a tuple object)."""
    v = 0
    while pos < n:
        c = data[pos]
        if c < 48 or c > 57:
            break
        v = v * 10 + (c - 48)
        pos += 1
    return v, pos


def split_requests(data: bytes, pos: int, cmds: list[list[bytes]], max_bulk: int) -> int:
    """Append to `cmds` the argument lists of the complete canonical requests at
    data[pos:], in order; return the offset after the last one taken (a request boundary,
    `pos` itself when the first is not taken)."""
    n = len(data)
    while pos < n:
        start = pos
        if data[pos] != 42:  # `*`
            return start
        d0 = pos + 1
        count, pos = _digits(data, d0, n)
        nd = pos - d0
        if nd == 0 or nd > _MAX_COUNT_DIGITS or data[d0] == 48:  # also `*0`: Redis skips it
            return start
        if pos + 1 >= n or data[pos] != 13 or data[pos + 1] != 10:
            return start
        pos += 2
        argv: list[bytes] = []
        while count:
            if pos >= n or data[pos] != 36:  # `$`
                return start
            d0 = pos + 1
            ln, pos = _digits(data, d0, n)
            nd = pos - d0
            if nd == 0 or nd > _MAX_LEN_DIGITS or (nd > 1 and data[d0] == 48) or ln > max_bulk:
                return start
            if pos + 1 >= n or data[pos] != 13 or data[pos + 1] != 10:
                return start
            pos += 2
            end = pos + ln
            if end + 2 > n or data[end] != 13 or data[end + 1] != 10:
                return start
            argv.append(data[pos:end])
            pos = end + 2
            count -= 1
        cmds.append(argv)
    return pos
