"""`crdt-redis check-log [--fix --yes] DATA_DIR` (like redis-check-aof)."""
from __future__ import annotations

import argparse
import sys

from .recovery import check_log


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="crdt-redis check-log",
        description="Verify a data directory's op log; with --fix --yes, truncate at the first bad record.",
    )
    p.add_argument("data_dir")
    p.add_argument("--fix", action="store_true", help="truncate at the first bad record")
    p.add_argument("--yes", action="store_true", help="confirm --fix (records after the damage are lost)")
    ns = p.parse_args(argv)
    if ns.fix and not ns.yes:
        print("check-log: --fix drops every record after the first bad one; add --yes to confirm",
              file=sys.stderr)
        return 2
    status, lines = check_log(ns.data_dir, ns.fix)
    for line in lines:
        print(line)
    return status
