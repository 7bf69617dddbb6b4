"""``dse-train``: the Hydra app that trains one model per job ([DDS] §3); see docs/TRAINING.md.

``main`` composes conf/config.yaml; each job calls `train.runner.run`. This module imports
neither torch nor the model code at import time: under ``-m`` the launching process only composes
configs and dispatches jobs, so it starts (and exits) without paying torch's import (~1.4 s on
the reference laptop, benchmarks/bench_sweep.py). The job process imports it on its first job.
"""

from __future__ import annotations

import gc
import sys
from functools import cache
from pathlib import Path
from typing import Any

from omegaconf import DictConfig


def run(cfg: Any) -> dict[str, Any]:
    """`train.runner.run`, imported on first use (see the module docstring)."""
    from .runner import run as run_job

    return run_job(cfg)


@cache
def _prepare_job_process() -> None:
    """Import the training stack once per process, then move everything alive into the
    collector's permanent generation (`gc.freeze`). Those objects (modules, torch's registries)
    live until exit anyway; freezing them keeps every later full collection (the launcher's
    between-job ``gc.collect``, interpreter shutdown) from re-scanning them: ~0.15 s per job and
    ~0.5 s at exit per worker with torch loaded. Frozen objects are still freed by reference
    counting; only cyclic garbage among them (at most the first job's config) outlives its use."""
    import torch._dynamo  # noqa: F401 - torch.optim imports it on first use; freeze it too

    from . import runner  # noqa: F401

    gc.freeze()


def _hydra_main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    single = HydraConfig.get().mode == RunMode.RUN
    try:
        _prepare_job_process()
        record = run(cfg)
    except (ValueError, OSError) as e:
        if not single:
            raise
        print(f"dse-train: error: {str(e).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    if single and record.get("status") == "failed":
        sys.exit(1)


def main() -> None:
    """Console entry point ``dse-train`` (Hydra app over conf/config.yaml)."""
    import hydra

    conf_dir = str(Path(__file__).resolve().parent.parent / "conf")
    app = hydra.main(version_base="1.3", config_path=conf_dir, config_name="config")(_hydra_main)
    app()


if __name__ == "__main__":
    main()
