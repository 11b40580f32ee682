# cython: language_level=3, boundscheck=False, wraparound=False
# The compiled twins of crdtredis/crdt/list_packed.py's `py_pack`, `py_from_runs`,
# `py_unpack` and `py_expand` (list_packed.py documents the packed form and why these
# exist: a stack or a queue fed one value per command packs a block for every block's
# worth of pushes, and thaws one for every block's worth of pops). setup.py builds this
# file with Cython as crdtredis.crdt._blockpack_native, from a copy carrying its SHA-256,
# and list_packed.py binds them only while the digest matches (crdtredis/wire/native.py).
# Anything but the shapes the list code passes (a list of values, arrays of typecodes
# q / Q / I) goes to the Python twin, so the results are always the twin's.

from cpython.array cimport array, clone
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from libc.string cimport memcpy

from crdtredis.crdt.list_packed import Packed, py_expand, py_from_runs, py_pack, py_unpack

cdef object _Packed = Packed
cdef object _py_pack = py_pack
cdef object _py_from_runs = py_from_runs
cdef object _py_unpack = py_unpack
cdef object _py_expand = py_expand
cdef array _TI = array("I")
cdef array _Tq = array("q")
cdef array _TQ = array("Q")
cdef unsigned long long _U64_MAX = 0xFFFFFFFFFFFFFFFF


cdef inline bint _is(object a, char code):
    """`a` is an array of typecode `code` (an ord: q 113, Q 81, I 73)."""
    return type(a) is array and (<array>a).ob_descr.typecode == code


cdef object _assemble(list vals, array rstart, array rh, array roi):
    """`_assemble`: the values' blob and offsets; None for a value that is not exactly bytes
    (list_packed's type check) or offsets past 32 bits."""
    cdef Py_ssize_t n = PyList_GET_SIZE(vals)
    cdef Py_ssize_t j
    cdef unsigned long long total = 0
    cdef object v
    for j in range(n):
        v = <object>PyList_GET_ITEM(vals, j)
        if type(v) is not bytes:
            return None
        total += <unsigned long long>PyBytes_GET_SIZE(v)
    if total > 0xFFFFFFFF:
        return None
    cdef array offs = clone(_TI, n + 1, False)
    cdef unsigned int* o = offs.data.as_uints
    cdef bytes blob = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>total)
    cdef char* dst = PyBytes_AS_STRING(blob)
    cdef unsigned int at = 0
    cdef Py_ssize_t ln
    o[0] = 0
    for j in range(n):
        v = <object>PyList_GET_ITEM(vals, j)
        ln = PyBytes_GET_SIZE(v)
        memcpy(dst + at, PyBytes_AS_STRING(v), ln)
        at += <unsigned int>ln
        o[j + 1] = at
    return _Packed(blob, offs, rstart, rh, roi)


def pack(vals, hl, oi):
    """list_packed.py_pack: the packed form of a block, or None."""
    if type(vals) is not list or not _is(hl, 113) or not _is(oi, 81):
        return _py_pack(vals, hl, oi)
    cdef Py_ssize_t n = PyList_GET_SIZE(vals)
    if n == 0 or len(hl) != n or len(oi) != n:
        return _py_pack(vals, hl, oi)
    cdef Py_ssize_t j
    # Values that are not all bytes: `_assemble` answers None (after the runs, found
    # needlessly then; a block of pushed values is bytes).
    cdef long long* h = (<array>hl).data.as_longlongs
    cdef unsigned long long* c = (<array>oi).data.as_ulonglongs
    # A run starts where the id is not the previous one's successor (same hlc, index + 1;
    # an index of 2^64 - 1 has no successor in 64 bits, and none in the Python twin).
    cdef Py_ssize_t nr = 1
    for j in range(1, n):
        if h[j] != h[j - 1] or c[j - 1] == _U64_MAX or c[j] != c[j - 1] + 1:
            nr += 1
    cdef array rstart = clone(_TI, nr, False)
    cdef array rh = clone(_Tq, nr, False)
    cdef array roi = clone(_TQ, nr, False)
    cdef unsigned int* rs = rstart.data.as_uints
    cdef long long* rhp = rh.data.as_longlongs
    cdef unsigned long long* rop = roi.data.as_ulonglongs
    cdef Py_ssize_t r = 0
    for j in range(n):
        if j == 0 or h[j] != h[j - 1] or c[j - 1] == _U64_MAX or c[j] != c[j - 1] + 1:
            rs[r] = <unsigned int>j
            rhp[r] = h[j]
            rop[r] = c[j]
            r += 1
    return _assemble(vals, rstart, rh, roi)


