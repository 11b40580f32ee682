"""Redis glob patterns (KEYS, SCAN MATCH, ...): the semantics of util.c stringmatchlen.

The pattern is tokenised once, then matched without recursion:

* `*` any run of bytes, `?` one byte, `\\x` the byte x (a trailing lone `\\` is itself);
* `[...]` one byte from the set: `^` first negates, `a-z` is a range (reversed ends are
  swapped), `\\x` inside means x, and an unterminated `[` takes the rest of the pattern
  as its set (Redis reads until the end rather than failing);
* `[]` matches nothing, `[^]` any byte.

Redis matches `*` by recursion with the "skip longer matches" cut (7.0.9, CVE-2022-36021);
every non-`*` token consumes exactly one byte, so backtracking to the latest `*` only
(the classic linear-space glob loop) accepts exactly the same strings, in O(n*m) worst
case and without Python's recursion limit. Patterns with few stars use the `re` engine
(C speed), where a bounded number of `.*` cannot backtrack exponentially.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

# Token kinds.
_STAR = 0
_ANY = 1
_LIT = 2
_SET = 3

# A byte set: (negated, members, escaped members, ranges). Escaped members compare
# exactly even with nocase, as in Redis.
ByteSet = tuple[bool, frozenset[int], frozenset[int], tuple[tuple[int, int], ...]]
# (kind, payload): _LIT -> the byte; _SET -> a ByteSet; None for _STAR and _ANY.
Token = tuple[int, Any]
Matcher = Callable[[bytes], bool]

# Use a regex only when it cannot blow up: each extra `.*` multiplies backtracking.
_REGEX_MAX_STARS = 2


def _tokenize(p: bytes, nocase: bool) -> list[Token]:
    toks: list[Token] = []
    i = 0
    n = len(p)
    while i < n:
        c = p[i]
        if c == 0x2A:  # '*'
            if not toks or toks[-1][0] != _STAR:
                toks.append((_STAR, None))
            i += 1
        elif c == 0x3F:  # '?'
            toks.append((_ANY, None))
            i += 1
        elif c == 0x5C:  # '\\'
            if i + 1 < n:
                i += 1
            toks.append((_LIT, _fold(p[i], nocase)))
            i += 1
        elif c == 0x5B:  # '['
            i += 1
            neg = i < n and p[i] == 0x5E  # '^'
            if neg:
                i += 1
            members: set[int] = set()
            exact: set[int] = set()  # escaped members compare exactly even with nocase
            ranges: list[tuple[int, int]] = []
            while i < n:
                d = p[i]
                if d == 0x5C and n - i >= 2:
                    i += 1
                    exact.add(p[i])
                elif d == 0x5D:  # ']'
                    break
                elif n - i >= 3 and p[i + 1] == 0x2D:  # 'x-y'
                    lo, hi = d, p[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    if nocase:
                        lo, hi = _lower(lo), _lower(hi)
                    ranges.append((lo, hi))
                    i += 2
                else:
                    members.add(d)
                i += 1
            i += 1  # past ']' (or past the end of an unterminated set)
            toks.append((_SET, (neg, frozenset(members), frozenset(exact), tuple(ranges))))
        else:
            toks.append((_LIT, _fold(c, nocase)))
            i += 1
    return toks


def _lower(c: int) -> int:
    return c + 32 if 0x41 <= c <= 0x5A else c


def _fold(c: int, nocase: bool) -> int:
    return _lower(c) if nocase else c


def _set_has(payload: ByteSet, c: int, nocase: bool) -> bool:
    neg, members, exact, ranges = payload
    if c in exact:
        return not neg
    if nocase:
        c = _lower(c)
        hit = any(_lower(m) == c for m in members)
    else:
        hit = c in members
    if not hit:
        hit = any(lo <= c <= hi for lo, hi in ranges)
    return hit != neg


def _one(tok: Token, c: int, nocase: bool) -> bool:
    kind = tok[0]
    if kind == _ANY:
        return True
    if kind == _LIT:
        return (_lower(c) if nocase else c) == tok[1]
    return _set_has(tok[1], c, nocase)


def _match_tokens(toks: list[Token], s: bytes, nocase: bool) -> bool:
    nt = len(toks)
    ns = len(s)
    ti = si = 0
    star_t = -1
    star_s = 0
    while si < ns:
        if ti < nt and toks[ti][0] == _STAR:
            if ti == nt - 1:
                return True
            star_t = ti
            star_s = si
            ti += 1
        elif ti < nt and _one(toks[ti], s[si], nocase):
            ti += 1
            si += 1
        elif star_t >= 0:
            star_s += 1
            si = star_s
            ti = star_t + 1
        else:
            return False
    while ti < nt and toks[ti][0] == _STAR:
        ti += 1
    return ti == nt


def _regex_of(toks: list[Token]) -> bytes:
    out: list[bytes] = []
    for kind, payload in toks:
        if kind == _STAR:
            out.append(b".*")
        elif kind == _ANY:
            out.append(b".")
        elif kind == _LIT:
            out.append(re.escape(bytes([payload])))
        else:
            neg, members, exact, ranges = payload
            parts = [re.escape(bytes([m])) for m in sorted(members | exact)]
            parts += [re.escape(bytes([lo])) + b"-" + re.escape(bytes([hi])) for lo, hi in ranges]
            if not parts:
                out.append(b"." if neg else b"(?!)")
            else:
                out.append(b"[" + (b"^" if neg else b"") + b"".join(parts) + b"]")
    return b"".join(out)


@lru_cache(maxsize=256)
def compile_pattern(pattern: bytes, nocase: bool = False) -> Matcher:
    """A predicate bytes -> bool equivalent to stringmatchlen(pattern, ., nocase).

    Like Redis, a non-empty pattern never matches the empty string, not even "*" (Redis's
    loop stops at once on an empty string): KEYS and SCAN special-case a lone "*" before
    matching, which is how they still return an empty key."""
    if not pattern:
        return _is_empty
    toks = _tokenize(pattern, nocase)
    if not nocase and all(t[0] == _LIT for t in toks):
        lit = bytes(t[1] for t in toks)
        return lambda s: s == lit
    if not nocase and sum(1 for t in toks if t[0] == _STAR) <= _REGEX_MAX_STARS:
        fm = re.compile(_regex_of(toks), re.DOTALL).fullmatch
        return lambda s: bool(s) and fm(s) is not None
    return lambda s: bool(s) and _match_tokens(toks, s, nocase)


def _is_empty(s: bytes) -> bool:
    return not s


def stringmatch(pattern: bytes | str, string: bytes | str, nocase: bool = False) -> bool:
    """Redis stringmatchlen(pattern, string, nocase) != 0."""
    if isinstance(pattern, str):
        pattern = pattern.encode()
    if isinstance(string, str):
        string = string.encode()
    return compile_pattern(pattern, nocase)(string)
