"""Python's cyclic garbage collector, set for a server whose heap is a large keyspace.

The keyspace is almost entirely acyclic: plain strings are tuples of atoms (which the
collector untracks), but every other value is an Entry object (a CounterStr, a set, a
list...) with a few containers, all tracked. With the default thresholds (700, 10, 10) a
young collection runs every ~700 allocations and older generations follow, so a write
that creates an Entry pays for traversing survivors again and again: on a replica with
peers, where INCR keeps its contribution in a CounterStr until GC folds it, that was ~2 µs
of a ~7.5 µs INCR in process (1.9x the solo node, where INCR writes a tuple; 1.4x with the
thresholds below). Full collections over a million entries are also pauses of tens of
milliseconds, which showed up as replication lag outliers.

* `tune()` (at process start): young collections every 50,000 allocations (a pause of a
  millisecond or two, once per several thousand writes), and full collections 100x rarer
  than the default.
* `paused()` (around start-up's loading: recovery.py): no collections at all while the
  base and the log are loaded. Everything built then is the keyspace, which survives, so
  a collection could only traverse it again (~5-20% of a replay or a snapshot install);
  the few cycles loading may leave are found by a later full collection.
* `freeze_loaded()` (once the node has started: the log replayed, the base loaded): what
  start-up built moves to the permanent generation, which collections never traverse (and
  whose pages a compaction fork then shares instead of copying when a collection would
  touch their headers). Those objects are the recovered keyspace and the modules: nothing
  there becomes cyclic garbage worth finding.

Cyclic garbage is still collected, only later; reference counting frees everything else
at once, as before.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (50_000, 20, 100)


def tune() -> None:
    gc.set_threshold(*THRESHOLDS)


def freeze_loaded() -> None:
    # No collection first: a full pass over a freshly loaded million-key heap is a start-up
    # delay, and the few cycles start-up left behind are not worth it.
    gc.freeze()


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (the previous setting is restored)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            # Everything allocated meanwhile counts as young: the first allocation after
            # the block would traverse all of it at once (~70 ms after a 500,000-op
            # replay). Frozen and unfrozen, it moves to the oldest generation untraversed.
            gc.freeze()
            gc.unfreeze()
        if was:
            gc.enable()
