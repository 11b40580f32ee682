# cython: language_level=3, wraparound=False
# The compiled twin of crdtredis/crdt/members.py's `fold_py` (members.py documents the rules
# and why this exists). setup.py builds this file with Cython as
# crdtredis.crdt._memberfold_native, from a copy carrying its SHA-256, and members.py binds
# it only while the digest matches (crdtredis/wire/native.py).
#
# Why C: a GC visit of a big set, hash or sorted set walks its dict, and most members hold
# nothing to fold. The Python loop makes a pair per member and takes a reference to its key
# and its record (a cache miss each, ~300 ns a member in a hash of 700k); PyDict_Next hands
# out borrowed pointers, so a member with nothing to fold costs the read of its record's
# type. The dict is only ever given new values for keys it holds (the C API's rule for
# PyDict_Next: values may change, keys may not); a callback that changes its size anyway
# stops the visit with RuntimeError, as the Python twin does.

from cpython.dict cimport PyDict_GetItem, PyDict_Next, PyDict_SetItem, PyDict_Size
from cpython.ref cimport PyObject


def fold(dict d, dict keys, stable, type plain, int at, other):
    """members.fold_py."""
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t size = PyDict_Size(d)
    cdef Py_ssize_t dropped = 0
    cdef PyObject* kp
    cdef PyObject* vp
    cdef PyObject* unused
    cdef dict src = d if keys is None else keys
    cdef list left = []
    cdef tuple t
    cdef object rec, key, h
    if at != 0 and at != 1:
        raise ValueError("a stamp's hlc is at 0 or 1")
    while PyDict_Next(src, &pos, &kp, &unused if keys is not None else &vp):
        if keys is not None:
            vp = PyDict_GetItem(d, <object>kp)
            if vp is NULL or vp == <PyObject*>None:  # as the Python twin's `d.get(x) is not None`
                continue
        if type(<object>vp) is plain:
            continue
        if type(<object>vp) is tuple:
            t = <tuple>vp
            key = <object>kp  # owned from here: `stable` runs Python code
            h = t[at]
            if at and h == 0 or stable(h, t[at + 1]):
                PyDict_SetItem(d, key, t[0] if at else 0)
                dropped += 1
            else:
                left.append(key)
        else:
            rec = <object>vp
            key = <object>kp
            n, keep = other(key, rec, stable)
            dropped += n
            if keep:
                left.append(key)
            if PyDict_Size(d) != size:
                raise RuntimeError("a GC visit changed the collection's size")
    return dropped, left
