"""Effect codes. They are persisted in the op log and sent to peers: never renumber.

Ranges: keys 1-9, strings 10-19, lists 20-39, sets 40-49, hashes 50-59, sorted sets 60-69,
function libraries 95-99 (crdt/functions.py).
"""
from __future__ import annotations

# keys (keyspace.py)
DEL = 1  # (DEL, db, key)                       observed-remove of all content + expiry values
EXPIRE = 2  # (EXPIRE, db, key, deadline_ms|None)  None = PERSIST
FLUSHDB = 3  # (FLUSHDB, db, b"")                 observed-remove of every key of the db

# strings (crdt/string_counter.py)
SET = 10  # (SET, db, key, value, ttl_mode, deadline_ms)  ttl_mode: 0 clear, 1 keep, 2 set
INCR = 11  # (INCR, db, key, delta)  delta: int, or bytes = decimal text (INCRBYFLOAT)
# (APPEND, db, key, chunk)  a partial write (crdt/string_bits.py): concurrent APPENDs all
# survive, in stamp order; a concurrent SET keeps it on top of its value.
APPEND = 12

# lists (crdt/list_rga.py has their shapes; here for the encoder's hot shapes, wire/codec.py)
LINSERT = 20
LREMOVE = 21

TTL_CLEAR = 0
TTL_KEEP = 1
TTL_SET = 2
