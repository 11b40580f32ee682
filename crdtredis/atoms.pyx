# cython: language_level=3
# The compiled half of crdtredis/atoms.py (which documents why it exists and the rules for
# its callers). setup.py builds it with Cython as crdtredis._atoms_native, from a copy
# carrying this file's SHA-256, and atoms.py uses that build only while the digest matches
# (crdtredis/wire/native.py).

cdef extern from "Python.h":
    ctypedef struct PyObject
    ctypedef int (*visitproc)(PyObject*, void*) noexcept
    ctypedef int (*traverseproc)(PyObject*, visitproc, void*) noexcept
    ctypedef struct PyTypeObject
    ctypedef PyObject* (*allocfunc)(PyTypeObject*, Py_ssize_t)
    ctypedef struct PyTypeObject:
        traverseproc tp_traverse
        Py_ssize_t tp_basicsize
        allocfunc tp_alloc
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


# ---- objects made with their slots filled (atoms.py `slot_maker`) --------------------------
cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    void Py_INCREF(PyObject* o)
    void Py_DECREF(PyObject* o)

cdef extern from "structmember.h":
    int T_OBJECT_EX


cdef inline void _put(char* base, Py_ssize_t off, object v) noexcept:
    # A fresh object's slot (NULL, tp_alloc zeroed it) takes a reference to v.
    Py_INCREF(<PyObject*>v)
    (<PyObject**>(base + off))[0] = <PyObject*>v


cdef class SlotMaker:
    """`make7(a, ..., g)`: a new instance of `cls` (no __init__: object.__new__'s tp_alloc)
    whose seven named slots hold a..g, untracked when all seven are atoms. The offsets
    come from the class's own member descriptors (what `setattr` writes through), checked
    once here: each a slot of `cls`'s layout holding an object."""
    cdef PyTypeObject* tp
    cdef object cls
    cdef Py_ssize_t offs[7]

    def __init__(self, cls, names):
        import types
        cdef PyMemberDef* m
        cdef Py_ssize_t head = object.__basicsize__  # the object header every slot follows
        names = tuple(names)
        if not isinstance(cls, type) or len(names) != 7:
            raise TypeError("SlotMaker(a class, seven slot names)")
        if cls.__new__ is not object.__new__ or cls.__dictoffset__ or cls.__weakrefoffset__ \
                or getattr(cls, "__abstractmethods__", None):  # (object.__new__ refuses those)
            raise TypeError(f"{cls.__name__}: instances must be plain slotted objects")
        self.cls = cls
        self.tp = <PyTypeObject*>cls
        seen = set()
        for i, name in enumerate(names):
            d = getattr(cls, name, None)
            if type(d) is not types.MemberDescriptorType or not issubclass(cls, d.__objclass__) or name in seen:
                raise TypeError(f"{cls.__name__}.{name} is not a slot")
            seen.add(name)
            m = (<PyMemberDescrObject*><PyObject*>d).d_member
            if m.type != T_OBJECT_EX or m.offset < head \
                    or m.offset + <Py_ssize_t>sizeof(void*) > self.tp.tp_basicsize:
                raise TypeError(f"{cls.__name__}.{name}: not an object slot of its layout")
            self.offs[i] = m.offset

    def make7(self, a, b, c, d, e, f, g):
        cdef PyObject* p = self.tp.tp_alloc(self.tp, 0)  # zeroed, tracked; holds a class ref
        if p == NULL:
            raise MemoryError()
        o = <object>p  # (a new reference of its own)
        Py_DECREF(p)  # the one tp_alloc returned
        cdef char* base = <char*>p
        _put(base, self.offs[0], a)
        _put(base, self.offs[1], b)
        _put(base, self.offs[2], c)
        _put(base, self.offs[3], d)
        _put(base, self.offs[4], e)
        _put(base, self.offs[5], f)
        _put(base, self.offs[6], g)
        if PyObject_IS_GC(p) and Py_TYPE(p).tp_traverse(p, _needs_following, <void*>Py_TYPE(p)) == 0:
            PyObject_GC_UnTrack(p)
        return o
