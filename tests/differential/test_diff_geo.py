"""Differential scripts for geo (GEOADD ... GEOSEARCHSTORE): scores, coordinates, distances
and search results byte for byte, in RESP2 and RESP3, including seeded random searches
around dense clusters and across the poles and the antimeridian."""
from __future__ import annotations

import random

import pytest

from tests.differential.harness import KEEP_GOING, Differ, Script, ScriptCase, hello_mode, scripts

SICILY = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"


def _random_geo(seed: int, resp3: bool = False) -> Script:
    rng = random.Random(seed)
    steps: Script = [KEEP_GOING]
    if resp3:
        steps.append(("HELLO 3", hello_mode()))
    for i in range(250):
        if rng.random() < 0.6:
            lon, lat = rng.uniform(10, 11), rng.uniform(40, 41)
        else:
            lon, lat = rng.uniform(-180, 180), rng.uniform(-85.05, 85.05)
        steps.append(["GEOADD", "g", f"{lon:.6f}", f"{lat:.6f}", f"m{i}"])
    for _ in range(40):
        lon = rng.uniform(9.5, 11.5) if rng.random() < 0.7 else rng.uniform(-180, 180)
        lat = rng.uniform(39.5, 41.5) if rng.random() < 0.7 else rng.uniform(-85, 85)
        r = rng.choice([1, 10, 50, 100, 500, 3000, 20000])
        unit = rng.choice(["km", "m", "mi", "ft"])
        opts = rng.sample(["WITHDIST", "WITHCOORD", "WITHHASH", "ASC", "DESC"], rng.randint(0, 3))
        if "ASC" in opts and "DESC" in opts:
            opts.remove("DESC")
        if rng.random() < 0.3:
            opts += ["COUNT", str(rng.randint(1, 20))]
            if rng.random() < 0.3:
                opts.append("ANY")
        kind = rng.random()
        if kind < 0.3:
            steps.append(["GEORADIUS", "g", f"{lon:.5f}", f"{lat:.5f}", str(r), unit, *opts])
        elif kind < 0.5:
            steps.append(["GEORADIUSBYMEMBER_RO", "g", f"m{rng.randrange(250)}", str(r), unit, *opts])
        elif kind < 0.75:
            steps.append(["GEOSEARCH", "g", "FROMLONLAT", f"{lon:.5f}", f"{lat:.5f}", "BYBOX", str(r),
                          str(round(r * rng.uniform(0.2, 2), 3)), unit, *opts])
        else:
            steps.append(["GEOSEARCH", "g", "FROMMEMBER", f"m{rng.randrange(250)}", "BYRADIUS", str(r), unit, *opts])
        steps.append(["GEODIST", "g", f"m{rng.randrange(250)}", f"m{rng.randrange(250)}", unit])
    steps += ["GEOPOS g m1 m2 nope", "GEOHASH g m1 m2 m3 nope", "ZRANGE g 0 10 WITHSCORES"]
    return steps