def from_runs(vals, rstart, rh, roi):
    """list_packed.py_from_runs: `pack` of a block whose runs are known already."""
    if type(vals) is not list or not _is(rstart, 73) or not _is(rh, 113) or not _is(roi, 81):
        return _py_from_runs(vals, rstart, rh, roi)
    return _assemble(vals, rstart, rh, roi)


def expand(n, rstart, rh, roi):
    """list_packed.py_expand: per-element hlcs and origin-index codes of n elements in the
    given runs (run r from rstart[r] to the next run's start, or n)."""
    if type(n) is not int or not _is(rstart, 73) or not _is(rh, 113) or not _is(roi, 81):
        return _py_expand(n, rstart, rh, roi)
    cdef Py_ssize_t nn = n
    cdef Py_ssize_t nr = len(rstart)
    if nr == nn:  # every element its own run (one-value pushes): the run columns are the ids
        return array("q", rh), array("Q", roi)
    if nr > len(rh) or nr > len(roi) or nn < 0:
        return _py_expand(n, rstart, rh, roi)
    cdef unsigned int* rs = (<array>rstart).data.as_uints
    cdef long long* rhp = (<array>rh).data.as_longlongs
    cdef unsigned long long* rop = (<array>roi).data.as_ulonglongs
    cdef Py_ssize_t r, k, end, total = 0
    for r in range(nr):
        end = rs[r + 1] if r + 1 < nr else nn
        if end > rs[r]:
            total += end - rs[r]
    cdef array hl = clone(_Tq, total, False)
    cdef array oi = clone(_TQ, total, False)
    cdef long long* hp = hl.data.as_longlongs
    cdef unsigned long long* op = oi.data.as_ulonglongs
    cdef Py_ssize_t at = 0
    cdef unsigned long long o0
    for r in range(nr):
        end = rs[r + 1] if r + 1 < nr else nn
        o0 = rop[r]
        for k in range(end - <Py_ssize_t>rs[r]):
            hp[at] = rhp[r]
            op[at] = o0 + <unsigned long long>k
            at += 1
    return hl, oi


def unpack(p):
    """list_packed.py_unpack: (values, hlcs, origin-index codes) of a packed block."""
    if type(p) is not _Packed:
        return _py_unpack(p)
    blob = p.blob
    offs = p.offs
    if type(blob) is not bytes or not _is(offs, 73):
        return _py_unpack(p)
    cdef Py_ssize_t n = len(offs) - 1
    if n < 0:
        return _py_unpack(p)
    # The list first: its allocation is the one here that can run the cyclic collector
    # (and so Python code); nothing runs between reading the buffers below and using them.
    cdef list vals = PyList_New(n)
    cdef unsigned int* o = (<array>offs).data.as_uints
    cdef const char* src = PyBytes_AS_STRING(blob)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(blob)
    cdef Py_ssize_t j
    for j in range(n):
        if o[j] > o[j + 1] or <Py_ssize_t>o[j + 1] > size:
            return _py_unpack(p)  # not offsets `pack` wrote: the twin's slicing decides
    cdef object v
    for j in range(n):
        v = PyBytes_FromStringAndSize(src + o[j], o[j + 1] - o[j])
        Py_INCREF(v)
        PyList_SET_ITEM(vals, j, v)
    hl, oi = expand(p.n, p.rstart, p.rh, p.roi)
    return vals, hl, oi
