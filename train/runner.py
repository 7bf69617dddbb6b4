"""``run(cfg) -> record``: train the model one composed config names and write its run record
([DDS] §3). Called once per job by ``dse-train`` under any Hydra launcher, or directly.

Reuse and resume (docs/SWEEPS.md): a run lives in a folder named by its identity
(`anynet.record`), so a record is only ever reused for the run it describes. Under the run's
lock (one process per run at a time, across sweeps and machines sharing the folder): an ok or
diverged record is kept; a failed one is retrained when the machine failed, or when the model
failed and ``sweep.retry_failed=true``; ``sweep.overwrite=true`` retrains any run; an
interrupted run resumes from its last checkpoint.
"""

from __future__ import annotations

import errno
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from anynet import complexity
from anynet.record import (
    CHECKPOINT_NAME,
    ENVIRONMENT,
    LOCK_NAME,
    RECORD_NAME,
    identity_diff,
    make_identity,
    needs_retry,
    new_record,
    read_record,
    record_identity,
    run_dir,
    write_record,
)
from anynet.system import machine

from .checkpoint import CheckpointError
from .data import load_dataset
from .datasets import dataset_entry
from .device import resolve_device
from .job import Job, resolve_job
from .regime import Regime
from .settings import (
    ConfigError,
    RunSettings,
    missing_folders,
    remove_empty,
    settings_from_config,
)
from .trainer import TrainOptions, TrainResult, train

# Failures of the machine, not of the model: a rerun retries them (anynet.record.ENVIRONMENT).
ENVIRONMENT_ERRORS = (OSError, MemoryError, torch.OutOfMemoryError, CheckpointError)
FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@dataclass(frozen=True)
class Outcome:
    """What one job did: ``trained`` (a new record), ``skipped`` (the record was there),
    ``busy`` (another process holds the run's lock), with the record and its path."""

    kind: str
    path: Path
    record: dict[str, Any] | None
    label: str


def plain_config(cfg: DictConfig | Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """The resolved config as plain containers, and the original design_space node."""
    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    try:
        plain = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as e:
        msg = str(e).splitlines()[0]
        key = getattr(e, "full_key", None)
        raise ConfigError(f"{key or 'config'}: {msg}") from None
    return plain, node.get("design_space")


def run(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any] | None:
    """Train the model the config names and write its record; returns the record (the
    existing one when the run is reused; None when another process is training it)."""
    return run_job(cfg).record


def run_job(cfg: DictConfig | Mapping[str, Any]) -> Outcome:
    """`run` with what the job did. Bad input raises `ConfigError` before anything is written;
    an exception during training writes a ``failed`` record and is not re-raised (a
    KeyboardInterrupt is: the checkpoint of the last finished epoch stays)."""
    t0 = time.perf_counter()
    plain, ds_node = plain_config(cfg)
    settings = settings_from_config(plain)
    job = resolve_job(plain, ds_node, settings.sweep_dir)
    regime = Regime.from_config(plain["regime"])
    device = str(resolve_device(settings.device, "train.device"))
    identity = make_identity(
        spec=job.spec.to_dict(), data=plain["data"],
        location_keys=dataset_entry(plain["data"]).location_keys, regime=regime.to_dict(),
        train_seed=settings.seed, precision=settings.precision, threads=settings.threads,
        channels_last=settings.channels_last, device_kind=torch.device(device).type)
    folder = run_dir(job.model_dir, identity)
    path = folder / RECORD_NAME
    if path.exists() and not path.is_file():
        raise ConfigError(f"sweep.dir: {path} is not a record file (a folder?); move it away "
                          "or use another sweep.dir")
    made = missing_folders(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / LOCK_NAME))
        lock.acquire(blocking=False)
    except Timeout:
        print(f"dse-train: busy {folder}: another process is training this run; left to it",
              flush=True)
        return Outcome("busy", path, None, job.label)
    except OSError as e:
        if e.errno in FULL_DISK:  # the machine's failure, not bad input (exit 1, not 2)
            raise OSError(e.errno, f"cannot write {folder}: {e.strerror}") from None
        raise ConfigError(f"sweep.dir: cannot create {folder} ({e.strerror or e}); give a "
                          "writable folder") from None
    try:
        _remove_stale_temps(folder)
        existing = read_record(path)
        if existing is not None:
            _check_same_run(existing, identity, path)
            if not settings.overwrite and not needs_retry(existing, settings.retry_failed):
                hint = ("" if existing["status"] != "failed"
                        else " (sweep.retry_failed=true retrains it)")
                print(f"dse-train: skip {path}: status {existing['status']}{hint}", flush=True)
                if existing["status"] != "failed":
                    # a sweep killed between writing this record and removing the checkpoint
                    # left it behind; the record is final, so the checkpoint is of no use
                    (folder / CHECKPOINT_NAME).unlink(missing_ok=True)
                return Outcome("skipped", path, existing, job.label)
        try:
            record = _train(plain, job, regime, device, settings, identity, folder, t0)
        except ValueError:  # refused before training (bad data, say): nothing is left made
            lock.release()
            _remove_made(folder, made)
            raise
        return Outcome("trained", path, record, job.label)
    finally:
        lock.release()


