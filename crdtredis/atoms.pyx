# cython: language_level=3
# The compiled half of crdtredis/atoms.py (which documents why it exists and the rules for
# its callers). setup.py builds it with Cython as crdtredis._atoms_native, from a copy
# carrying this file's SHA-256, and atoms.py uses that build only while the digest matches
# (crdtredis/wire/native.py).

cdef extern from "Python.h":
    ctypedef struct PyObject
    ctypedef int (*visitproc)(PyObject*, void*) noexcept
    ctypedef int (*traverseproc)(PyObject*, visitproc, void*) noexcept
    ctypedef struct PyTypeObject:
        traverseproc tp_traverse
    PyTypeObject* Py_TYPE(PyObject* o)
    bint PyObject_IS_GC(PyObject* o)
    bint PyTuple_CheckExact(PyObject* o)
    bint PyObject_GC_IsTracked(PyObject* o)
    void PyObject_GC_UnTrack(void* o)
    void PyObject_GC_Track(void* o)


cdef int _needs_following(PyObject* x, void* own_type) noexcept:
    # What the collector would have to follow from an object that references `x`: any GC
    # object but an untracked tuple (its own test, _PyTuple_MaybeUntrack in
    # Objects/tupleobject.c) and the object's own class (a heap type's instances visit it).
    if x == <PyObject*>own_type or not PyObject_IS_GC(x):
        return 0
    if PyTuple_CheckExact(x) and not PyObject_GC_IsTracked(x):
        return 0
    return 1


def untracked(o):
    """`o`, untracked by the cyclic collector when everything it references is an atom."""
    cdef PyObject* p = <PyObject*>o
    if PyObject_IS_GC(p) and PyObject_GC_IsTracked(p):
        if Py_TYPE(p).tp_traverse(p, _needs_following, <void*>Py_TYPE(p)) == 0:
            PyObject_GC_UnTrack(p)
    return o


def tracked(o):
    """`o`, tracked again (before it is given a reference to a container)."""
    cdef PyObject* p = <PyObject*>o
    if PyObject_IS_GC(p) and not PyObject_GC_IsTracked(p):
        PyObject_GC_Track(p)
    return o
