# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# The compiled twin of crdtredis/wire/fastenc.py's `OpEncoder` (fastenc.py documents the
# format and the deps context). setup.py builds this file with Cython as
# crdtredis.wire._encops_native, from a copy carrying its SHA-256, and fastenc.py uses it
# only while the digest matches (crdtredis/wire/native.py).
#
# Why a second encoder: the mypyc copy of fastenc.py still builds every effect as a bytes
# object out of table pieces (one b"".join of 6-9 parts), then joins the effects into the
# op and the ops into the record: ~170-290 ns an effect, 12-25% of a pipelined write's CPU
# (bench/RESULTS.md). This one writes every op of a group commit straight into one growing
# buffer: each length-delimited field gets a one-byte length placeholder, moved right in
# the rare case its length needs more bytes. Arguments it does not know (big ints, lists,
# dicts, bools...) go through fastenc's `_value`, whole effects of an unexpected shape
# through fastenc's `encode_effect`, so the bytes are always fastenc's
# (tests/test_wire_codec.py holds both to the same bytes on random ops).

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy, memmove

from crdtredis.wire.fastenc import FORMAT_VERSION, _deps, _value, encode_effect, varint

cdef extern from "Python.h":
    int PyFloat_Pack8(double x, char* p, int le) except -1
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL

cdef object _py_deps = _deps
cdef object _py_value = _value
cdef object _py_effect = encode_effect
cdef object _py_varint = varint
cdef bytes _DEPS_SAME = b"\x30\x01"
# A buffer grown past this by one group commit (huge values) is given back afterwards.
cdef Py_ssize_t _KEEP = 1 << 20


cdef class _Buf:
    cdef char* p
    cdef Py_ssize_t n
    cdef Py_ssize_t cap

    def __dealloc__(self):
        PyMem_Free(self.p)


cdef int _reserve(_Buf b, Py_ssize_t more) except -1:
    cdef Py_ssize_t need = b.n + more
    cdef Py_ssize_t cap
    cdef char* p
    if need <= b.cap:
        return 0
    cap = b.cap * 2
    if cap < need:
        cap = need
    if cap < 256:
        cap = 256
    p = <char*>PyMem_Realloc(b.p, cap)
    if p == NULL:
        raise MemoryError()
    b.p = p
    b.cap = cap
    return 0


cdef inline int _varlen(uint64_t v) noexcept:
    cdef int k = 1
    while v > 127:
        v >>= 7
        k += 1
    return k


cdef inline Py_ssize_t _putvar(char* q, uint64_t v) noexcept:
    """Writes v's varint at q (room for 10 bytes assumed); its length."""
    cdef Py_ssize_t k = 0
    while v > 127:
        q[k] = <char>((v & 0x7F) | 0x80)
        v >>= 7
        k += 1
    q[k] = <char>v
    return k + 1


cdef inline int _var(_Buf b, uint64_t v) except -1:
    _reserve(b, 10)
    b.n += _putvar(b.p + b.n, v)
    return 0


cdef inline int _raw(_Buf b, const char* s, Py_ssize_t n) except -1:
    _reserve(b, n)
    memcpy(b.p + b.n, s, n)
    b.n += n
    return 0


cdef inline int _bytes(_Buf b, bytes s) except -1:
    return _raw(b, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s))


cdef inline Py_ssize_t _open(_Buf b) except -1:
    """A one-byte length placeholder; where it is (for `_close`)."""
    _reserve(b, 1)
    b.n += 1
    return b.n - 1


cdef int _close(_Buf b, Py_ssize_t at) except -1:
    """Writes the length of what follows the placeholder at `at` into it, moving that
    right when the length's varint needs more than the one byte."""
    cdef Py_ssize_t ln = b.n - at - 1
    cdef int k = _varlen(<uint64_t>ln)
    if k > 1:
        _reserve(b, k - 1)
        memmove(b.p + at + k, b.p + at + 1, ln)
        b.n += k - 1
    _putvar(b.p + at, <uint64_t>ln)
    return 0


cdef int _lenval(_Buf b, char tag, const char* s, Py_ssize_t m) except -1:
    """An argument whose Value is one length-delimited field (bytes: tag 0x12, str: 0x2a):
    tag 0x22, the Value's length, the field's tag, m, the m bytes at s."""
    _reserve(b, 22 + m)
    b.p[b.n] = 0x22
    b.n += 1
    b.n += _putvar(b.p + b.n, <uint64_t>(1 + _varlen(<uint64_t>m) + m))
    b.p[b.n] = tag
    b.n += 1
    b.n += _putvar(b.p + b.n, <uint64_t>m)
    memcpy(b.p + b.n, s, m)
    b.n += m
    return 0


cdef int _arg(_Buf b, object a) except -1:
    """One `Effect.args` field (tag 0x22, length, Value): fastenc's argument loop."""
    cdef type t = type(a)
    cdef Py_ssize_t m
    cdef long long v
    cdef int ovf = 0
    cdef uint64_t z
    cdef const char* s
    cdef bytes e
    if t is bytes:
        return _lenval(b, 0x12, PyBytes_AS_STRING(a), PyBytes_GET_SIZE(a))  # Value.b
    if a is None:
        return _raw(b, b"\x22\x02\x20\x01", 4)
    if t is int:
        v = PyLong_AsLongLongAndOverflow(a, &ovf)
        if not ovf:
            z = (<uint64_t>v << 1) ^ <uint64_t>(v >> 63)  # zigzag
            _reserve(b, 13)  # 3 header bytes, a varint of up to 10
            b.p[b.n] = 0x22
            b.p[b.n + 1] = <char>(1 + _varlen(z))
            b.p[b.n + 2] = 0x08  # Value.i
            b.n += 3
            b.n += _putvar(b.p + b.n, z)
            return 0
    elif t is float:
        _reserve(b, 11)
        b.p[b.n] = 0x22
        b.p[b.n + 1] = 9
        b.p[b.n + 2] = 0x19  # Value.d, fixed64 little-endian
        PyFloat_Pack8(PyFloat_AS_DOUBLE(a), b.p + b.n + 3, 1)
        b.n += 11
        return 0
    elif t is str:
        s = PyUnicode_AsUTF8AndSize(a, &m)  # str.encode(): strict UTF-8 (raises before a byte is written)
        return _lenval(b, 0x2a, s, m)  # Value.s
    e = _py_value(a)  # anything else, as fastenc encodes it
    _reserve(b, 1)
    b.p[b.n] = 0x22
    b.n += 1
    _var(b, <uint64_t>PyBytes_GET_SIZE(e))
    return _bytes(b, e)


