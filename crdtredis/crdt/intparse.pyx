# cython: language_level=3, boundscheck=False, wraparound=False
# The compiled twins of crdtredis/crdt/numbers.py's `py_parse_int` and `py_format_int`
# (numbers.py documents the rules and why these exist). setup.py builds this file with
# Cython as crdtredis.crdt._intparse_native, from a copy carrying its SHA-256, and
# numbers.py binds them only while the digest matches (crdtredis/wire/native.py).

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from libc.limits cimport LLONG_MAX, LLONG_MIN

from crdtredis.crdt.numbers import py_format_int, py_incr_int, py_parse_int

cdef extern from "native_int.h":
    int crdt_lltoa(char* buf, int end, long long v) noexcept nogil

cdef object _py_parse = py_parse_int
cdef object _py_format = py_format_int
cdef object _py_incr = py_incr_int


def parse_int(b):
    """Redis string2ll (numbers.py_parse_int): optional '-', digits, no leading zeros,
    inside int64; else None."""
    if type(b) is not bytes:
        return _py_parse(b)
    cdef long long v
    if not _parse(b, &v):
        return None
    return PyLong_FromLongLong(v)


cdef inline bytes _print(long long x):
    cdef char buf[24]
    cdef int pos = crdt_lltoa(buf, 24, x)
    return PyBytes_FromStringAndSize(buf + pos, 24 - pos)


def incr_int(value, delta):
    """numbers.py_incr_int: the text of int64 `value` (None: 0) plus int `delta`; None when
    `value` is not an int64's text or the sum leaves int64. One call per INCR's apply."""
    cdef int overflow = 0
    cdef long long d, x
    if type(delta) is not int or (value is not None and type(value) is not bytes):
        return _py_incr(value, delta)
    d = PyLong_AsLongLongAndOverflow(delta, &overflow)
    if overflow:
        return _py_incr(value, delta)
    if value is None:
        return _print(d)
    if not _parse(value, &x):
        return None
    if (d > 0 and x > LLONG_MAX - d) or (d < 0 and x < LLONG_MIN - d):
        return None
    return _print(x + d)


cdef bint _parse(bytes b, long long* out):
    # string2ll into *out: 1, or 0 (not an int64's text).
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef unsigned long long v = 0
    cdef unsigned int d
    if n == 0 or n > 20:
        return 0
    if p[0] == 45:  # '-'
        neg = True
        i = 1
        if n == 1:
            return 0
    if p[i] == 48:  # '0': only "0" itself
        out[0] = 0
        return n == 1
    while i < n:
        d = p[i] - 48
        if d > 9:
            return 0
        if v > 1844674407370955161ULL or (v == 1844674407370955161ULL and d > 5):
            return 0  # past 2^64 - 1
        v = v * 10 + d
        i += 1
    if neg:
        if v > 9223372036854775808ULL:
            return 0
        out[0] = -<long long>(v - 1) - 1  # v >= 1; 2^63 gives LLONG_MIN
        return 1
    if v > 9223372036854775807ULL:
        return 0
    out[0] = <long long>v
    return 1


def format_int(v):
    """b"%d" % v (numbers.py_format_int)."""
    cdef int overflow = 0
    cdef long long x
    if type(v) is not int:
        return _py_format(v)
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow:
        return _py_format(v)
    return _print(x)