GEO: dict[str, Script] = {
    "geoadd_basic": [
        SICILY, "ZRANGE Sicily 0 -1 WITHSCORES", "GEOADD Sicily 13.361389 38.115556 Palermo",
        "GEOADD Sicily CH 13.361390 38.115556 Palermo", "GEOADD Sicily NX 1 1 Palermo 2 2 New",
        "GEOADD Sicily XX 3 3 Palermo 4 4 Other", "GEOADD Sicily XX CH 3 3 Palermo",
        "ZRANGE Sicily 0 -1 WITHSCORES", "TYPE Sicily", "OBJECT ENCODING Sicily",
    ],
    "geoadd_errors": [
        KEEP_GOING,
        "GEOADD k 200 1 m", "GEOADD k 1 86 m", "GEOADD k x 1 m", "GEOADD k 1 1", "GEOADD k NX XX 1 1 m",
        "GEOADD k GT 1 1 m", "GEOADD k 1 1 m 2", "GEOADD k inf 1 m", "GEOADD k nan 1 m", "EXISTS k",
        "SET s v", "GEOADD s 1 1 m", "GEOADD k -180 -85.05112878 a 180 85.05112878 b", "GEOPOS k a b",
        "GEOHASH k a b",
    ],
    "geodist_geopos_geohash": [
        KEEP_GOING,
        SICILY, "GEODIST Sicily Palermo Catania", "GEODIST Sicily Palermo Catania km",
        "GEODIST Sicily Palermo Catania MI", "GEODIST Sicily Palermo Catania ft", "GEODIST Sicily Palermo x",
        "GEODIST nokey a b", "GEODIST Sicily Palermo Catania parsec", "GEODIST Sicily Palermo Catania km x",
        "GEODIST Sicily Palermo Palermo", "GEOPOS Sicily Palermo Catania NonExisting", "GEOPOS nokey a",
        "GEOPOS Sicily", "GEOHASH Sicily Palermo Catania x", "GEOHASH nokey a", "GEOHASH Sicily",
        "ZADD Sicily 9007199254740993 big", "GEOPOS Sicily big", "GEOHASH Sicily big",
    ],
    "georadius": [
        KEEP_GOING,
        SICILY, "GEORADIUS Sicily 15 37 100 km", "GEORADIUS Sicily 15 37 200 km WITHDIST",
        "GEORADIUS Sicily 15 37 200 km WITHCOORD WITHDIST WITHHASH", "GEORADIUS Sicily 15 37 200 km DESC",
        "GEORADIUS Sicily 15 37 200 km COUNT 1", "GEORADIUS Sicily 15 37 200 km COUNT 1 ANY",
        "GEORADIUS Sicily 15 37 200 km ANY", "GEORADIUS Sicily 15 37 200 km COUNT 0",
        "GEORADIUS Sicily 15 37 -1 km", "GEORADIUS Sicily 15 37 x km", "GEORADIUS Sicily 15 37 1 parsec",
        "GEORADIUS Sicily 200 37 1 km", "GEORADIUS nokey 15 37 200 km", "GEORADIUS Sicily 15 37 200 km FOO",
        "GEORADIUS Sicily 15 37 200 km STORE dst", "ZRANGE dst 0 -1 WITHSCORES",
        "GEORADIUS Sicily 15 37 200 km STOREDIST dst", "ZRANGE dst 0 -1 WITHSCORES",
        "GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST", "GEORADIUS Sicily 15 37 1 m STORE dst", "EXISTS dst",
        "GEORADIUS nokey 15 37 200 km STORE Sicily", "EXISTS Sicily",
    ],
    "georadiusbymember": [
        KEEP_GOING,
        SICILY, "GEOADD Sicily 13.583333 37.316667 Agrigento", "GEORADIUSBYMEMBER Sicily Agrigento 100 km",
        "GEORADIUSBYMEMBER Sicily Agrigento 200 km WITHDIST ASC", "GEORADIUSBYMEMBER Sicily nope 100 km",
        "GEORADIUSBYMEMBER_RO Sicily Agrigento 200 km WITHCOORD", "GEORADIUSBYMEMBER_RO Sicily Agrigento 200 km STORE x",
        "GEORADIUS_RO Sicily 15 37 200 km STORE x", "GEORADIUSBYMEMBER nokey a 100 km",
        "GEORADIUSBYMEMBER nokey a 100 km STORE dst", "SET s v", "GEORADIUSBYMEMBER s a 1 km",
    ],
    "geosearch": [
        KEEP_GOING,
        SICILY, "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km DESC COUNT 2",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 200 200 km", "GEOSEARCH Sicily BYRADIUS 200 km",
        "geosearch Sicily FROMLONLAT 15 37", "GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYBOX 1 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km",
        "GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 1 km", "GEOSEARCH nokey FROMMEMBER nope BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST",
    ],
    # Found by the RESP fuzzer (issue 13): an infinite box made math.cos raise.
    "geosearch_huge_areas": [
        SICILY, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1e308 km ASC",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS inf km ASC", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX inf inf m",
        "GEOSEARCH Sicily FROMLONLAT 15 -37 BYBOX 1e308 1 km DESC", "GEORADIUS Sicily 15 37 1.7e308 m WITHDIST",
    ],
    "geosearchstore": [
        KEEP_GOING,
        SICILY, "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3",
        "ZRANGE dst 0 -1 WITHSCORES", "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC STOREDIST",
        "ZRANGE dst 0 -1 WITHSCORES", "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
        "GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 200 km", "EXISTS dst",
        "GEOSEARCHSTORE Sicily Sicily FROMLONLAT 15 37 BYRADIUS 100 km", "ZRANGE Sicily 0 -1",
    ],
    "geo_resp3": [("HELLO 3", hello_mode()), SICILY, "GEOPOS Sicily Palermo nope",
                  "GEORADIUS Sicily 15 37 200 km WITHCOORD WITHDIST WITHHASH", "GEODIST Sicily Palermo Catania"],
    "poles_and_antimeridian": [
        "GEOADD g 179.99 0 e 179.99 1 e1 -179.99 0 w -179.99 -1 w1 0 85 n 0 -85 s 10 84.9 n2",
        "GEORADIUS g 180 0 50 km WITHDIST ASC", "GEORADIUS g -180 0 5000 km ASC", "GEORADIUS g 0 85 500 km ASC",
        "GEOSEARCH g FROMLONLAT 179 0 BYBOX 500 500 km ASC", "GEORADIUS g 0 0 20000 km ASC",
        "GEOSEARCH g FROMLONLAT 0 0 BYBOX 40000 40000 km ASC",
    ],
    "odd_scores": [
        "ZADD g -5 a 1e17 b 4503599627370496 c 0 d inf e -inf f 1e19 h 1e30 i 9.3e18 j",
        "GEOPOS g a b c d e f h i j", "GEOHASH g a b c d e f h i j", "GEODIST g a j", "GEODIST g e f km",
        "GEORADIUS g 0 0 20000 km WITHHASH WITHCOORD", "GEOSEARCH g FROMMEMBER e BYRADIUS 100 km",
    ],
    "random_1": _random_geo(1),
    "random_2": _random_geo(2),
    "random_3": _random_geo(3, resp3=True),
}


@pytest.mark.parametrize("case", scripts(GEO))
def test_geo(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
