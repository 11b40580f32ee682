"""One module per CRDT; each registers the apply functions of its effect codes."""
