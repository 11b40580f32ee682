"""crdtredis.glob against Redis's stringmatchlen: known cases, then a line-by-line port of the
C function (recursive, NUL-terminated reads) as the oracle for random patterns."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.glob import compile_pattern, stringmatch


def redis_stringmatchlen(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """util.c stringmatchlen_impl (7.0.15), transcribed: p/s are offsets, reads past the end
    see the C string's NUL terminator."""
    skip = [False]

    def at(buf: bytes, i: int) -> int:
        return buf[i] if i < len(buf) else 0

    def low(c: int) -> int:
        return c + 32 if 65 <= c <= 90 else c

    def impl(p: int, plen: int, s: int, slen: int) -> bool:
        while plen and slen:
            c = at(pattern, p)
            if c == ord("*"):
                while plen and at(pattern, p + 1) == ord("*"):
                    p += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(p + 1, plen - 1, s, slen):
                        return True
                    if skip[0]:
                        return False
                    s += 1
                    slen -= 1
                skip[0] = True
                return False
            elif c == ord("?"):
                s += 1
                slen -= 1
            elif c == ord("["):
                p += 1
                plen -= 1
                neg = at(pattern, p) == ord("^")
                if neg:
                    p += 1
                    plen -= 1
                match = False
                while True:
                    pc = at(pattern, p)
                    if pc == ord("\\") and plen >= 2:
                        p += 1
                        plen -= 1
                        if at(pattern, p) == at(string, s):
                            match = True
                    elif pc == ord("]"):
                        break
                    elif plen == 0:
                        p -= 1
                        plen += 1
                        break
                    elif plen >= 3 and at(pattern, p + 1) == ord("-"):
                        start, end, sc = pc, at(pattern, p + 2), at(string, s)
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start, end, sc = low(start), low(end), low(sc)
                        p += 2
                        plen -= 2
                        if start <= sc <= end:
                            match = True
                    elif not nocase:
                        if pc == at(string, s):
                            match = True
                    elif low(pc) == low(at(string, s)):
                        match = True
                    p += 1
                    plen -= 1
                if neg:
                    match = not match
                if not match:
                    return False
                s += 1
                slen -= 1
            else:
                if c == ord("\\") and plen >= 2:
                    p += 1
                    plen -= 1
                pc, sc = at(pattern, p), at(string, s)
                if (low(pc) != low(sc)) if nocase else (pc != sc):
                    return False
                s += 1
                slen -= 1
            p += 1
            plen -= 1
            if slen == 0:
                while at(pattern, p) == ord("*"):
                    p += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, len(pattern), 0, len(string))


CASES = [
    (b"*", b"anything", True),
    (b"*", b"", False),  # Redis: a non-empty pattern never matches an empty string
    (b"", b"", True),
    (b"", b"a", False),
    (b"h?llo", b"hello", True),
    (b"h?llo", b"hllo", False),
    (b"h*llo", b"hllo", True),
    (b"h*llo", b"heeeello", True),
    (b"h[ae]llo", b"hallo", True),
    (b"h[ae]llo", b"hillo", False),
    (b"h[^e]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hbllo", True),  # reversed range ends are swapped
    (b"h\\*llo", b"h*llo", True),
    (b"h\\*llo", b"hello", False),
    (b"h\\[a\\]llo", b"h[a]llo", True),
    (b"h\\\\llo", b"h\\llo", True),
    (b"h[", b"h", False),
    (b"h[a", b"ha", True),  # an unterminated set takes the rest of the pattern
    (b"[]", b"a", False),
    (b"[^]", b"a", True),
    (b"[\\]]", b"]", True),
    (b"[a-]]", b"]", True),  # a range 'a'..']' (swapped)
    (b"*\\", b"x\\", True),  # a trailing lone backslash is literal
    (b"**", b"", False),
    (b"a**b", b"ab", True),
    (b"[!h]*", b"!x", True),  # '!' is no negation in Redis
    (b"[!h]*", b"xx", False),
    (b"*a*a*a*a*a*a*a*b", b"a" * 60, False),  # would explode without the cut
    (b"?", b"\x00", True),
    (b"a\x00b", b"a\x00b", True),
]


@pytest.mark.parametrize("pattern,string,expected", CASES)
def test_stringmatch_known_cases(pattern: bytes, string: bytes, expected: bool) -> None:
    assert stringmatch(pattern, string) is expected
    assert redis_stringmatchlen(pattern, string) is expected


def test_stringmatch_nocase_folds_ascii_only() -> None:
    assert stringmatch(b"HeLLo", b"hello", nocase=True)
    assert stringmatch(b"h[A-C]llo", b"hbllo", nocase=True)
    assert stringmatch(b"h[E]llo", b"hello", nocase=True)
    assert not stringmatch(b"h[\\E]llo", b"hello", nocase=True)  # escaped set member: exact
    assert not stringmatch(b"HeLLo", b"hello")
    assert stringmatch(b"\xc3\x89", b"\xc3\x89", nocase=True)


def test_stringmatch_accepts_str() -> None:
    assert stringmatch("user:*", "user:1")


def test_compile_pattern_is_cached_and_reusable() -> None:
    m = compile_pattern(b"k[0-9]*")
    assert m is compile_pattern(b"k[0-9]*")
    assert [m(k) for k in (b"k1", b"k12x", b"kx", b"")] == [True, True, False, False]


def test_many_stars_use_the_linear_matcher() -> None:
    # More stars than the regex path takes: still linear-ish, and right.
    pat = b"*a*b*c*d*e*f*"
    assert stringmatch(pat, b"xaxbxcxdxexfx")
    assert not stringmatch(pat, b"abcdex" * 200)


ALPHABET = st.sampled_from([b"a", b"b", b"A", b"*", b"?", b"[", b"]", b"^", b"-", b"\\", b"\x00"])
STRINGS = st.lists(st.sampled_from([b"a", b"b", b"A", b"B", b"*", b"[", b"]", b"-", b"\\", b"^", b"\x00"]),
                   max_size=8).map(b"".join)


@settings(max_examples=3000, deadline=None)
@given(pattern=st.lists(ALPHABET, max_size=9).map(b"".join), string=STRINGS, nocase=st.booleans())
def test_stringmatch_agrees_with_redis_port(pattern: bytes, string: bytes, nocase: bool) -> None:
    assert stringmatch(pattern, string, nocase) == redis_stringmatchlen(pattern, string, nocase)
