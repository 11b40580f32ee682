# cython: language_level=3, boundscheck=False, wraparound=False
# The compiled request loop of crdtredis/protocol/plainrun.py (which documents the contract
# and why it exists). setup.py builds it with Cython as crdtredis.protocol._plainrun_native,
# from a copy carrying this file's SHA-256, and plainrun.py hands it to the connection only
# while the digest matches (crdtredis/wire/native.py).

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.string cimport memcmp, memcpy

from crdtredis.protocol.resp import _BULK_HDR, _INT_MIN, _INT_REPLY, _TABLE, encode_reply
from crdtredis.reply import OK, Status

# What run_plain stopped on (plainrun.py's DONE, CLOSING, REPLY, RAISED).
cdef enum:
    DONE = 0
    CLOSING = 1
    REPLY = 2
    RAISED = 3

cdef object _OK = OK
cdef object _encode_reply = encode_reply
cdef object _Status = Status
cdef list _BULK = _BULK_HDR
cdef list _INTS = _INT_REPLY
cdef Py_ssize_t _TAB = _TABLE
cdef Py_ssize_t _IMIN = _INT_MIN


cdef inline int _append(bytearray out, const char* p, Py_ssize_t n) except -1:
    cdef Py_ssize_t size = PyByteArray_GET_SIZE(out)
    if PyByteArray_Resize(out, size + n) < 0:
        return -1
    memcpy(PyByteArray_AS_STRING(out) + size, p, n)
    return 0


cdef inline int _append_bytes(bytearray out, bytes b) except -1:
    return _append(out, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))


cdef extern from "native_int.h":
    int crdt_lltoa(char* buf, int end, long long v) noexcept nogil


cdef int _append_line(bytearray out, char kind, long long v) except -1:
    # `<kind><v>\r\n` (`:` for an integer reply, `$` for a bulk header), as b"%d" writes v.
    cdef char buf[24]
    cdef int pos
    buf[22] = 13
    buf[23] = 10
    pos = crdt_lltoa(buf, 22, v) - 1
    buf[pos] = kind
    return _append(out, buf + pos, 24 - pos)


cdef inline bint _same_name(object a, object b):
    # Two requests spelled alike: argv[0] byte for byte (runs.py).
    if type(a) is not list or type(b) is not list or len(<list>a) == 0 or len(<list>b) == 0:
        return False
    x = (<list>a)[0]
    y = (<list>b)[0]
    if type(x) is not bytes or type(y) is not bytes:
        return False
    cdef Py_ssize_t n = PyBytes_GET_SIZE(x)
    return n == PyBytes_GET_SIZE(y) and memcmp(PyBytes_AS_STRING(x), PyBytes_AS_STRING(y), n) == 0


cdef int _put(bytearray out, object reply, object client) except -1:
    # Encode a plain reply (module docstring of plainrun.py) into `out`: 0, or 1 when the
    # reply is of another kind (nothing written).
    cdef Py_ssize_t ln
    cdef long long v
    cdef int overflow
    if reply is _OK:
        _append(out, b"+OK\r\n", 5)
    elif type(reply) is int:
        v = PyLong_AsLongLongAndOverflow(reply, &overflow)
        if overflow:
            return 1
        if _IMIN <= v < _TAB:
            _append_bytes(out, <bytes>_INTS[v - _IMIN])
        else:
            _append_line(out, 58, v)
    elif type(reply) is bytes:
        ln = PyBytes_GET_SIZE(reply)
        if ln < _TAB:
            _append_bytes(out, <bytes>_BULK[ln])
        else:
            _append_line(out, 36, ln)
        _append(out, PyBytes_AS_STRING(reply), ln)
        _append(out, b"\r\n", 2)
    elif reply is None:  # a missing key's GET: the null of the client's protocol
        if client.resp == 2:
            _append(out, b"$-1\r\n", 5)
        else:
            _append(out, b"_\r\n", 3)
    elif type(reply) is _Status:
        _append(out, b"+", 1)
        _append(out, PyBytes_AS_STRING(reply), PyBytes_GET_SIZE(reply))
        _append(out, b"\r\n", 2)
    else:
        return 1
    return 0


def run_plain(execute, client, list cmds, Py_ssize_t i, bytearray out, run_cmds=None):
    cdef Py_ssize_t n = len(cmds)
    cdef Py_ssize_t j, k, m
    cdef Py_ssize_t skip = 0  # no run starts before this request (run_cmds declined one)
    cdef bint runs = run_cmds is not None
    cdef list got
    while i < n:
        try:
            # Two or more requests spelled alike go to run_cmds (crdtredis/runs.py) at once.
            if runs and i >= skip and i + 1 < n and _same_name(cmds[i], cmds[i + 1]):
                j = i + 2
                while j < n and _same_name(cmds[i], cmds[j]):
                    j += 1
                k, replies, exc = run_cmds(client, cmds, i, j)
                if k < 0:
                    skip = j
                elif k > 0 or exc is not None:
                    if replies is None:
                        for m in range(k):
                            _append(out, b"+OK\r\n", 5)
                    else:
                        got = <list>replies
                        for m in range(k):
                            if _put(out, got[m], client):
                                if m == k - 1 and exc is None:
                                    return i + m, got[m], REPLY  # the connection writes it
                                # (runs.py ends a run at such a reply: not expected here)
                                _encode_reply(out, got[m], client.resp)
                    i += k
                    if exc is not None:
                        return i, exc, RAISED
                    continue
            reply = execute(client, cmds[i])
            if client.special:
                return i, reply, REPLY
            if _put(out, reply, client):
                return i, reply, REPLY
        except Exception as exc:
            return i, exc, RAISED
        i += 1
        if client.closing:
            return i, None, CLOSING
    return i, None, DONE
