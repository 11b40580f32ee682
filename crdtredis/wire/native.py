"""Finding the compiled copy of a module (setup.py builds them with mypyc).

setup.py copies each compiled module's source to `_<name>_native.py` with the source's
SHA-256 appended and compiles that copy. A module uses its compiled copy only when that
digest matches its own source, so an edited source (an editable install not rebuilt
since) runs as written, never a stale build.
"""
from __future__ import annotations

import hashlib
import importlib
from types import ModuleType


def native_module(name: str, source_file: str) -> ModuleType | None:
    """The compiled module `name` if it was built from the file `source_file`, else None."""
    try:
        nat = importlib.import_module(name)
    except ImportError:
        return None
    path = getattr(nat, "__file__", None) or ""
    if path.endswith(".py"):
        return None  # the generated source without its compiled build
    try:
        with open(source_file, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None
    if getattr(nat, "SOURCE_SHA256", None) != digest:
        return None  # built from another version of the source: run the source as written
    return nat
