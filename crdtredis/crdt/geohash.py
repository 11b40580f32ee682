"""Redis's geohash arithmetic (src/geohash.c, geohash_helper.c, the search parts of geo.c).

A geo member is a sorted-set member whose score is a 52-bit interleaved geohash (26 steps
of latitude and longitude bits); the CRDT is the sorted set's (crdt/zset_aw.py). These are
the same double-precision operations, in the same order, as Redis's C code, so scores,
decoded coordinates, distances, the search boxes and their neighbours come out bit for bit
the same; that is what makes GEOPOS, GEODIST and the order of GEOSEARCH results match.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

STEP_MAX = 26
LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
LONG_MIN = -180.0
LONG_MAX = 180.0

D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37

_M64 = (1 << 64) - 1
_B = (0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF,
      0x0000FFFF0000FFFF, 0x00000000FFFFFFFF)


def _spread(v: int) -> int:
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & _B[4]
    v = (v | (v << 8)) & _B[3]
    v = (v | (v << 4)) & _B[2]
    v = (v | (v << 2)) & _B[1]
    return (v | (v << 1)) & _B[0]


def interleave64(xlo: int, ylo: int) -> int:
    return _spread(xlo) | (_spread(ylo) << 1)


def _compact(x: int) -> int:
    x &= _B[0]
    x = (x | (x >> 1)) & _B[1]
    x = (x | (x >> 2)) & _B[2]
    x = (x | (x >> 4)) & _B[3]
    x = (x | (x >> 8)) & _B[4]
    return (x | (x >> 16)) & _B[5]


def deinterleave64(v: int) -> int:
    return _compact(v) | (_compact(v >> 1) << 32)


Hash = tuple[int, int]  # (bits, step); (0, 0) is "no hash" (GZERO)


def encode(lon: float, lat: float, step: int = STEP_MAX, lon_range: tuple[float, float] = (LONG_MIN, LONG_MAX),
           lat_range: tuple[float, float] = (LAT_MIN, LAT_MAX)) -> Hash | None:
    """geohashEncode; None where Redis returns 0."""
    if step > 32 or step == 0:
        return None
    if lon > LONG_MAX or lon < LONG_MIN or lat > LAT_MAX or lat < LAT_MIN:
        return None
    if lat < lat_range[0] or lat > lat_range[1] or lon < lon_range[0] or lon > lon_range[1]:
        return None
    lat_off = (lat - lat_range[0]) / (lat_range[1] - lat_range[0])
    lon_off = (lon - lon_range[0]) / (lon_range[1] - lon_range[0])
    lat_off *= 1 << step
    lon_off *= 1 << step
    return interleave64(int(lat_off), int(lon_off)), step


@dataclass
class Area:
    hash: Hash
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


def decode(h: Hash, lon_range: tuple[float, float] = (LONG_MIN, LONG_MAX),
           lat_range: tuple[float, float] = (LAT_MIN, LAT_MAX)) -> Area | None:
    bits, step = h
    if bits == 0 and step == 0:
        return None
    sep = deinterleave64(bits)
    lat_scale = lat_range[1] - lat_range[0]
    lon_scale = lon_range[1] - lon_range[0]
    ilato = sep & 0xFFFFFFFF
    ilono = sep >> 32
    div = float(1 << step)
    return Area(h,
                lon_range[0] + (ilono * 1.0 / div) * lon_scale,
                lon_range[0] + ((ilono + 1) * 1.0 / div) * lon_scale,
                lat_range[0] + (ilato * 1.0 / div) * lat_scale,
                lat_range[0] + ((ilato + 1) * 1.0 / div) * lat_scale)


_INDEFINITE = 1 << 63


def _cvtt(x: float) -> int:
    """x86-64 cvttsd2si: truncation to int64; the "integer indefinite" value out of range."""
    if -9223372036854775808.0 <= x < 9223372036854775808.0:
        return int(x) & _M64
    return _INDEFINITE


def to_uint64(x: float) -> int:
    """C's (uint64_t) of a double as gcc compiles it on x86-64 (Redis's decodeGeohash does
    this to any zset score, including inf and negative ones)."""
    if x < 9223372036854775808.0:
        return _cvtt(x)
    return _cvtt(x - 9223372036854775808.0) ^ _INDEFINITE


def decode_score(score: float) -> tuple[float, float] | None:
    """decodeGeohash: (longitude, latitude) of a 52-bit score; None if it cannot decode."""
    a = decode((to_uint64(score), STEP_MAX))
    if a is None:
        return None
    x = (a.lon_min + a.lon_max) / 2
    x = min(max(x, LONG_MIN), LONG_MAX)
    y = (a.lat_min + a.lat_max) / 2
    y = min(max(y, LAT_MIN), LAT_MAX)
    return x, y


def align52(h: Hash) -> int:
    return (h[0] << (52 - h[1] * 2)) & _M64


def score_of(lon: float, lat: float) -> int | None:
    h = encode(lon, lat)
    return None if h is None else align52(h)


_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def geohash_string(score: float) -> bytes | None:
    """GEOHASH: the standard 11-character geohash (latitude range +-90)."""
    xy = decode_score(score)
    if xy is None:
        return None
    h = encode(xy[0], xy[1], 26, (-180.0, 180.0), (-90.0, 90.0))
    bits = 0 if h is None else h[0]
    out = bytearray(11)
    for i in range(11):
        idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out[i] = _ALPHABET[idx]
    return bytes(out)


# ---- neighbours --------------------------------------------------------------------------
def _move_x(h: Hash, d: int) -> Hash:
    bits, step = h
    if d == 0:
        return h
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _M64
    else:
        x = x | zz
        x = (x - (zz + 1)) & _M64
    x &= 0xAAAAAAAAAAAAAAAA >> (64 - step * 2)
    return x | y, step


def _move_y(h: Hash, d: int) -> Hash:
    bits, step = h
    if d == 0:
        return h
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0xAAAAAAAAAAAAAAAA >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _M64
    else:
        y = y | zz
        y = (y - (zz + 1)) & _M64
    y &= 0x5555555555555555 >> (64 - step * 2)
    return x | y, step


def _move(h: Hash, dx: int, dy: int) -> Hash:
    return _move_y(_move_x(h, dx), dy)


# ---- distances ---------------------------------------------------------------------------
def deg_rad(a: float) -> float:
    return a * D_R


def rad_deg(a: float) -> float:
    return a / D_R


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_IN_METERS * math.fabs(deg_rad(lat2) - deg_rad(lat1))


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance: haversine on Redis's earth radius."""
    lon1r = deg_rad(lon1)
    lon2r = deg_rad(lon2)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = deg_rad(lat1)
    lat2r = deg_rad(lat2)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(a))


