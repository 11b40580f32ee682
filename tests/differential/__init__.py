"""Differential tests: the same command scripts against real Redis and crdt-redis."""
