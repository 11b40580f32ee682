# cython: language_level=3, boundscheck=False, wraparound=False
# The compiled request loop of crdtredis/protocol/plainrun.py (which documents the contract
# and why it exists). setup.py builds it with Cython as crdtredis.protocol._plainrun_native,
# from a copy carrying this file's SHA-256, and plainrun.py hands it to the connection only
# while the digest matches (crdtredis/wire/native.py).

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.string cimport memcpy

from crdtredis.protocol.resp import _BULK_HDR, _INT_MIN, _INT_REPLY, _TABLE
from crdtredis.reply import OK, Status

# What run_plain stopped on (plainrun.py's DONE, CLOSING, REPLY, RAISED).
cdef enum:
    DONE = 0
    CLOSING = 1
    REPLY = 2
    RAISED = 3

cdef object _OK = OK
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


cdef inline bint _is_set(object argv):
    # `SET key value` spelled as Node.execute's straight path takes it (SET or set).
    cdef const char* p
    if type(argv) is not list or len(<list>argv) != 3:
        return False
    a0 = (<list>argv)[0]
    if type(a0) is not bytes or PyBytes_GET_SIZE(a0) != 3:
        return False
    p = PyBytes_AS_STRING(a0)
    return (p[0] == 115 and p[1] == 101 and p[2] == 116) or (p[0] == 83 and p[1] == 69 and p[2] == 84)


def run_plain(execute, client, list cmds, Py_ssize_t i, bytearray out, run_sets=None):
    cdef Py_ssize_t n = len(cmds)
    cdef Py_ssize_t ln, j, k
    cdef long long v
    cdef int overflow
    cdef bint runs = run_sets is not None
    while i < n:
        try:
            # A run of two or more SETs goes to run_sets (crdtredis/setrun.py) in one call.
            if runs and i + 1 < n and _is_set(cmds[i]) and _is_set(cmds[i + 1]):
                j = i + 2
                while j < n and _is_set(cmds[j]):
                    j += 1
                k, exc = run_sets(client, cmds, i, j)
                if k < 0:
                    runs = False
                elif k > 0:
                    for j in range(k):
                        _append(out, b"+OK\r\n", 5)
                    i += k
                    if exc is not None:
                        return i, exc, RAISED
                    continue
            reply = execute(client, cmds[i])
            if client.special:
                return i, reply, REPLY
            if reply is _OK:
                _append(out, b"+OK\r\n", 5)
            elif type(reply) is int:
                v = PyLong_AsLongLongAndOverflow(reply, &overflow)
                if overflow:
                    return i, reply, REPLY
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
                return i, reply, REPLY
        except Exception as exc:
            return i, exc, RAISED
        i += 1
        if client.closing:
            return i, None, CLOSING
    return i, None, DONE
