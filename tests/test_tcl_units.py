"""Redis 7.0.15's own TCL units for pub/sub, client tracking, introspection and CLIENT
PAUSE, run against a crdt-redis node in external mode: the number of tests passing per
unit must not drop below what this branch reached (FLOORS).

Runs the shared runner (`redis-tcl-suite.sh`, path from $REDIS_TCL_SUITE, default
/work/shared/tools/redis-tcl-suite.sh); skips when the runner or tclsh is missing. The
suite's sources are prepared by the runner in a private directory of this test.

`unit/pubsubshard` is tagged external:skip upstream (its first block needs no cluster, its
second needs replication), so real Redis runs none of it in this mode. `pubsubshard-ext`
is that first block with the tag removed; real Redis 7.0.15 passes all 9 of its tests.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import CrdtRedisProc

pytestmark = pytest.mark.slow

RUNNER = Path(os.environ.get("REDIS_TCL_SUITE", "/work/shared/tools/redis-tcl-suite.sh"))

# unit -> (tests real Redis 7.0.15 passes in this mode, tests this branch must pass).
# The difference, per unit (see the final report of the pub/sub issue):
#  pubsub: "stream events" needs streams;
#  tracking: 2 tests need EVAL; one needs maxmemory eviction (and SETBIT). The EVAL test
#    that fails first stops before its last line, leaving a RESP3 client tracking with
#    NOLOOP; later tests then read that client's invalidation pushes as replies, so up
#    to 3 more tests fail depending on timing (they pass once EVAL exists). The floor is
#    the lowest count seen over repeated runs (45), minus one.
#  introspection: 2 MONITOR tests need EVAL/FUNCTION; the hidden config key-load-delay
#    (a loading delay for tests) does not exist here;
#  pause: 5 tests need EVAL/FUNCTION, 1 needs PFADD/PFCOUNT.
FLOORS = {
    "unit/pubsub": (29, 28),
    "unit/pubsubshard-ext": (9, 9),
    "unit/tracking": (51, 44),
    "unit/introspection": (27, 24),
    "unit/pause": (14, 8),
}


def write_shard_ext(work: Path) -> None:
    src = (work / "tests/unit/pubsubshard.tcl").read_text()
    first = src[:src.index("\nstart_server", 10) + 1]
    first = first.replace('start_server {tags {"pubsubshard external:skip"}} {', 'start_server {tags {"pubsubshard"}} {', 1)
    assert "external:skip" not in first
    (work / "tests/unit/pubsubshard-ext.tcl").write_text(first)


def run_units(port: int, work: Path, logs: Path, units: list[str]) -> dict[str, int]:
    # The test server's own port comes from [base-32, base) and needs port+10000 free too:
    # a random base below 55000 keeps clear of other runs of the suite.
    base = random.randrange(20000, 45000)
    env = dict(os.environ, REDIS_TCL_WORK=str(work), REDIS_TCL_LOGDIR=str(logs),
               REDIS_TCL_EXTRA_ARGS=f"--baseport {base} --portcount 30")
    r = subprocess.run(["bash", str(RUNNER), "127.0.0.1", str(port), *units], capture_output=True,
                       text=True, env=env, timeout=3600)
    passed: dict[str, int] = {}
    for m in re.finditer(r"^(unit/\S+)\s+passed=(\d+)", r.stdout, re.M):
        passed[m.group(1)] = int(m.group(2))
    assert passed, f"runner produced no results:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return passed


def test_redis_tcl_units_do_not_regress(tmp_path: Path) -> None:
    if not RUNNER.is_file():
        pytest.skip(f"Redis TCL runner not found at {RUNNER} (set REDIS_TCL_SUITE)")
    if not any(shutil.which(f"tclsh{v}") for v in ("8.5", "8.6", "8.7")):
        pytest.skip("tclsh 8.5+ is not installed (apt-get install tcl)")
    node = CrdtRedisProc(tmp_path / "n", "tcl", settings={"appendfsync": "no"}).start()
    try:
        work = tmp_path / "suite"
        logs = tmp_path / "logs"
        passed = run_units(node.port, work, logs, ["unit/pubsub", "unit/tracking", "unit/introspection", "unit/pause"])
        write_shard_ext(work)
        passed.update(run_units(node.port, work, logs, ["unit/pubsubshard-ext"]))
    finally:
        node.stop()
    low = {u: (passed.get(u, 0), floor) for u, (_redis, floor) in FLOORS.items() if passed.get(u, 0) < floor}
    total = sum(passed.get(u, 0) for u in FLOORS)
    print(f"TCL: {passed} total {total}/{sum(r for r, _f in FLOORS.values())} of what Redis passes")
    assert not low, f"units below their floor (passed, floor): {low}; logs in {logs}"
