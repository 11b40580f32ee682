"""How much memory a node uses, for `maxmemory`, INFO memory and MEMORY STATS.

Redis counts every byte its allocator hands out (zmalloc_used_memory); RSS is reported
beside it, and their ratio is the fragmentation. crdt-redis asks its two allocators the
same question, a few times a second (`sample`, ~1 ms; the server's cron samples 10 times a
second, and a sample is also taken after every 16 MB written):

* glibc's malloc (mallinfo2: bytes in use in its arenas and in its mmapped blocks): every
  value larger than 512 bytes, dict and list tables, buffers, Lua, hiredis, uvloop;
* Python's small-object allocator, pymalloc (the "bytes in allocated blocks" of
  sys._debugmallocstats, read back through a memfd while C stderr points at it): every
  object up to 512 bytes, which is most keys, tuples and small values.

    used = allocated at the last sample − not counted + written since − evicted since

Between samples, the bytes of write commands and replicated ops are added and what this
node evicts (its estimated size) is subtracted, so a pipeline of big writes counts before
the next sample; each sample starts over from what the allocators say, so estimates never
accumulate by more than the meter's `band`.

The band (set while maxmemory is: commands/maxmemory.py): a sample within `band` bytes of
the estimate keeps the estimate. What the allocators hold moves by hundreds of KB with no
change to the data (an op record waiting for the log, a client's buffers, a reply being
built), so a sample taken at a different moment than the one before it would move
used_memory, and with it eviction, by that much at random; Redis's own count moves only
with what is allocated for data. Within the band, used_memory moves only with what is
written and freed, the way a client that watches it expects (a limit set 100 KB above
used_memory is reached by writing 100 KB). Beyond it, the sample wins as before.

While a peer's snapshot installs (replication/service.py: a second keyspace is built beside
the current one, which it then replaces), the meter is `held`: a sample that measures more
than the estimate keeps the estimate, so used_memory, and eviction with it, move only with
what clients and peers write meanwhile, not with the keyspace being loaded. The sample
taken when the install ends measures what is left: the new keyspace, or the current one if
the snapshot was refused. Redis has no such moment: a replica drops its data before it
loads a master's RDB.

What `not_counted` returns is left out (the replication backlog when no maxmemory bounds
it: commands/maxmemory.py). The process's code and libraries are not
allocations and are not counted either; used_memory_startup is what the interpreter and the loaded modules had allocated when the
node started (~15-20 MB).

Without glibc (musl, macOS) the measure falls back to RSS with an eviction credit: memory
freed by evicting is credited (Python keeps freed memory, so RSS does not drop) and used up
by later writes, less any growth of RSS beyond what was written.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SAMPLE_AFTER_BYTES = 16 << 20
# Bytes a written or evicted argument costs beyond its length (its bytes object and the
# slot holding it), the same on both sides so that a write and the eviction of what it
# wrote cancel out between two samples.
PER_ARG = 48
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PYMALLOC_RE = re.compile(rb"# bytes in allocated blocks\s*=\s*([0-9,]+)")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]


class Allocators:
    """The in-use bytes of malloc and pymalloc (see the module docstring); `ok` is False
    where they cannot be read."""

    def __init__(self) -> None:
        self._mallinfo2: Callable[[], _MallInfo2] | None = None
        self._memfd = -1
        try:
            name = ctypes.util.find_library("c")
            libc = ctypes.CDLL(name) if name else None
            fn = getattr(libc, "mallinfo2", None)
            if fn is not None and hasattr(os, "memfd_create"):
                fn.restype = _MallInfo2
                self._mallinfo2 = fn
                self._memfd = os.memfd_create("crdtredis-mallocstats")
        except OSError:
            self._mallinfo2 = None
        self.ok = self._mallinfo2 is not None

    def in_use(self) -> int:
        assert self._mallinfo2 is not None
        mi = self._mallinfo2()
        return int(mi.uordblks + mi.hblkhd) + self._pymalloc()

    def _pymalloc(self) -> int:
        fd = self._memfd
        os.ftruncate(fd, 0)
        saved = os.dup(2)
        try:
            os.dup2(fd, 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        size = os.fstat(fd).st_size
        m = _PYMALLOC_RE.search(os.pread(fd, size, 0))
        return int(m.group(1).replace(b",", b"")) if m else 0


def _nothing() -> int:
    return 0


_SHARED: list[Allocators] = []


def shared_allocators() -> Allocators:
    """One per process: the allocators are the process's, and each holds a file
    descriptor (a process may run many nodes: tests, simulations)."""
    if not _SHARED:
        _SHARED.append(Allocators())
    return _SHARED[0]


class Meter:
    __slots__ = ("alloc", "base", "written", "freed", "credit", "rss", "peak", "startup", "not_counted", "at",
                 "band", "held")

    def __init__(self, not_counted: Callable[[], int] = _nothing, alloc: Allocators | None = None) -> None:
        self.not_counted = not_counted
        self.alloc = alloc if alloc is not None else shared_allocators()
        self.written = 0
        self.freed = 0
        self.credit = 0
        self.at = 0.0  # time.monotonic() of the last sample
        self.band = 0  # a sample this close to the estimate keeps it (module docstring)
        self.held = 0  # snapshot installs under way: samples never raise the estimate (module docstring)
        self.rss = read_rss(self)
        self.base = 0
        self.sample()
        self.startup = self.base
        self.peak = self.base

    def sample(self, exact: bool = False) -> int:
        """Ask the allocators (or read RSS) now and start over from what they say, unless
        that is within `band` of the estimate (`exact`: whatever the band)."""
        self.at = time.monotonic()
        rss = read_rss(self)
        nc = self.not_counted()
        estimate = self.base + self.written - self.freed
        if self.alloc.ok:
            measured = self.alloc.in_use() - nc
            if self.band and not exact and abs(measured - estimate) <= self.band:
                measured = estimate
            if self.held and measured > estimate:
                measured = estimate  # a snapshot loading beside the keyspace (module docstring)
            self.base = measured
        else:
            # RSS fallback: the credit left is what writes have not used up, less any
            # growth of RSS beyond what was written (that memory was not free for reuse).
            self.credit = max(0, self.credit + self.freed - max(self.written, rss - self.rss))
            self.base = rss - nc - self.credit
            if self.held and self.base > estimate:
                self.base = estimate
        self.rss = rss
        self.written = 0
        self.freed = 0
        used = self.base
        if used > getattr(self, "peak", 0):
            self.peak = used
        return used

    def used(self) -> int:
        u = self.base + self.written - self.freed
        if u > self.peak:
            self.peak = u
        return u

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Samples inside the block never raise the estimate (module docstring); one exact
        sample when it ends."""
        self.held += 1
        try:
            yield
        finally:
            self.held -= 1
            if not self.held:
                self.sample(exact=True)

    def note_write(self, n: int) -> None:
        self.written += n
        if self.written >= SAMPLE_AFTER_BYTES:
            self.sample()

    def note_freed(self, n: int) -> None:
        self.freed += n


_STATM: list[int] = []  # /proc/self/statm, opened once per process


def read_rss(m: Meter | None = None) -> int:
    """Resident set size in bytes (/proc/self/statm, kept open; getrusage elsewhere)."""
    try:
        if not _STATM:
            _STATM.append(os.open("/proc/self/statm", os.O_RDONLY))
        data = os.pread(_STATM[0], 64, 0)
        return int(data.split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
