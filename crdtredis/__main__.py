"""`python -m crdtredis` is the `crdt-redis` command."""
from __future__ import annotations

from crdtredis.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
