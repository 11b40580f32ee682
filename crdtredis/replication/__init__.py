"""Active-active replication over HTTP: push/pull of the op log, snapshots, stability."""
