"""Checkpoints of an unfinished run: everything needed to resume bit-exactly (model, optimizer,
generator state, per-epoch history), written atomically and read back with
``torch.load(weights_only=True)``, which builds tensors and plain containers only: a crafted file
cannot run code."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from anynet.record import write_atomic


class CheckpointError(ValueError):
    """A checkpoint that cannot be read back (corrupt, foreign or crafted): one line naming it."""


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomically save a checkpoint dict (tensors, numbers, strings, lists and dicts only)."""
    write_atomic(path, lambda f: torch.save(state, f))


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at `path` or None; a corrupt or foreign file raises `CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, KeyError,
            AttributeError, TypeError) as e:
        raise CheckpointError(f"checkpoint: {str(path)!r} is corrupt or not a checkpoint "
                         f"({type(e).__name__}); delete it to train from scratch") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint: {str(path)!r} is not a checkpoint; delete it to train "
                         "from scratch")
    return state
