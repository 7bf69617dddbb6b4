"""Run records and checkpoints on disk, written atomically (temp file + ``os.replace``).

A record is one JSON per trained model (schema: DESIGN.md "Run record"); a checkpoint holds
everything needed to resume bit-exactly (model, optimizer, schedule position, generator states,
per-epoch history). Neither is ever left half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

import torch

FINAL_STATUSES = ("ok", "diverged")


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write `path` through `write(file)` via a temp file, fsync and rename: readers see the old
    file or the new one, never a partial one; the temp file is removed on any error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    """Write `obj` as JSON to `path` so that readers see either the old file or the new one."""
    data = json.dumps(obj, indent=1, allow_nan=False).encode() + b"\n"
    write_atomic(path, lambda f: f.write(data))


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at `path`, or None if there is none. A file that is not a JSON object (only
    possible if written by something else) is moved aside to ``<name>.corrupt-<time>`` and None
    is returned, so that nothing on disk is lost."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
        if isinstance(rec, dict) and "status" in rec:
            return rec
    except (OSError, ValueError):
        pass
    os.replace(path, path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"))
    return None


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomically save a checkpoint dict with ``torch.save``."""
    write_atomic(path, lambda f: torch.save(state, f))


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at `path` or None; a corrupt file raises ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling error means a corrupt checkpoint
        raise ValueError(f"checkpoint: {str(path)!r} is corrupt ({type(e).__name__}); "
                         "delete it to train from scratch") from None


def stable_hash(obj: Any, n: int = 10) -> str:
    """Short hex digest of the canonical JSON of `obj` (stable across runs and machines)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:n]


def versions() -> dict[str, str]:
    """Versions of the software a record was produced with."""
    try:
        package = metadata.version("anynet-dse")
    except metadata.PackageNotFoundError:
        package = "unknown"
    import numpy

    return {"torch": torch.__version__, "python": platform.python_version(),
            "numpy": numpy.__version__, "package": package}
