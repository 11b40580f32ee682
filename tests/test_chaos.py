"""Randomized faults with real processes (issue 8): 3 nodes behind cuttable links take
concurrent writes of every type (type conflicts, TTLs, FLUSHDB included) while links are cut
(both ways or one way), nodes are paused (SIGSTOP), killed (kill -9) and restarted, and a
node's data dir is wiped and the node rejoins. After healing, every db of every node must
show the same keys, types, values and TTL presence.

CRDT_CHAOS_SECONDS sets the length of the fault phase (default 25 s); CRDT_CHAOS_SEED its
seed (default: a fixed one, so a failure can be replayed)."""
from __future__ import annotations

import os
import random
import shutil
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.support.procs import CrdtRedisProc, wait_until
from tests.support.state import dump_client
from tests.test_replication import make_cluster, stop_all

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("CRDT_CHAOS_SECONDS", "25"))
SEED = int(os.environ.get("CRDT_CHAOS_SEED", "8"))


def writer(node: CrdtRedisProc, rnd: random.Random, stop: threading.Event, tag: str) -> None:
    keys = [f"k{i}" for i in range(8)]
    c = redis.Redis(port=node.port, socket_timeout=2, socket_connect_timeout=1)
    while not stop.is_set():
        k = rnd.choice(keys)
        cmd = rnd.randrange(16)
        try:
            if cmd == 0:
                c.set(k, f"{tag}{rnd.randrange(9)}")
            elif cmd == 1:
                c.incrby(f"c:{k}", rnd.randrange(1, 4))
            elif cmd == 2:
                c.delete(rnd.choice([k, f"s:{k}", f"z:{k}"]))
            elif cmd == 3:
                c.rpush(f"l:{k}", tag)
            elif cmd == 4:
                c.lpop(f"l:{k}")
            elif cmd == 5:
                c.sadd(f"s:{k}", rnd.randrange(6))
            elif cmd == 6:
                c.srem(f"s:{k}", rnd.randrange(6))
            elif cmd == 7:
                c.hset(f"h:{k}", f"f{rnd.randrange(3)}", tag)
            elif cmd == 8:
                c.hdel(f"h:{k}", f"f{rnd.randrange(3)}")
            elif cmd == 9:
                c.zadd(f"z:{k}", {f"m{rnd.randrange(4)}": rnd.randrange(9)})
            elif cmd == 10:
                c.zrem(f"z:{k}", f"m{rnd.randrange(4)}")
            elif cmd == 11:
                c.expire(rnd.choice([k, f"s:{k}", f"z:{k}"]), rnd.choice([3600, 7200]))
            elif cmd == 12:
                c.persist(rnd.choice([k, f"s:{k}"]))
            elif cmd == 13:
                c.lpush(k, tag)  # the same key as a string: a type conflict elsewhere
            elif cmd == 14 and rnd.random() < 0.05:
                c.execute_command("SELECT", 3)
                c.flushdb()
                c.execute_command("SELECT", 0)
            else:
                c.execute_command("SELECT", 3)
                c.set(k, tag)
                c.execute_command("SELECT", 0)
        except redis.ResponseError as e:
            assert "WRONGTYPE" in str(e) or "not synced" in str(e), e
        except (redis.ConnectionError, redis.TimeoutError):
            time.sleep(0.05)  # killed, paused or restarting: try again shortly
            c = redis.Redis(port=node.port, socket_timeout=2, socket_connect_timeout=1)


def test_random_faults_then_heal_every_db_converges(tmp_path: Path) -> None:
    rnd = random.Random(SEED)
    nodes, links = make_cluster(tmp_path, proxies=True)
    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(n, random.Random(SEED * 10 + i), stop, f"n{i}"), daemon=True)
               for i, n in enumerate(nodes)]
    faults: list[str] = []
    try:
        for t in threads:
            t.start()
        deadline = time.time() + SECONDS
        while time.time() < deadline:
            i = rnd.randrange(3)
            kind = rnd.choice(["cut", "oneway", "pause", "kill", "kill", "wipe"])
            faults.append(f"{kind} n{i}")
            if kind in ("cut", "oneway"):
                cut = [p for (a, b), p in links.items() if (a == i or (b == i and kind == "cut"))]
                for p in cut:
                    p.cut()
                time.sleep(rnd.uniform(0.5, 2.0))
                for p in cut:
                    p.heal()
            elif kind == "pause":
                nodes[i].sigstop()
                time.sleep(rnd.uniform(0.3, 1.5))
                nodes[i].sigcont()
            elif kind == "kill":
                nodes[i].kill()
                time.sleep(rnd.uniform(0.1, 0.5))
                nodes[i].start()
            else:
                nodes[i].stop()
                shutil.rmtree(nodes[i].data_dir)
                nodes[i].start()
            time.sleep(rnd.uniform(0.2, 1.0))
        stop.set()
        for t in threads:
            t.join(10)
        for n in nodes:
            n.ensure_running()
            n.wait_synced(timeout=60)

        def same() -> bool:
            dumps = [dump_client(n.client(), 16) for n in nodes]
            return dumps[0] == dumps[1] == dumps[2]

        wait_until(same, timeout=90, interval=0.5, msg=f"replicas did not converge after {faults}")
        assert len(dump_client(nodes[0].client(), 16)) > 10
    finally:
        stop.set()
        stop_all(nodes, links)

