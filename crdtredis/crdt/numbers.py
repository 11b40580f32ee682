"""Numbers as Redis reads, computes and prints them: the arithmetic of INCR*, HINCRBY* and
their replicated increments.

* Integers: `string2ll` syntax (canonical, int64); a result outside int64 is refused, as
  Redis refuses it ("increment or decrement would overflow").
* Floats: x87 80-bit long double, like Redis on x86-64 (`strtold`, `+`, "%.17Lf"), emulated
  exactly with integers, so INCRBYFLOAT and HINCRBYFLOAT match Redis digit for digit.

`incr_value` is one increment exactly as Redis performs it, or None where Redis would refuse
it; the counter register (crdt/counter_reg.py) folds replicated increments with it.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING

from ..wire.native import native_module

Delta = int | bytes

LLONG_MAX = (1 << 63) - 1
LLONG_MIN = -(1 << 63)

# Enough precision that sums of long-double-sized operands are exact before rounding to
# the 17 decimals Redis prints (ld2string LD_STR_HUMAN): a long double spans 10^-4951 ..
# 10^4932, so an exact sum needs under 10^4 digits. Every operation names this context;
# the thread's default (28 digits) would round 1e30 + 1.
_DEC = Context(prec=20000, Emax=10**6, Emin=-(10**6))
_Q17 = Decimal("1e-17")
# strtold's range (x86-64 80-bit long double): beyond it Redis's string2ld sees ERANGE.
_LDBL_MAX = Decimal("1.18973149535723176502e+4932")
_LDBL_UNDERFLOW = Decimal("1.8225997659412373e-4951")  # half the smallest denormal
# string2ld copies into a MAX_LONG_DOUBLE_CHARS (5k) buffer and rejects what does not fit.
_MAX_LD_CHARS = 5 * 1024
# Largest exponent of a delta: two long doubles' sum stays below 10^4933.
_MAX_DELTA_EXP = 4940


def py_parse_int(b: bytes) -> int | None:
    """Redis string2ll: optional '-', digits, no leading zeros/space/'+', fits int64.
    (`parse_int` is its compiled twin when built: see the end of this module.)"""
    # Hot (every INCR parses twice): a non-negative number below 10^18 in one test.
    # bytes.isdigit() accepts ASCII digits only.
    if b.isdigit() and len(b) < 19 and (b[0] != 48 or len(b) == 1):
        return int(b)
    n = len(b)
    if n == 0 or n > 20:
        return None
    if b == b"0":
        return 0
    s = b[1:] if b[:1] == b"-" else b
    if not s or not s.isdigit() or s[:1] == b"0" or not s.isascii():
        return None
    v = int(b)
    if v < -(1 << 63) or v > (1 << 63) - 1:
        return None
    return v


def py_format_int(v: int) -> bytes:
    """The decimal text of `v`, as Redis prints an integer (str(v).encode() costs 30% more)."""
    return b"%d" % v


def parse_decimal(b: bytes) -> Decimal | None:
    """Redis string2ld for INCRBYFLOAT: strtold syntax, no surrounding space, not NaN,
    shorter than 5k, and inside the long double range (ERANGE overflow or underflow to
    zero is rejected; "inf" itself is accepted, as strtold reads it without ERANGE)."""
    if len(b) >= _MAX_LD_CHARS:
        return None
    d = _to_decimal(b)
    if d is not None and d.is_finite() and d and not (_LDBL_UNDERFLOW <= abs(d) <= _LDBL_MAX):
        return None
    return d


def _to_decimal(b: bytes) -> Decimal | None:
    """strtold syntax without the range limits (deltas shipped by an origin that checked)."""
    if not b or b[:1].isspace() or b[-1:].isspace():
        return None
    try:
        s = b.decode("ascii")
    except UnicodeDecodeError:
        return None
    low = s.lower().lstrip("+-")
    if low in ("inf", "infinity"):
        return Decimal("-Infinity") if s.startswith("-") else Decimal("Infinity")
    if low.startswith("nan") or "_" in s:
        return None
    if low.startswith("0x"):
        try:
            return Decimal(float.fromhex(s))
        except (ValueError, OverflowError):
            return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite() or d.adjusted() > _MAX_DELTA_EXP:
        # Nothing an origin ships is that large; refusing it keeps apply from overflowing.
        return None
    return d


def format_decimal(d: Decimal) -> bytes:
    """Redis ld2string(LD_STR_HUMAN): "%.17Lf", trailing zeros and dot removed, -0 -> 0."""
    s = format(d.quantize(_Q17, context=_DEC), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s.encode()


# ---- long double arithmetic (HINCRBYFLOAT) ------------------------------------------------
_LD_MIN_EXP = -16445  # the smallest subnormal is 2**-16445
_LD_MAX = Fraction(((1 << 64) - 1) << 16320)  # LDBL_MAX = (2**64 - 1) * 2**16320
_LD_DEC_MAX = 4933  # decimal exponents beyond these overflow / underflow for sure
_LD_DEC_MIN = -4952
_E17 = 10**17
_E4000 = 10**4000


def ld_round(x: Fraction) -> Fraction | None:
    """`x` rounded to the nearest long double (64-bit significand, ties to even); None on
    overflow to infinity."""
    if not x:
        return x
    n, d = abs(x.numerator), x.denominator
    e = n.bit_length() - d.bit_length()
    if (n < d << e) if e >= 0 else (n << -e < d):
        e -= 1
    sh = max(e - 63, _LD_MIN_EXP)  # 2**63 <= |x| / 2**sh < 2**64 for normal numbers
    if sh >= 0:
        q, r = divmod(n, d << sh)
        den = d << sh
    else:
        q, r = divmod(n << -sh, d)
        den = d
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    v = Fraction(q << sh) if sh >= 0 else Fraction(q, 1 << -sh)
    if v > _LD_MAX:
        return None
    return v if x > 0 else -v


def parse_ld(b: bytes) -> Fraction | float | None:
    """Redis string2ld: the long double `b` denotes, float +-inf for "inf", None when `b` is
    not a float (syntax, NaN, or a finite literal that overflows or underflows to zero)."""
    d = parse_decimal(b)
    if d is None:
        return None
    if d.is_infinite():
        return float(d)
    if not d:
        return Fraction(0)
    adj = d.adjusted()
    if adj > _LD_DEC_MAX or adj < _LD_DEC_MIN:
        return None
    v = ld_round(Fraction(d))
    if not v:  # None (overflow) or a nonzero literal rounded to 0 (ERANGE)
        return None
    return v


def ld_format(v: Fraction) -> bytes:
    """Redis ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros and '.' removed, -0 -> 0."""
    a = abs(v)
    q, r = divmod(a.numerator * _E17, a.denominator)
    if 2 * r > a.denominator or (2 * r == a.denominator and q & 1):
        q += 1
    if not q:
        return b"0"
    s = _int_str(q).rjust(18, "0")
    s = (s[:-17] + "." + s[-17:]).rstrip("0").rstrip(".")
    return ("-" + s if v < 0 else s).encode()


def _int_str(q: int) -> str:
    # Python caps int -> str at 4300 digits; a long double has up to 4933.
    if q < _E4000:
        return str(q)
    hi, lo = divmod(q, _E4000)
    return _int_str(hi) + str(lo).rjust(4000, "0")


def ld_add(value: bytes | None, incr: Fraction | float) -> bytes | None:
    """value + incr as HINCRBYFLOAT stores it; None when value is not a float or the sum is
    not finite."""
    if not isinstance(incr, Fraction):
        return None
    base = Fraction(0) if value is None else parse_ld(value)
    if not isinstance(base, Fraction):
        return None
    s = ld_round(base + incr)
    return None if s is None else ld_format(s)


def parse_bigint(b: bytes) -> int | None:
    """An integer in canonical form (string2ll syntax) of any size; None otherwise."""
    s = b[1:] if b[:1] == b"-" else b
    if not s.isdigit() or (s[:1] == b"0" and (len(s) > 1 or len(b) > 1)) or len(s) > 4000:
        return None
    return int(s) if s is b else -int(s)


def py_incr_int(value: bytes | None, delta: int) -> bytes | None:
    """The text of `value` (None: 0) plus `delta`, or None when `value` is not an int64's
    text or the sum leaves int64 (`incr_int` is its compiled twin when built)."""
    if value is None:
        return py_format_int(delta)
    iv = py_parse_int(value)
    if iv is None:
        return None
    r = iv + delta
    if r > LLONG_MAX or r < LLONG_MIN:
        return None
    return py_format_int(r)


def incr_value(value: bytes | None, delta: Delta) -> bytes | None:
    """`value` after one increment, exactly as Redis stores it; None where Redis would refuse
    the increment: INCRBY of a value that is not an int64, a sum outside int64, INCRBYFLOAT
    of a value that is not a float, or a result that is not finite."""
    if type(delta) is int:
        return incr_int(value, delta)
    inc = parse_ld(delta)  # type: ignore[arg-type]
    if not isinstance(inc, Fraction):
        return None
    return ld_add(value, inc)


# Every INCR parses its value twice (the command to answer, the apply to store) and prints
# the sum; in Python that is ~130 ns a parse, 40% of what an INCR's own code costs.
# crdt/intparse.pyx does both in C (~30 ns a parse, bench/RESULTS.md), and the apply's
# parse, sum and print in one call (`incr_int`: ~160 ns in three, ~50 in one): setup.py
# builds it with Cython, and it is used only while built from the intparse.pyx beside this file.
def native() -> tuple[Callable[[bytes], int | None], Callable[[int], bytes],
                      Callable[[bytes | None, int], bytes | None]] | None:
    nat = native_module("crdtredis.crdt._intparse_native", os.path.join(os.path.dirname(__file__), "intparse.pyx"))
    return None if nat is None else (nat.parse_int, nat.format_int, nat.incr_int)


if TYPE_CHECKING:
    parse_int = py_parse_int
    format_int = py_format_int
    incr_int = py_incr_int
else:
    parse_int, format_int, incr_int = native() or (py_parse_int, py_format_int, py_incr_int)
