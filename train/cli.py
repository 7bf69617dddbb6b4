"""``dse-train``: the Hydra app that trains one model per job ([DDS] §3); see docs/TRAINING.md
and docs/SWEEPS.md.

``main`` composes conf/config.yaml; each job calls `train.runner.run_job`. This module imports
neither torch nor the model code at import time: under ``-m`` the launching process only composes
configs and dispatches jobs, so it starts (and exits) without paying torch's import (~1.4 s on
the reference laptop, benchmarks/bench_sweep.py). The job process imports it on its first job.

Bad input is one line: exit status 2 for a single run; under ``-m`` the job records an ``error``
outcome (the sweep's summary names it) and the other jobs go on.
"""

from __future__ import annotations

import gc
import sys
from functools import cache
from pathlib import Path

from omegaconf import DictConfig

import conf

from .callbacks import progress_line, write_outcome


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

    hydra_cfg = HydraConfig.get()
    single = hydra_cfg.mode == RunMode.RUN
    if not single and cfg.get("train", {}).get("progress", "auto") == "auto":
        cfg.train.progress = "none"  # parallel jobs share a terminal: one line per model
    job_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        _prepare_job_process()
        from .runner import run_job

        outcome = run_job(cfg)
    except (ValueError, OSError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"dse-train: error: {message}", file=sys.stderr, flush=True)
        if single:
            sys.exit(2 if isinstance(e, ValueError) else 1)
        write_outcome(job_dir, "error", _label(cfg), message=message)
        print(progress_line(job_dir.parent), flush=True)
        return
    record = outcome.record or {}
    status = record.get("status")
    if not single:
        write_outcome(job_dir, outcome.kind, outcome.label, status, outcome.path,
                      record.get("message"))
        text = outcome.kind if outcome.kind != "trained" else _result(record)
        print(progress_line(job_dir.parent, {"label": outcome.label, "text": text}),
              flush=True)
    elif status == "failed":
        sys.exit(1)


def _result(record: dict) -> str:
    error = record.get("error")
    return record.get("status", "?") + ("" if error is None else f" {error:.2f}%")


def _label(cfg: DictConfig) -> str:
    if cfg.get("model"):
        return str(cfg.model)
    name = cfg.get("design_space", {}).get("name", "?")
    return f"{name}#{cfg.get('sample', {}).get('index', '?')}"


def _validate(cfg: dict) -> None:
    """The torch-free checks of a composed config, run on every value of a choice sweep before
    any job starts: settings, the design space (or zoo model / spec), the regime."""
    from sampling import space_from_config

    from .regime import Regime
    from .settings import settings_from_config

    settings_from_config(cfg)
    if cfg.get("model") is None and cfg.get("spec") is None:
        space_from_config(cfg["design_space"])
    Regime.from_config(cfg["regime"])


def _validate_sweep(cfg: DictConfig, swept: list[str]) -> None:
    """Checks of a whole sweep: it writes to one ``sweep.dir``."""
    from omegaconf import OmegaConf

    from .settings import check_one_sweep_dir

    raw = OmegaConf.to_container(cfg.sweep, resolve=False).get("dir")
    check_one_sweep_dir(str(raw), swept)


def main() -> None:
    """Console entry point ``dse-train`` (Hydra app over conf/config.yaml)."""
    import hydra

    from sampling.precheck import precheck

    precheck("dse-train", "config", sys.argv[1:], validate=_validate,
             validate_sweep=_validate_sweep)
    app = hydra.main(version_base="1.3", config_path=str(conf.path()),
                     config_name="config")(_hydra_main)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
