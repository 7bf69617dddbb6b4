"""Offline datasets, the fixed-regime trainer, run records and the ``dse-train`` entry point
([DDS] §3: every model of a design-space population is trained under one cheap regime).

``run(cfg) -> record`` trains the model one Hydra config names; see docs/TRAINING.md.

Names are imported on first access (PEP 562) so that ``dse-train -m``'s launching process and
its Hydra callback (`train.callbacks`) never import torch; see `train.cli`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_SOURCES = {
    "ConfigError": "settings", "RunSettings": "settings", "settings_from_config": "settings",
    "Job": "job", "resolve_job": "job",
    "DataError": "data", "Dataset": "data", "load_dataset": "data",
    "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "Regime": "regime", "RegimeError": "regime",
    "TrainOptions": "trainer", "TrainResult": "trainer", "evaluate": "trainer", "train": "trainer",
    "Outcome": "runner", "run": "runner", "run_job": "runner",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'train' has no attribute {name!r}")
    return getattr(import_module(f".{_SOURCES[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