def _remove_made(folder: Path, made: tuple[Path, ...]) -> None:
    """Remove the run folder (only its lock in it) and the folders above it that this job
    created (`made`), while they are empty."""
    if folder not in made:
        return
    (folder / LOCK_NAME).unlink(missing_ok=True)
    remove_empty(made)


def _remove_stale_temps(folder: Path) -> None:
    """Temp files a killed writer left in the run's folder (a SIGKILL during an atomic write
    cannot clean up). Only ever called under the run's lock, so no writer is active."""
    for tmp in folder.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _check_same_run(existing: dict[str, Any], identity: dict[str, Any], path: Path) -> None:
    diff = identity_diff(record_identity(existing), identity)
    if diff:
        raise ConfigError(f"sweep.dir: {path} holds a record of another run (differing: "
                          f"{'; '.join(diff)}); use another sweep.dir or sweep.overwrite=true")


def _train(plain: dict[str, Any], job: Job, regime: Regime, device: str,
           settings: RunSettings, identity: dict[str, Any], folder: Path,
           t0: float) -> dict[str, Any]:
    dataset = load_dataset(plain["data"])
    record = new_record(
        identity, complexity=complexity(job.spec, dataset.resolution),
        resolution=dataset.resolution, source=job.source, design_space=job.design_space,
        index=job.index, model=job.model,
        seeds={"train": settings.seed, "sample": job.sample_seed,
               "data": dataset_entry(plain["data"]).data_seed(plain["data"])},
        data={**plain["data"], **dataset.summary()}, device=_device_name(device),
        machine=_machine(device), predicted=job.predicted, population=job.population)
    checkpoint = folder / CHECKPOINT_NAME
    options = TrainOptions(seed=settings.seed, device=device, precision=settings.precision,
                           channels_last=settings.channels_last,
                           eval_every_epoch=settings.eval_every_epoch,
                           progress=_progress(settings.progress), checkpoint=checkpoint,
                           fingerprint=record["run_id"], label=job.label)
    path = folder / RECORD_NAME
    old_threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        result = train(job.spec, dataset, regime, options)
        _finish(record, result, time.perf_counter() - t0)
        write_record(path, record)  # a full disk here fails the run as the environment's
    except Exception as e:  # noqa: BLE001 - any training failure becomes a failed record
        return _fail(record, e, path, t0)
    finally:
        torch.set_num_threads(old_threads)
    checkpoint.unlink(missing_ok=True)
    error = "" if record["error"] is None else f": error {record['error']:.2f}"
    print(f"dse-train: {record['status']} {path}{error}", flush=True)
    return record


def _environment_failure(e: Exception) -> bool:
    """The machine's failure (`ENVIRONMENT_ERRORS`) or the job scheduler's: an exception raised
    during training by submitit's handler of the time-limit signal (out of requeues, or its
    ``scontrol requeue`` killed by the requeue itself). The checkpoint stays; a rerun resumes."""
    if isinstance(e, ENVIRONMENT_ERRORS):
        return True
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith("submitit."):
            return True
        tb = tb.tb_next
    return False


def _fail(record: dict[str, Any], e: Exception, path: Path, t0: float) -> dict[str, Any]:
    """Record `e` as the run's failure (``environment`` or ``model``) and print one line. When
    the record cannot be written either (the disk is still full) nothing partial is left and
    the line says so: with no record, any rerun trains the run again."""
    failure = ENVIRONMENT if _environment_failure(e) else "model"
    record.update(status="failed", failure=failure, error=None,
                  message=f"{type(e).__name__}: {e}".splitlines()[0],
                  traceback=traceback.format_exc(limit=8),
                  wall_seconds=time.perf_counter() - t0)
    retry = ("a rerun retries it" if failure == ENVIRONMENT
             else "sweep.retry_failed=true retrains it")
    try:
        write_record(path, record)
    except OSError as w:
        reason = w.strerror or str(w)
        note = "not recorded" if reason in record["message"] else f"not recorded: {reason}"
        retry = f"{note}; a rerun retries it"
    print(f"dse-train: failed {path}: {record['message']} ({failure}; {retry})",
          file=sys.stderr, flush=True)
    return record


def _finish(record: dict[str, Any], result: TrainResult, wall: float) -> None:
    errors = [e["test_error"] for e in result.epochs if e.get("test_error") is not None]
    ok = result.status == "ok"
    record.update(status=result.status, epochs=result.epochs,
                  error=errors[-1] if ok and errors else None,
                  min_error=min(errors) if errors else None,
                  images_per_second=result.images_per_second,
                  wall_seconds=wall, resumed_from_epoch=result.resumed_from,
                  message=result.message)


def _progress(progress: str) -> str:
    """``auto``: a bar in a terminal, one log line per epoch otherwise."""
    if progress == "auto":
        return "bar" if sys.stderr.isatty() else "log"
    return progress


def _machine(device: str) -> dict[str, Any]:
    """The record's `machine` (`anynet.system.machine`) with torch's facts: its CPU kernel path,
    its build and, on CUDA, the GPU's name."""
    cuda = (torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda")
            else None)
    return machine(cpu_capability=torch.backends.cpu.get_cpu_capability(),
                   torch_build=torch.version.git_version, cuda_device=cuda)


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return "cpu"