# ---- shapes and the boxes that cover them ----------------------------------------------------
@dataclass
class Shape:
    lon: float = 0.0
    lat: float = 0.0
    conversion: float = 1.0
    radius: float | None = None  # circle (in units); None: a box
    width: float = 0.0
    height: float = 0.0
    bounds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])

    def contains(self, lon: float, lat: float) -> float | None:
        """geoWithinShape: the distance in meters if inside, else None."""
        if self.radius is not None:
            d = distance(self.lon, self.lat, lon, lat)
            return None if d > self.radius * self.conversion else d
        w = self.width * self.conversion
        h = self.height * self.conversion
        if lat_distance(lat, self.lat) > h / 2:
            return None
        if distance(lon, lat, self.lon, lat) > w / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)


def estimate_steps(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return max(1, min(step, 26))


def _c_cos(x: float) -> float:
    """C's cos: NaN for an infinite argument (a radius of 1e308 km), where math.cos raises."""
    return math.cos(x) if math.isfinite(x) else math.nan


def bounding_box(s: Shape) -> list[float]:
    if s.radius is not None:
        height = s.conversion * s.radius
        width = s.conversion * s.radius
    else:
        height = s.conversion * (s.height / 2)
        width = s.conversion * (s.width / 2)
    lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS)
    long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / _c_cos(deg_rad(s.lat + lat_delta)))
    long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / _c_cos(deg_rad(s.lat - lat_delta)))
    south = s.lat < 0
    return [s.lon - long_delta_bottom if south else s.lon - long_delta_top,
            s.lat - lat_delta,
            s.lon + long_delta_bottom if south else s.lon + long_delta_top,
            s.lat + lat_delta]


