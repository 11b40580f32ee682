# cython: language_level=3, boundscheck=False, wraparound=False
# The compiled twin of crdtredis/protocol/fastreq.py, which documents what it takes and
# where it stops; this file does exactly the same, reading the bytes through a C pointer.
# setup.py builds it with Cython as crdtredis.protocol._fastreq_native, from a copy
# carrying this file's SHA-256, and reader.py uses that build only while the digest
# matches (crdtredis/wire/native.py). tests/test_fastreq.py holds the two to one parse.
#
# Why Cython and not mypyc (which compiled fastreq.py until 2026-12-07): mypyc reads
# `data[pos]` and slices bytes through generic helpers, ~570 instructions an argument;
# here an argument is its digits, its CRLF checks, one PyBytes_FromStringAndSize and one
# append (bench/RESULTS.md).

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_Append
from libc.limits cimport LLONG_MAX

# As in fastreq.py: `*` lines of more digits go to the reader (reader._BIG_COUNT), and no
# bulk length of more digits is taken (proto-max-bulk-len bounds them far lower anyway).
cdef enum:
    MAX_COUNT_DIGITS = 5
    MAX_LEN_DIGITS = 18


cdef inline Py_ssize_t _digits(const unsigned char* p, Py_ssize_t pos, Py_ssize_t n, long long* v) noexcept:
    """The offset after the decimal digits at p[pos:n]; their value in *v when there are at
    most MAX_LEN_DIGITS of them (more are refused by every caller, whatever their value)."""
    cdef long long x = 0
    cdef Py_ssize_t start = pos
    cdef unsigned char c
    while pos < n:
        c = p[pos]
        if c < 48 or c > 57:
            break
        if pos - start < MAX_LEN_DIGITS:
            x = x * 10 + (c - 48)
        pos += 1
    v[0] = x
    return pos


def split_requests(bytes data not None, Py_ssize_t pos, list cmds not None, max_bulk):
    """fastreq.split_requests, compiled (that function documents it)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t start, d0, nd, end
    cdef long long count, ln
    # A limit past what a long long holds refuses nothing a length of 18 digits can say.
    cdef long long mb = max_bulk if max_bulk < LLONG_MAX else LLONG_MAX
    cdef list argv
    while pos < n:
        start = pos
        if p[pos] != 42:  # `*`
            return start
        d0 = pos + 1
        pos = _digits(p, d0, n, &count)
        nd = pos - d0
        if nd == 0 or nd > MAX_COUNT_DIGITS or p[d0] == 48:  # also `*0`: Redis skips it
            return start
        if pos + 1 >= n or p[pos] != 13 or p[pos + 1] != 10:
            return start
        pos += 2
        argv = []
        while count:
            if pos >= n or p[pos] != 36:  # `$`
                return start
            d0 = pos + 1
            pos = _digits(p, d0, n, &ln)
            nd = pos - d0
            if nd == 0 or nd > MAX_LEN_DIGITS or (nd > 1 and p[d0] == 48) or ln > mb:
                return start
            if pos + 1 >= n or p[pos] != 13 or p[pos + 1] != 10:
                return start
            pos += 2
            end = pos + <Py_ssize_t>ln
            if end + 2 > n or p[end] != 13 or p[end + 1] != 10:
                return start
            PyList_Append(argv, PyBytes_FromStringAndSize(<const char*>p + pos, end - pos))
            pos = end + 2
            count -= 1
        PyList_Append(cmds, argv)
    return pos
