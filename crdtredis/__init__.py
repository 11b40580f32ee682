"""crdt-redis: a Redis-compatible active-active CRDT server."""
from __future__ import annotations

__version__ = "0.1.0"
# The Redis version whose behaviour we follow; INFO server reports it as redis_version.
REDIS_VERSION = "7.0.15"
