"""``run(cfg) -> record``: train the model one composed config names and write its run record
([DDS] §3). Called once per job by ``dse-train`` under any Hydra launcher, or directly.

Skip and resume semantics (DESIGN.md, issue 4): a record with status ok or diverged is never
retrained or touched; a failed one is retrained (resuming from its checkpoint) only with
``sweep.retry_failed=true``; an interrupted run leaves its last checkpoint and resumes from it.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from anynet import complexity

from .data import load_dataset
from .job import ConfigError, resolve_job
from .record import FINAL_STATUSES, read_record, stable_hash, versions, write_json_atomic
from .regime import Regime
from .trainer import TrainOptions, TrainResult, train

PROGRESS = ("auto", "bar", "log", "none")


def resolve_device(name: Any) -> str:
    """``cpu`` | ``cuda`` (or ``cuda:N``) | ``auto`` (cuda when available) → a device string."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if isinstance(name, str) and (name == "cuda" or name.startswith("cuda:")):
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {name!r} is not available on this machine "
                              "(no CUDA); use cpu or auto")
        return name
    raise ConfigError(f"train.device: {name!r} is not allowed; use cpu, cuda or auto")


def _options(train_cfg: Mapping[str, Any], device: str) -> tuple[int, bool, str, int]:
    seed, threads = train_cfg.get("seed", 0), train_cfg.get("threads", 1)
    for key, value, low in (("seed", seed, 0), ("threads", threads, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"train.{key}: {value!r} is not allowed; use an integer >= {low}")
    cl = train_cfg.get("channels_last", "auto")
    if cl not in ("auto", True, False):
        raise ConfigError(f"train.channels_last: {cl!r} is not allowed; use auto, true or false")
    # auto: channels_last on CPU and GPU alike; on the CPU it is 1.4-2.7x faster for sampled
    # AnyNetX models at 28 px (benchmarks/bench_trainer.py, docs/TRAINING.md)
    channels_last = True if cl == "auto" else cl
    progress = train_cfg.get("progress", "auto")
    if progress not in PROGRESS:
        raise ConfigError(f"train.progress: {progress!r} is not allowed; use one of {PROGRESS}")
    if progress == "auto":
        progress = "bar" if sys.stderr.isatty() else "log"
    return seed, channels_last, progress, threads


def _plain(cfg: DictConfig | Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """The resolved config as plain containers, and the original design_space node."""
    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    try:
        plain = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as e:
        msg = str(e).splitlines()[0]
        key = getattr(e, "full_key", None)
        raise ConfigError(f"{key or 'config'}: {msg}") from None
    return plain, node.get("design_space")


def run(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Train the model the config names and write its record; returns the record (the existing
    one when the job is skipped). Bad input raises `ConfigError`/`ValueError` before anything is
    written; an exception during training writes a ``failed`` record and is not re-raised."""
    t0 = time.perf_counter()
    plain, ds_node = _plain(cfg)
    for group in ("data", "regime", "train", "sweep"):
        if not isinstance(plain.get(group), Mapping):
            raise ConfigError(f"{group}: missing from the config; compose conf/config.yaml")
    job = resolve_job(plain, ds_node)
    existing = read_record(job.record_path)
    retry = plain["sweep"].get("retry_failed", False)
    if existing is not None:
        status = existing.get("status")
        if status in FINAL_STATUSES or not retry:
            hint = "" if status in FINAL_STATUSES else " (sweep.retry_failed=true retrains it)"
            print(f"dse-train: skip {job.record_path}: status {status}{hint}", flush=True)
            return existing

    regime = Regime.from_config(plain["regime"])
    device = resolve_device(plain["train"].get("device", "cpu"))
    seed, channels_last, progress, threads = _options(plain["train"], device)
    dataset = load_dataset(plain["data"])
    resolution = dataset.resolution
    data_info = {**plain["data"], **dataset.summary()}
    record: dict[str, Any] = {
        "status": None, "error": None, "min_error": None, "epochs": [],
        "spec": job.spec.to_dict(), "complexity": complexity(job.spec, resolution),
        "resolution": resolution, "source": job.source, "design_space": job.design_space,
        "index": job.index, "model": job.model,
        "seeds": {"train": seed, "sample": job.sample_seed,
                  "data": plain["data"].get("split_seed", plain["data"].get("seed"))},
        "regime": regime.to_dict(), "data": data_info, "images_per_second": None,
        "wall_seconds": None, "versions": versions(), "device": _device_name(device),
        "threads": threads, "channels_last": channels_last, "message": None,
    }
    data_id = {k: v for k, v in plain["data"].items() if k != "cache_dir"}
    fingerprint = stable_hash({"spec": record["spec"], "data": data_id,
                               "regime": record["regime"], "seed": seed})
    options = TrainOptions(seed=seed, device=device, channels_last=channels_last,
                           progress=progress, checkpoint=job.checkpoint_path,
                           fingerprint=fingerprint)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = train(job.spec, dataset, regime, options)
    except Exception as e:  # noqa: BLE001 - any training failure becomes a failed record
        record.update(status="failed", message=f"{type(e).__name__}: {e}".splitlines()[0],
                      traceback=traceback.format_exc(limit=8),
                      wall_seconds=time.perf_counter() - t0)
        write_json_atomic(job.record_path, record)
        print(f"dse-train: failed {job.record_path}: {record['message']}", file=sys.stderr)
        return record
    finally:
        torch.set_num_threads(old_threads)
    _finish(record, result, time.perf_counter() - t0)
    write_json_atomic(job.record_path, record)
    job.checkpoint_path.unlink(missing_ok=True)
    print(f"dse-train: {record['status']} {job.record_path}: error {record['error']}", flush=True)
    return record


def _finish(record: dict[str, Any], result: TrainResult, wall: float) -> None:
    errors = [e["test_error"] for e in result.epochs]
    ok = result.status == "ok"
    record.update(status=result.status, epochs=result.epochs,
                  error=errors[-1] if ok and errors else None,
                  min_error=min(errors) if errors else None,
                  images_per_second=result.images_per_second,
                  wall_seconds=wall, resumed_from_epoch=result.resumed_from,
                  message=result.message)


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return "cpu"
