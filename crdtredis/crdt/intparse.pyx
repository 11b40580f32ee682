# cython: language_level=3, boundscheck=False, wraparound=False
# The compiled twins of crdtredis/crdt/numbers.py's `py_parse_int` and `py_format_int`
# (numbers.py documents the rules and why these exist). setup.py builds this file with
# Cython as crdtredis.crdt._intparse_native, from a copy carrying its SHA-256, and
# numbers.py binds them only while the digest matches (crdtredis/wire/native.py).

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong, PyLong_FromUnsignedLongLong

from crdtredis.crdt.numbers import py_format_int, py_parse_int

cdef extern from "native_int.h":
    int crdt_lltoa(char* buf, int end, long long v) noexcept nogil

cdef object _py_parse = py_parse_int
cdef object _py_format = py_format_int


def parse_int(b):
    """Redis string2ll (numbers.py_parse_int): optional '-', digits, no leading zeros,
    inside int64; else None."""
    if type(b) is not bytes:
        return _py_parse(b)
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef unsigned long long v = 0
    cdef unsigned int d
    if n == 0 or n > 20:
        return None
    if p[0] == 45:  # '-'
        neg = True
        i = 1
        if n == 1:
            return None
    if p[i] == 48:  # '0': only "0" itself
        return 0 if n == 1 else None
    while i < n:
        d = p[i] - 48
        if d > 9:
            return None
        if v > 1844674407370955161ULL or (v == 1844674407370955161ULL and d > 5):
            return None  # past 2^64 - 1
        v = v * 10 + d
        i += 1
    if neg:
        if v > 9223372036854775808ULL:
            return None
        return PyLong_FromLongLong(-<long long>(v - 1) - 1)  # v >= 1; 2^63 gives LLONG_MIN
    if v > 9223372036854775807ULL:
        return None
    return PyLong_FromUnsignedLongLong(v)


def format_int(v):
    """b"%d" % v (numbers.py_format_int)."""
    cdef int overflow = 0
    cdef long long x
    cdef char buf[24]
    cdef int pos
    if type(v) is not int:
        return _py_format(v)
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow:
        return _py_format(v)
    pos = crdt_lltoa(buf, 24, x)
    return PyBytes_FromStringAndSize(buf + pos, 24 - pos)
