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
from typing import Any

from omegaconf import DictConfig

import conf
from anynet.system import quiet_broken_pipe

from .callbacks import error_line, progress_line, write_outcome
from .settings import missing_folders, remove_empty


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


@quiet_broken_pipe  # inside Hydra too: Hydra reports a task's exceptions as a traceback
def _hydra_main(cfg: DictConfig, fresh: tuple[Path, ...] = ()) -> None:
    """One job. `fresh`: the folders of ``sweep.dir`` that did not exist before this command;
    a single run refused for bad input removes what it made there (nothing is left)."""
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
        message = error_line(e)
        print(f"dse-train: error: {message}", file=sys.stderr, flush=True)
        if single:
            if isinstance(e, ValueError):
                _remove_made(job_dir, fresh)
            sys.exit(2 if isinstance(e, ValueError) else 1)
        _outcome(job_dir, "error", _label(cfg), message=message)
        print(progress_line(job_dir.parent), flush=True)
        return
    record = outcome.record or {}
    status = record.get("status")
    if not single:
        _outcome(job_dir, outcome.kind, outcome.label, status, outcome.path,
                 record.get("message"))
        text = outcome.kind if outcome.kind != "trained" else _result(record)
        print(progress_line(job_dir.parent, {"label": outcome.label, "text": text}),
              flush=True)
    elif status == "failed":
        sys.exit(1)


def _remove_made(job_dir: Path, fresh: tuple[Path, ...]) -> None:
    """Remove what a refused single run made: its Hydra job folder (this run's own, named by
    its start time to the microsecond: Hydra's files and the job log) and the empty folders
    above it (``.hydra/run``, ``.hydra``, and the ``sweep.dir`` folders in `fresh`). Nothing that
    was there before the command is touched."""
    import shutil

    job_dir = job_dir.absolute()
    if job_dir.parent.name != "run" or job_dir.parent.parent.name != ".hydra":
        return  # hydra.run.dir moved elsewhere by the user: left as it is
    shutil.rmtree(job_dir, ignore_errors=True)
    remove_empty((job_dir.parent, job_dir.parent.parent, *fresh))  # fresh[0] is sweep.dir


def _outcome(job_dir: Path, *args: Any) -> None:
    """`write_outcome`; a full disk is one line (the sweep's summary counts the job as
    unfinished), never a traceback that would stop the other jobs."""
    try:
        write_outcome(job_dir, *args)
    except OSError as e:
        print(f"dse-train: error: {error_line(e)}", file=sys.stderr, flush=True)


def _result(record: dict) -> str:
    error = record.get("error")
    return record.get("status", "?") + ("" if error is None else f" {error:.2f}%")


def _label(cfg: DictConfig) -> str:
    """The label of a job whose config failed: the zoo model, else space#index (its population
    label needs the config that failed; a resolved job's reads ``regnetx[silu]#30``,
    `anynet.labels.config_label`)."""
    if cfg.get("model"):
        return str(cfg.model)
    name = cfg.get("design_space", {}).get("name", "?")
    return f"{name}#{cfg.get('sample', {}).get('index', '?')}"


def _validate(cfg: dict) -> None:
    """The torch-free checks of a composed config, run on every value of a choice sweep before
    any job starts: settings, the design space (or zoo model / spec), the regime, then no
    NaN or infinity under any other key."""
    from anynet.record import check_finite
    from sampling import space_from_config

    from .regime import Regime
    from .settings import settings_from_config

    settings_from_config(cfg)
    if cfg.get("model") is not None:
        from .job import zoo_model

        zoo_model(cfg["model"])  # a RegNet or a ResNe(X)t baseline, before any job starts
    elif cfg.get("spec") is None:
        space_from_config(cfg["design_space"])
    Regime.from_config(cfg["regime"])
    check_finite(cfg)  # any other key (data.noise=nan): named, before it reaches a hash


def _validate_values(cfg: dict, key: str, values: list) -> None:
    """Every value of a range sweep of a ``sample.*``, ``train.*`` or ``sweep.*`` key, through
    the settings check (cheap: the config is not composed again per value), so a bad value
    anywhere in ``sample.index='range(1,-2,-1)'`` stops the sweep before its first job."""
    from .settings import settings_from_config

    section, _, name = key.partition(".")
    if section not in ("sample", "train", "sweep") or not name or "." in name:
        return  # other keys: their first, smallest and largest values were composed
    for value in values:
        settings_from_config({**cfg, section: {**(cfg.get(section) or {}), name: value}})


def _validate_sweep(cfg: DictConfig, swept: list[str]) -> None:
    """Checks of a whole sweep: it writes to one ``sweep.dir``."""
    from omegaconf import OmegaConf

    from .settings import check_one_sweep_dir

    raw = OmegaConf.to_container(cfg.sweep, resolve=False).get("dir")
    check_one_sweep_dir(str(raw), swept)


def _register_sweeper() -> None:
    """Make ``hydra/sweeper=sequential`` instantiable in every install: Hydra's namespace scan
    misses ``hydra_plugins`` modules of PEP 660 editable installs (hydra issue #2359), and
    ``Plugins.register`` is its public way in. The class imports no analysis until it sweeps."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.dse_sequential_sweeper import SequentialSweeper

    Plugins.instance().register(SequentialSweeper)


@quiet_broken_pipe
def main() -> None:
    """Console entry point ``dse-train`` (Hydra app over conf/config.yaml)."""
    import hydra

    from sampling.precheck import precheck

    first = precheck("dse-train", "config", sys.argv[1:], validate=_validate,
                     validate_sweep=_validate_sweep, validate_values=_validate_values)
    sweep_dir = ((first or {}).get("sweep") or {}).get("dir")
    fresh = (missing_folders(Path(sweep_dir).expanduser().absolute())
             if isinstance(sweep_dir, str) and sweep_dir else ())

    def task(cfg: DictConfig) -> None:
        _hydra_main(cfg, fresh)

    _register_sweeper()

    app = hydra.main(version_base="1.3", config_path=str(conf.path()),
                     config_name="config")(task)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
