"""Geo as the sorted-set CRDT: GEOADD / GEOSEARCHSTORE / ZREM / DEL on 3 simulated replicas
(random causal delivery with duplicates) converge to the sorted-set spec computed from the
emitted effects (tests/test_crdt_zset.py), and every replica answers geo reads alike;
states survive the snapshot encoding and a replay of the log."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import geohash as gh
from tests.support.sim import Cluster
from tests.test_crdt_bits import replay_fresh, snapshot_round_trip
from tests.test_crdt_zset import MEMBERS, spec, visible

POINTS = [("13.361389", "38.115556"), ("15.087269", "37.502669"), ("13.583333", "37.316667"),
          ("-122.27652", "37.805186"), ("0", "0")]

COMMAND = st.one_of(
    st.tuples(st.just("geoadd"), st.sampled_from([[], ["NX"], ["XX"], ["CH"]]),
              st.lists(st.tuples(st.sampled_from(POINTS), st.sampled_from(MEMBERS)), min_size=1, max_size=3)),
    st.tuples(st.just("zrem"), st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=2)),
    st.tuples(st.just("del")),
    st.tuples(st.just("store"), st.sampled_from(["100", "200", "20000"])),
    st.tuples(st.just("deliver"), st.integers(1, 5)),
)


def run(c: Cluster, i: int, cmd: tuple[Any, ...]) -> None:
    if cmd[0] == "geoadd":
        args: list[Any] = list(cmd[1])
        for (lon, lat), m in cmd[2]:
            args += [lon, lat, m]
        c.run(i, "GEOADD", "k", *args)
    elif cmd[0] == "zrem":
        c.run(i, "ZREM", "k", *cmd[1])
    elif cmd[0] == "del":
        c.run(i, "DEL", "k")
    elif cmd[0] == "store":
        # Rewrites k from a search of itself (delete what it saw, then add): a *STORE.
        c.run(i, "GEOSEARCHSTORE", "k", "k", "FROMLONLAT", "14", "38", "BYRADIUS", cmd[1], "km")
    else:
        c.deliver_some(cmd[1], dup_prob=0.2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), COMMAND), max_size=25), st.integers(0, 2**32 - 1))
def test_geo_converges_to_the_sorted_set_spec(program: list[tuple[int, tuple[Any, ...]]], seed: int) -> None:
    c = Cluster(3, seed)
    for i, cmd in program:
        run(c, i, cmd)
    c.deliver_all(dup_prob=0.2)
    values = [visible(r) for r in c.replicas]
    assert values[0] == values[1] == values[2]
    assert values[0] == spec(c.all_ops())
    reads = [(r.run("GEOPOS", "k", *MEMBERS), r.run("GEOSEARCH", "k", "FROMLONLAT", "14", "38", "BYRADIUS",
                                                     "20000", "km", "ASC", "WITHDIST")) for r in c.replicas]
    assert reads[0] == reads[1] == reads[2]
    for r in c.replicas:
        fresh = snapshot_round_trip(r.node.keyspace)
        e = fresh.dbs[0].data.get(b"k")
        assert (e is None) == (values[0] == [])
    assert visible(replay_fresh(c.all_ops(), seed)[0]) == values[0]


def test_geoadd_scores_are_redis_geohashes() -> None:
    c = Cluster(1, 0)
    c.run(0, "GEOADD", "k", "13.361389", "38.115556", "Palermo")
    # ZSCORE Palermo in redis-server 7.0.15.
    assert c[0].run("ZSCORE", "k", "Palermo") == 3479099956230698.0
    assert gh.score_of(13.361389, 38.115556) == 3479099956230698
    assert gh.format_coord(13.361389338970184) == b"13.36138933897018433"
    assert gh.format_distance(166274.1516) == b"166274.1516"