def search_boxes(s: Shape) -> list[Hash]:
    """geohashCalculateAreasByShapeWGS84, in membersOfAllNeighbors' order: the centre box,
    then N, S, E, W, NE, NW, SE, SW ((0, 0) for the ones excluded as useless)."""
    s.bounds = bounding_box(s)
    min_lon, min_lat, max_lon, max_lat = s.bounds
    if s.radius is not None:
        radius_m = s.radius
    else:
        radius_m = math.sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2))
    radius_m *= s.conversion
    steps = estimate_steps(radius_m, s.lat)
    h = encode(s.lon, s.lat, steps) or (0, steps)
    dirs = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
    nb = [_move(h, dx, dy) for dx, dy in dirs]
    area = decode(h)
    north, south, east, west = (decode(nb[i]) for i in range(4))
    decrease = False
    if north is not None and north.lat_max < max_lat:
        decrease = True
    if south is not None and south.lat_min > min_lat:
        decrease = True
    if east is not None and east.lon_max < max_lon:
        decrease = True
    if west is not None and west.lon_min > min_lon:
        decrease = True
    if steps > 1 and decrease:
        steps -= 1
        h = encode(s.lon, s.lat, steps) or (0, steps)
        nb = [_move(h, dx, dy) for dx, dy in dirs]
        area = decode(h)
    zero = (0, 0)
    if steps >= 2 and area is not None:
        n_, s_, e_, w_, ne, nw, se, sw = range(8)
        if area.lat_min < min_lat:
            for i in (s_, sw, se):
                nb[i] = zero
        if area.lat_max > max_lat:
            for i in (n_, ne, nw):
                nb[i] = zero
        if area.lon_min < min_lon:
            for i in (w_, sw, nw):
                nb[i] = zero
        if area.lon_max > max_lon:
            for i in (e_, se, ne):
                nb[i] = zero
    return [h, *nb]


GeoPoint = tuple[float, float, float, float, bytes]  # (lon, lat, dist m, score, member)
RangeFn = Callable[[float, float], Iterable[tuple[float, bytes]]]


def search(s: Shape, in_range: RangeFn, limit: int) -> list[GeoPoint]:
    """membersOfAllNeighbors: the members inside `s`, box by box, each box's members in
    score order; `in_range(min, max)` yields (score, member) with min <= score < max.
    `limit` (ANY COUNT n) stops after n matches; 0: no limit."""
    boxes = search_boxes(s)
    out: list[GeoPoint] = []
    last = 0
    for i, h in enumerate(boxes):
        if h == (0, 0):
            continue
        if last and h == boxes[last]:
            continue
        if out and limit and len(out) >= limit:
            break
        lo = align52(h)
        hi = align52((h[0] + 1, h[1]))
        for score, member in in_range(float(lo), float(hi)):
            xy = decode_score(score)
            if xy is not None:
                d = s.contains(xy[0], xy[1])
                if d is not None:
                    out.append((xy[0], xy[1], d, score, member))
            if out and limit and len(out) >= limit:
                break
        last = i
    return out


# ---- reply formatting ----------------------------------------------------------------------
def format_distance(d: float) -> bytes:
    """fixedpoint_d2string(d, 4): llrint(d * 10^4) with 4 decimals."""
    if d == 0:
        return b"0.0000"
    v = round(d * 10000.0)
    neg = v < 0
    v = abs(v)
    s = b"%d.%04d" % (v // 10000, v % 10000)
    return b"-" + s if neg else s


def format_coord(d: float) -> bytes:
    """ld2string(LD_STR_HUMAN): "%.17Lf" without trailing zeros."""
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    s = b"%.17f" % d
    s = s.rstrip(b"0")
    if s.endswith(b"."):
        s = s[:-1]
    if s == b"-0":
        s = b"0"
    return s
