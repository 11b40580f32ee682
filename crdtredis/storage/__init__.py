"""The op log on disk: framed records, segments, base snapshots, manifest, recovery."""
