"""SORT and SORT_RO (Redis 7.0 sort.c).

Sorting is a read of the list, set or sorted set at the origin; `BY` and `GET` patterns
read other keys there too (`*` is replaced by the element; `->field` reads a hash field;
`GET #` is the element itself). `STORE` is a write: it replaces the destination with a
list, as the other *STORE commands do (DEL of what the origin saw at the destination, then
one insert of all values: crdt/list_rga.py), so a concurrent write to the destination
elsewhere merges with the stored list by the list rule.

Ordering follows Redis exactly: numeric sorting by strtod's value (an element or BY value
that is not a number is an error), equal scores ordered by the elements' bytes; ALPHA
compares bytes (without STORE as C strcoll in the C locale does: up to the first NUL byte);
with ALPHA and BY, a missing BY key sorts first and equal values keep their order (Redis's
glibc qsort is a merge sort, so stable). `BY` without `*` (e.g. `nosort`) skips sorting:
lists and sorted sets keep their order (reversed by DESC), sets too, except with STORE
where Redis sorts them ALPHA to make the stored result deterministic.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.codes import DEL
from ..crdt.list_rga import ListEntry, insert_effect
from ..crdt.map_fields import HashEntry
from ..crdt.numbers import parse_int
from ..crdt.set_aw import SetEntry
from ..crdt.string_counter import string_value
from ..crdt.zset_aw import ZsetEntry
from ..keyspace import Db
from ..reply import CommandError, Reply
from .helpers import db_of, is_string, lookup_read, lookup_write
from .registry import command
from .stream_util import from_script
from .zset_args import strtod

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1


def _cstr(b: bytes) -> bytes:
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


def lookup_pattern(node: Node, db: Db, pattern: bytes, subst: bytes) -> bytes | None:
    """lookupKeyByPattern: the string (or hash field) the pattern names for `subst`."""
    if pattern == b"#":
        return subst
    cpat = _cstr(pattern)  # Redis searches the pattern with strchr/strstr
    p = cpat.find(b"*")
    if p < 0:
        return None
    f = cpat.find(b"->", p + 1)
    field: bytes | None = None
    fieldlen = 0
    if f >= 0 and f + 2 < len(cpat):
        fieldlen = len(pattern) - f - 2
        field = pattern[f + 2:]
    key = pattern[:p] + subst + pattern[p + 1:len(pattern) - (fieldlen + 2 if fieldlen else 0)]
    e = lookup_read(node, db, key)
    if e is None:
        return None
    if field is not None:
        return e.get(field) if type(e) is HashEntry else None
    return string_value(e) if is_string(e) else None


def _long(b: bytes) -> int:
    v = parse_int(b)
    if v is None or not LONG_MIN <= v <= LONG_MAX:
        raise CommandError(errors.NOT_INTEGER)
    return v


def _score(b: bytes) -> float | None:
    """strtod as SORT uses it: None when the value is not a number."""
    v, used, erange = strtod(b)
    if (used != len(b) and b[used] != 0) or erange or v != v:
        return None
    return v


def _sort(node: Node, client: Client, argv: list[bytes], readonly: bool) -> Reply:
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby: bytes | None = None
    store: bytes | None = None
    gets: list[bytes] = []
    j = 2
    n = len(argv)
    while j < n:
        left = n - j - 1
        opt = argv[j].lower()
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            limit_start = _long(argv[j + 1])
            limit_count = _long(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            store = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            sortby = argv[j + 1]
            dontsort = b"*" not in _cstr(sortby)
            j += 1
        elif opt == b"get" and left >= 1:
            gets.append(argv[j + 1])
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1

    db = db_of(node, client)
    e = lookup_read(node, db, argv[1])
    if e is not None and type(e) not in (SetEntry, ListEntry, ZsetEntry):
        raise CommandError(errors.WRONGTYPE)
    if dontsort and type(e) is SetEntry and (store is not None or from_script(client)):
        # A set has no order of its own: sort it so the stored list (or what a script
        # sees) is deterministic.
        dontsort, alpha, sortby = False, True, None

    elems: list[bytes]
    native = False  # elements already in the container's own order (DESC reverses it)
    if e is None:
        elems = []
    elif type(e) is ListEntry:
        elems = e.values()
        native = True
    elif type(e) is SetEntry:
        elems = e.members()
    else:
        elems = [m for _s, m in e.items()]
        native = True
    size = len(elems)
    start = min(max(limit_start, 0), size)
    count = min(max(limit_count, -1), size)
    end = size - 1 if count < 0 else start + count - 1
    if start >= size:
        start, end = size - 1, size - 2
    if end >= size:
        end = size - 1

    bad = False
    if dontsort:
        if native and desc:
            elems.reverse()
    else:
        if alpha:
            if sortby is not None:
                def by_key(x: bytes) -> Any:
                    v = lookup_pattern(node, db, sortby, x)  # type: ignore[arg-type]
                    if v is None:
                        return (0, b"")
                    return (1, v if store is not None else _cstr(v))
                elems.sort(key=by_key, reverse=desc)
            else:
                elems.sort(key=(lambda x: x) if store is not None else _cstr, reverse=desc)
        else:
            keyed: list[tuple[float, bytes]] = []
            for x in elems:
                v = x if sortby is None else lookup_pattern(node, db, sortby, x)
                if v is None:
                    keyed.append((0.0, x))
                    continue
                sc = _score(v)
                if sc is None:
                    bad = True
                    sc = 0.0
                keyed.append((sc, x))
            keyed.sort(reverse=desc)
            elems = [x for _s, x in keyed]
    chosen = elems[start:end + 1] if end >= start else []
    if bad:
        raise CommandError(errors.SORT_BAD_SCORES)

    if store is None:
        if not gets:
            return chosen
        out: list[bytes | None] = []
        for x in chosen:
            for g in gets:
                out.append(lookup_pattern(node, db, g, x))
        return out
    vals: list[bytes] = []
    for x in chosen:
        if not gets:
            vals.append(x)
        for g in gets:
            v = lookup_pattern(node, db, g, x)
            vals.append(b"" if v is None else v)
    if lookup_write(node, db, store) is not None:
        node.emit((DEL, db.index, store))
    if vals:
        node.emit(insert_effect(db.index, store, None, 0, vals, node.origin))
    return len(vals)


def _sort_keys(argv: list[bytes]) -> list[int]:
    """sortGetKeys: the sorted key, and the last STORE destination."""
    keys = [1]
    store = 0
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if opt in skip:
            i += skip[opt]
        elif opt == b"store" and i + 1 < len(argv):
            store = i + 1
        i += 1
    return keys + [store] if store else keys


# SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA] [STORE destination]
@command("sort", -2, "write denyoom", 1, 1, 1, group="generic",
         summary="Sort the elements in a list, set or sorted set", since="1.0.0",
         acl="set sortedset list slow dangerous", getkeys=_sort_keys)
def sort_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _sort(node, client, argv, False)


# SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA]
@command("sort_ro", -2, "readonly", 1, 1, 1, group="generic",
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.", since="7.0.0",
         acl="set sortedset list slow dangerous", getkeys=lambda argv: [1])
def sort_ro_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _sort(node, client, argv, True)
