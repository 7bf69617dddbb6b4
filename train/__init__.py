"""Offline datasets, the fixed-regime trainer, run records and the ``dse-train`` entry point
([DDS] §3: every model of a design-space population is trained under one cheap regime).

``run(cfg) -> record`` trains the model one Hydra config names; see docs/TRAINING.md.
"""

from .cli import run
from .data import DataError, Dataset, load_dataset
from .job import ConfigError, Job, resolve_job
from .record import read_record, write_json_atomic
from .regime import Regime, RegimeError
from .trainer import TrainOptions, TrainResult, evaluate, train

__all__ = [
    "ConfigError",
    "DataError",
    "Dataset",
    "Job",
    "Regime",
    "RegimeError",
    "TrainOptions",
    "TrainResult",
    "evaluate",
    "load_dataset",
    "read_record",
    "resolve_job",
    "run",
    "train",
    "write_json_atomic",
]