cdef int _effect(_Buf b, object eff) except -1:
    """One `Effect` message body (fastenc.encode_effect's bytes)."""
    if type(eff) is not tuple:
        eff = tuple(eff)
    cdef tuple t = <tuple>eff
    cdef Py_ssize_t n = len(t), i
    cdef long long code = -1, db = -1
    cdef int ovf = 0
    if n >= 3 and type(t[0]) is int and type(t[1]) is int and type(t[2]) is bytes:
        code = PyLong_AsLongLongAndOverflow(t[0], &ovf)
        if not ovf:
            db = PyLong_AsLongLongAndOverflow(t[1], &ovf)
    if ovf or code < 0 or db < 0:
        return _bytes(b, _py_effect(t))  # not an effect's usual shape: fastenc decides
    _reserve(b, 21)
    b.p[b.n] = 0x08  # Effect.code
    b.n += 1
    b.n += _putvar(b.p + b.n, <uint64_t>code)
    b.p[b.n] = 0x10  # Effect.db
    b.n += 1
    b.n += _putvar(b.p + b.n, <uint64_t>db)
    key = t[2]
    b.p[b.n] = 0x1a  # Effect.key
    b.n += 1
    _var(b, <uint64_t>PyBytes_GET_SIZE(key))
    _bytes(b, key)
    for i in range(3, n):
        _arg(b, t[i])
    return 0


cdef class OpEncoder:
    """fastenc.OpEncoder, compiled: the same methods, the same bytes."""
    cdef dict _origin_hdr
    cdef dict _last_deps
    cdef _Buf _buf
    # Set while a call writes into `_buf`. A call that finds it set (another thread got the
    # GIL while this one was in a Python callback: a snapshot install or recovery thread,
    # say) writes into a buffer of its own instead of into the one in use.
    cdef bint _busy

    def __init__(self):
        self._origin_hdr = {}
        self._last_deps = {}
        self._buf = _Buf()

    def reset_deps(self):
        """Forget the deps context (start of a new segment or batch: each is self-contained)."""
        self._last_deps = {}

    cdef bytes _new_origin(self, origin):
        ob = origin.encode()
        hdr = b"\x08" + _py_varint(FORMAT_VERSION) + b"\x12" + _py_varint(len(ob)) + ob + b"\x18"
        self._origin_hdr[origin] = hdr
        return hdr

    cdef bytes _deps_field(self, origin, deps):
        last = self._last_deps.get(origin)
        if last is not None and (last is deps or last == deps):
            return _DEPS_SAME
        self._last_deps[origin] = deps
        return _py_deps(deps)

    def encode(self, op):
        out = []
        self.encode_ops((op,), out, b"")
        return out[len(out) - 1]  # (wraparound is off: no negative indexes)

    def encode_ops(self, ops, list out, bytes tag=b"\x12"):
        """Append the ops' encoding to `out`: each op preceded by `tag` and its length (as
        field 2, `ops`, of an OpBatch), all of them as one bytes object; with an empty
        `tag`, each op's bytes as their own item. What `out` joins to is fastenc's."""
        cdef _Buf b
        cdef bint shared = not self._busy
        cdef Py_ssize_t at = 0, ea, tl = len(tag)
        cdef uint64_t seq, hlc
        cdef int k
        if shared:
            b = self._buf
            self._busy = True  # (no Python call between the test and this: no thread switch)
        else:
            b = _Buf()
        b.n = 0
        try:
            for op in ops:
                origin = op.origin
                hdr = self._origin_hdr.get(origin)
                if hdr is None:
                    hdr = self._new_origin(origin)
                seq = op.seq
                hlc = op.hlc
                deps = op.deps
                dp = _DEPS_SAME if self._last_deps.get(origin) is deps else self._deps_field(origin, deps)
                if tl:
                    _raw(b, PyBytes_AS_STRING(tag), tl)
                    at = _open(b)
                _bytes(b, <bytes>hdr)
                _var(b, seq)
                _reserve(b, 9)
                b.p[b.n] = 0x21  # Op.hlc, fixed64 little-endian
                for k in range(8):
                    b.p[b.n + 1 + k] = <char>((hlc >> (8 * k)) & 0xFF)
                b.n += 9
                _bytes(b, <bytes>dp)
                for eff in op.effects:
                    _reserve(b, 1)
                    b.p[b.n] = 0x3a  # Op.effects
                    b.n += 1
                    ea = _open(b)
                    _effect(b, eff)
                    _close(b, ea)
                if tl:
                    _close(b, at)
                else:
                    out.append(PyBytes_FromStringAndSize(b.p, b.n))
                    b.n = 0
            if tl and b.n:
                out.append(PyBytes_FromStringAndSize(b.p, b.n))
        finally:
            b.n = 0
            if shared:
                self._busy = False
                if b.cap > _KEEP:
                    PyMem_Free(b.p)
                    b.p = NULL
                    b.cap = 0
