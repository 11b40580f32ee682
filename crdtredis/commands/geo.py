"""Geo commands (Redis geo.c) on the sorted-set CRDT: GEOADD, GEODIST, GEOHASH, GEOPOS,
GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO], GEOSEARCH, GEOSEARCHSTORE.

A geo index is a sorted set whose scores are 52-bit geohashes (crdt/geohash.py), so its
convergence rule is the sorted set's (crdt/zset_aw.py): GEOADD is ZADD (a concurrent GEOADD
of the same member resolves by the highest stamp, an add wins over a concurrent ZREM), and
the *STORE variants replace their destination like ZRANGESTORE.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import geohash as gh
from ..crdt.zset_aw import ZsetEntry
from ..reply import NULL_ARRAY, CommandError, DoubleText, Reply
from .helpers import arg_int, check_type, db_of, lookup_read, lookup_write
from .registry import command
from .zset_args import parse_score
from .zsets import _emit_store, _zadd

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
NEED_RADIUS = "ERR need numeric radius"
NEG_RADIUS = "ERR radius cannot be negative"
NEED_WIDTH = "ERR need numeric width"
NEED_HEIGHT = "ERR need numeric height"
NEG_BOX = "ERR height or width cannot be negative"
NO_MEMBER = "ERR could not decode requested zset member"
COUNT_POSITIVE = "ERR COUNT must be > 0"
ANY_NEEDS_COUNT = "ERR the ANY argument requires COUNT argument"

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def _lonlat(a: bytes, b: bytes) -> tuple[float, float]:
    """extractLongLatOrReply."""
    lon = parse_score(a)
    lat = parse_score(b)
    if lon < gh.LONG_MIN or lon > gh.LONG_MAX or lat < gh.LAT_MIN or lat > gh.LAT_MAX:
        raise CommandError(f"ERR invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def _unit(b: bytes) -> float:
    u = _UNITS.get(b.lower())
    if u is None:
        raise CommandError(UNIT)
    return u


def _read(node: Node, client: Client, key: bytes) -> ZsetEntry | None:
    return check_type(lookup_read(node, db_of(node, client), key), ZsetEntry)  # type: ignore[no-any-return]


# GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
@command("geoadd", -5, "write denyoom", 1, 1, 1, group="geo",
         summary="Add one or more geospatial items in the geospatial index represented using a sorted set",
         since="3.2.0", acl="geo slow")
def geoadd_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    i = 2
    nx = xx = False
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        i += 1
    if (len(argv) - i) % 3 or (nx and xx):
        raise CommandError(errors.SYNTAX)
    zargv = [b"zadd", *argv[1:i]]
    for j in range(i, len(argv), 3):
        lon, lat = _lonlat(argv[j], argv[j + 1])
        score = gh.score_of(lon, lat)
        zargv.append(b"%d" % (score or 0))
        zargv.append(argv[j + 2])
    return _zadd(node, client, zargv, False)


# GEODIST key member1 member2 [M|KM|FT|MI]
@command("geodist", -4, "readonly", 1, 1, 1, group="geo",
         summary="Returns the distance between two members of a geospatial index", since="3.2.0", acl="geo slow")
def geodist_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise CommandError(errors.SYNTAX)
    e = _read(node, client, argv[1])
    if e is None:
        return None
    s1, s2 = e.score(argv[2]), e.score(argv[3])
    if s1 is None or s2 is None:
        return None
    a, b = gh.decode_score(s1), gh.decode_score(s2)
    if a is None or b is None:
        return None
    return gh.format_distance(gh.distance(a[0], a[1], b[0], b[1]) / to_meter)


# GEOHASH key [member ...]
@command("geohash", -2, "readonly", 1, 1, 1, group="geo",
         summary="Returns members of a geospatial index as standard geohash strings", since="3.2.0", acl="geo slow")
def geohash_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    out: list[bytes | None] = []
    for m in argv[2:]:
        s = None if e is None else e.score(m)
        out.append(None if s is None else gh.geohash_string(s))
    return out


def _coords(lon: float, lat: float) -> list[DoubleText]:
    return [DoubleText(gh.format_coord(lon)), DoubleText(gh.format_coord(lat))]


# GEOPOS key [member ...]
@command("geopos", -2, "readonly", 1, 1, 1, group="geo",
         summary="Returns longitude and latitude of members of a geospatial index", since="3.2.0", acl="geo slow")
def geopos_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    out: list[Any] = []
    for m in argv[2:]:
        s = None if e is None else e.score(m)
        xy = None if s is None else gh.decode_score(s)
        out.append(NULL_ARRAY if xy is None else _coords(xy[0], xy[1]))
    return out


# ---- searches (georadiusGeneric) -------------------------------------------------------
_COORDS, _MEMBER, _NOSTORE, _SEARCH, _SEARCHSTORE = 1, 2, 4, 8, 16


def _range_of(e: ZsetEntry) -> gh.RangeFn:
    def in_range(lo: float, hi: float) -> Iterator[tuple[float, bytes]]:
        # min <= score < max, in (score, member) order.
        return e.index.irange((lo,), (hi,), inclusive=(True, False))  # type: ignore[no-any-return]
    return in_range


def _member_xy(e: ZsetEntry, member: bytes) -> tuple[float, float]:
    s = e.score(member)
    xy = None if s is None else gh.decode_score(s)
    if xy is None:
        raise CommandError(NO_MEMBER)
    return xy


def _distance_arg(shape: gh.Shape, a: bytes, unit: bytes) -> None:
    d = parse_score(a, NEED_RADIUS)
    if d < 0:
        raise CommandError(NEG_RADIUS)
    shape.radius = d
    shape.conversion = _unit(unit)


def _georadius(node: Node, client: Client, argv: list[bytes], src: int, flags: int) -> Reply:
    db = db_of(node, client)
    e = check_type(lookup_read(node, db, argv[src]), ZsetEntry)
    storekey: bytes | None = None
    storedist = False
    shape = gh.Shape()
    n = len(argv)
    if flags & _COORDS:
        base = 6
        shape.lon, shape.lat = _lonlat(argv[2], argv[3])
        _distance_arg(shape, argv[4], argv[5])
    elif flags & _MEMBER:
        base = 5
        if e is not None:
            shape.lon, shape.lat = _member_xy(e, argv[2])
            _distance_arg(shape, argv[3], argv[4])
    else:
        base = 2
        if flags & _SEARCHSTORE:
            base = 3
            storekey = argv[1]
    withdist = withhash = withcoord = anyflag = False
    frommember = fromloc = byradius = bybox = False
    sort = 0  # 0 none, 1 asc, 2 desc
    count = 0
    i = base
    while i < n:
        arg = argv[i].lower()
        rem = n - i - 1
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoord = True
        elif arg == b"any":
            anyflag = True
        elif arg == b"asc":
            sort = 1
        elif arg == b"desc":
            sort = 2
        elif arg == b"count" and rem >= 1:
            v = arg_int(argv[i + 1])
            if v <= 0:
                raise CommandError(COUNT_POSITIVE)
            count = v
            i += 1
        elif arg in (b"store", b"storedist") and rem >= 1 and not flags & (_NOSTORE | _SEARCH):
            storekey = argv[i + 1]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and flags & _SEARCH and flags & _SEARCHSTORE:
            storedist = True
        elif arg == b"frommember" and rem >= 1 and flags & _SEARCH and not fromloc:
            if e is not None:
                shape.lon, shape.lat = _member_xy(e, argv[i + 1])
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and rem >= 2 and flags & _SEARCH and not frommember:
            shape.lon, shape.lat = _lonlat(argv[i + 1], argv[i + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and rem >= 2 and flags & _SEARCH and not bybox:
            _distance_arg(shape, argv[i + 1], argv[i + 2])
            byradius = True
            i += 2
        elif arg == b"bybox" and rem >= 3 and flags & _SEARCH and not byradius:
            w = parse_score(argv[i + 1], NEED_WIDTH)
            h = parse_score(argv[i + 2], NEED_HEIGHT)
            if h < 0 or w < 0:
                raise CommandError(NEG_BOX)
            shape.conversion = _unit(argv[i + 3])
            shape.radius = None
            shape.width, shape.height = w, h
            bybox = True
            i += 3
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if storekey is not None and (withdist or withhash or withcoord):
        what = "GEOSEARCHSTORE" if flags & _SEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError(f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    cmdname = argv[0].decode("utf-8", "replace")
    if flags & _SEARCH and not (frommember or fromloc):
        raise CommandError(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {cmdname}")
    if flags & _SEARCH and not (byradius or bybox):
        raise CommandError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {cmdname}")
    if anyflag and not count:
        raise CommandError(ANY_NEEDS_COUNT)
    if e is None:
        if storekey is not None:
            if lookup_write(node, db, storekey) is not None:
                _emit_store(node, db, storekey, [], None, _store_event(flags))
            return 0
        return []
    if count and not sort and not anyflag:
        sort = 1
    found = gh.search(shape, _range_of(e), count if anyflag else 0)
    if not found and storekey is None:
        return []
    if sort:
        found.sort(key=lambda p: p[2], reverse=sort == 2)
    if count and len(found) > count:
        found = found[:count]
    conv = shape.conversion
    if storekey is None:
        out: list[Any] = []
        for lon, lat, dist, score, member in found:
            if not (withdist or withhash or withcoord):
                out.append(member)
                continue
            item: list[Any] = [member]
            if withdist:
                item.append(gh.format_distance(dist / conv))
            if withhash:
                item.append(int(score))
            if withcoord:
                item.append(_coords(lon, lat))
            out.append(item)
        return out
    items = sorted(((dist / conv if storedist else score), member) for _lo, _la, dist, score, member in found)
    return _emit_store(node, db, storekey, items, None, _store_event(flags))


def _store_event(flags: int) -> bytes:
    # Redis georadiusGeneric: the keyspace event of the destination.
    return b"geosearchstore" if flags & _SEARCHSTORE else b"georadiusstore"


def _store_keys(base: int) -> Callable[[list[bytes]], list[int]]:
    """Key positions of GEORADIUS[BYMEMBER]: the source, then the STORE/STOREDIST keys
    (Redis's keyword key specs, searched from the first option on)."""
    def keys(argv: list[bytes]) -> list[int]:
        out = [1]
        for i in range(base, len(argv) - 1):
            if argv[i].lower() in (b"store", b"storedist"):
                out.append(i + 1)
        return out
    return keys


# GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
#     [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]
@command("georadius", -6, "write denyoom movablekeys", 1, 1, 1, group="geo",
         summary="Query a sorted set representing a geospatial index to fetch members matching a given "
                 "maximum distance from a point", since="3.2.0", acl="geo slow", getkeys=_store_keys(6))
def georadius_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _georadius(node, client, argv, 1, _COORDS)


# GEORADIUSBYMEMBER key member radius M|KM|FT|MI [...options of GEORADIUS]
@command("georadiusbymember", -5, "write denyoom movablekeys", 1, 1, 1, group="geo",
         summary="Query a sorted set representing a geospatial index to fetch members matching a given "
                 "maximum distance from a member", since="3.2.0", acl="geo slow", getkeys=_store_keys(5))
def georadiusbymember_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _georadius(node, client, argv, 1, _MEMBER)


# GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] ...
@command("georadius_ro", -6, "readonly", 1, 1, 1, group="geo", summary="A read-only variant for GEORADIUS",
         since="3.2.10", acl="geo slow")
def georadius_ro_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _georadius(node, client, argv, 1, _COORDS | _NOSTORE)


# GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] ...
@command("georadiusbymember_ro", -5, "readonly", 1, 1, 1, group="geo",
         summary="A read-only variant for GEORADIUSBYMEMBER", since="3.2.10", acl="geo slow")
def georadiusbymember_ro_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _georadius(node, client, argv, 1, _MEMBER | _NOSTORE)


# GEOSEARCH key FROMMEMBER member|FROMLONLAT lon lat BYRADIUS r unit|BYBOX w h unit
#     [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
@command("geosearch", -7, "readonly", 1, 1, 1, group="geo",
         summary="Query a sorted set representing a geospatial index to fetch members inside an area of a "
                 "box or a circle.", since="6.2.0", acl="geo slow")
def geosearch_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _georadius(node, client, argv, 1, _SEARCH)


# GEOSEARCHSTORE dst src FROMMEMBER member|FROMLONLAT lon lat BYRADIUS r unit|BYBOX w h unit
#     [ASC|DESC] [COUNT count [ANY]] [STOREDIST]
@command("geosearchstore", -8, "write denyoom", 1, 2, 1, group="geo",
         summary="Query a sorted set representing a geospatial index to fetch members inside an area of a "
                 "box or a circle, and store the result in another key.", since="6.2.0", acl="geo slow")
def geosearchstore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _georadius(node, client, argv, 2, _SEARCH | _SEARCHSTORE)
