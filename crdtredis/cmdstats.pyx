# cython: language_level=3, boundscheck=False, wraparound=False
# The compiled half of crdtredis/cmdstats.py (which documents the rules and why this
# exists): the same CmdStats and timed_call, with the counters in C fields and the clock
# read with clock_gettime. setup.py builds it with Cython as crdtredis._cmdstats_native,
# from a copy carrying this file's SHA-256, and cmdstats.py uses that build only while the
# digest matches (crdtredis/wire/native.py).

from libc.stdint cimport int64_t, uint64_t

from crdtredis.reply import CommandError, ErrorReply

cdef extern from "time.h" nogil:
    ctypedef int clockid_t
    cdef struct timespec:
        long tv_sec
        long tv_nsec
    int clock_gettime(clockid_t, timespec*)
    # The clock of Python's perf_counter_ns on Linux.
    clockid_t CLOCK_MONOTONIC

cdef extern from *:
    int __builtin_clzll(unsigned long long) nogil

cdef enum:
    BUCKETS = 65  # cmdstats.HIST_BUCKETS

cdef object _CommandError = CommandError
cdef object _ErrorReply = ErrorReply


cdef inline int64_t _now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline int _bits(int64_t x) noexcept nogil:
    # int.bit_length() of a non-negative x.
    if x <= 0:
        return 0
    return 64 - __builtin_clzll(<unsigned long long>x)


cdef class CmdStats:
    cdef public int64_t calls
    cdef public int64_t nsec
    cdef public int64_t errors
    cdef public bint track
    cdef uint64_t _hist[BUCKETS]

    def __init__(self):
        self.calls = 0
        self.nsec = 0
        self.errors = 0
        self.track = True
        self.clear_histogram()

    def histogram(self):
        return [self._hist[i] for i in range(BUCKETS)]

    def clear_histogram(self):
        cdef int i
        for i in range(BUCKETS):
            self._hist[i] = 0

    def record(self, int64_t dt):
        _count(self, dt)

    def record_run(self, int64_t k, int64_t dt):
        # k calls that took dt ns together (cmdstats.py PyCmdStats.record_run).
        cdef int64_t each
        if k <= 0:
            return
        if dt < 0:
            dt = 0
        each = dt // k
        self.calls += k
        self.nsec += dt
        if self.track:
            self._hist[_bits(each)] += k


cdef inline void _count(CmdStats st, int64_t dt) noexcept:
    if dt < 0:
        dt = 0
    st.calls += 1
    st.nsec += dt
    if st.track:
        st._hist[_bits(dt)] += 1


def timed_call(CmdStats st, handler, node, client, argv, cmd):
    cdef int64_t t0 = _now_ns()
    cdef int64_t dt
    try:
        reply = handler(node, client, argv)
    except _CommandError as e:
        reply = _ErrorReply(e.message)
    dt = _now_ns() - t0
    _count(st, dt)
    # The threshold as it is after the command (CONFIG SET slowlog-log-slower-than logs itself).
    if dt >= <int64_t>node.slow_ns:
        node.on_slow(client, cmd, argv, dt, reply)
    if type(reply) is _ErrorReply:
        st.errors += 1
        node._count_error(reply.message)
    return reply
