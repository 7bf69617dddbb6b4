"""How a ``dse-train`` job runs: the ``train.*``, ``sweep.*`` and ``sample.*`` keys, checked
once (docs/ARCHITECTURE.md "Configuration keys"; docs/SWEEPS.md). Torch-free, so the launching
process of a sweep checks a config before any job starts.

Every bad value is a `ConfigError`: one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anynet.record import PRECISIONS
from anynet.system import available_cpus


class ConfigError(ValueError):
    """A bad config value: one line naming the key, the value and what is allowed."""


ROOT_KEYS = ("design_space", "data", "regime", "sample", "model", "spec", "train", "sweep")
TRAIN_KEYS = ("seed", "device", "threads", "channels_last", "progress", "precision", "eval")
SWEEP_KEYS = ("dir", "retry_failed", "report", "overwrite", "n", "plan")
SAMPLE_KEYS = ("index", "seed")
PROGRESS = ("auto", "bar", "log", "none")
EVAL = ("final", "epoch")


@dataclass(frozen=True)
class RunSettings:
    """The checked ``train.*`` and ``sweep.*`` values of one job."""

    seed: int
    device: str
    threads: int
    channels_last: bool
    progress: str
    precision: str
    eval_every_epoch: bool
    sweep_dir: Path
    retry_failed: bool
    overwrite: bool
    report: bool


def _unknown(section: str, cfg: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise ConfigError(f"{section}: unknown key(s) {unknown}; allowed: {list(allowed)}")


def _bool(section: str, cfg: Mapping[str, Any], key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{section}.{key}: {value!r} is not allowed; use true or false")
    return value


def _int(section: str, cfg: Mapping[str, Any], key: str, default: int, low: int,
         high: int | None = None) -> int:
    value = cfg.get(key, default)
    bad = isinstance(value, bool) or not isinstance(value, int) or value < low
    if bad or (high is not None and value > high):
        limit = f">= {low}" if high is None else f"from {low} to {high}"
        raise ConfigError(f"{section}.{key}: {value!r} is not allowed; use an integer {limit}")
    return value


def _choice(section: str, cfg: Mapping[str, Any], key: str, default: str,
            allowed: tuple[str, ...]) -> str:
    value = cfg.get(key, default)
    if value not in allowed:
        raise ConfigError(f"{section}.{key}: {value!r} is not allowed; use one of "
                          f"{', '.join(allowed)}")
    return value


def _section(cfg: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = cfg.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: {value!r} is not a mapping of {key}.* keys")
    return value


def check_sweep_dir(value: Any) -> Path:
    """``sweep.dir`` as a path that is a writable folder, or can be made one: nothing is
    created here (a refused config leaves no folder behind); the folder is made when a job
    starts. A missing folder needs its nearest existing ancestor to be a writable folder."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"sweep.dir: {value!r} is not allowed; give a folder path (it is "
                          "created if needed)")
    path = Path(value).expanduser()
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"sweep.dir: {value!r} cannot be created ({existing} is not a "
                          "folder); give a writable folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == path.absolute() else f" ({existing} is not writable)"
        raise ConfigError(f"sweep.dir: {value!r} is not a writable folder{where}; give a "
                          "writable folder")
    return path


def missing_folders(folder: Path) -> tuple[Path, ...]:
    """`folder` and those of its parents that do not exist yet, deepest first (what making
    it creates, and what a refused run removes again)."""
    out = []
    while not folder.exists() and folder != folder.parent:
        out.append(folder)
        folder = folder.parent
    return tuple(out)


def remove_empty(folders: Sequence[Path]) -> None:
    """Remove `folders` in order (deepest first) while each is empty; stop at the first that is
    not (it holds something that was there before, or another run's files)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def check_one_sweep_dir(raw: str, swept: Sequence[str]) -> None:
    """A sweep writes to one ``sweep.dir``: its summary, progress and report read that folder,
    so the unresolved value may not refer to a key the sweep varies (``seed${train.seed}`` under
    ``train.seed=0,1``). Runs that differ in seed, regime or data have their own run folders
    already (docs/SWEEPS.md)."""
    refs = re.findall(r"\$\{([A-Za-z_][\w.]*)\}", raw)
    for key in swept:
        if key == "sweep.dir":
            raise ConfigError("sweep.dir: a sweep writes to one folder; give one value (runs "
                              "of different seeds, regimes and data have their own run folders)")
        for ref in refs:
            if ref == key or ref.startswith(key + ".") or key.startswith(ref + "."):
                raise ConfigError(
                    f"sweep.dir: {raw!r} refers to {ref}, which this sweep varies ({key}); a "
                    "sweep writes to one folder, and runs of different seeds, regimes and data "
                    "have their own run folders in it: drop ${" + ref + "} from sweep.dir")


def check_sample_source(cfg: Mapping[str, Any], sample: Mapping[str, Any]) -> None:
    """``sample.index`` and ``sample.seed`` pick a member of ``design_space``; a zoo ``model``
    or an explicit ``spec`` is no member of it, so there only their defaults (0) are allowed,
    rather than ignored (a sweep of sample.index would train the same model N times)."""
    source = next((k for k in ("model", "spec") if cfg.get(k) is not None), None)
    if source is None:
        return
    shown = f"model={cfg['model']}" if source == "model" else "spec"
    what = "a zoo model" if source == "model" else "an explicit spec"
    for key in SAMPLE_KEYS:
        value = sample.get(key, 0)
        if value != 0:
            raise ConfigError(f"sample.{key}: {value!r} is not allowed with {shown}; {what} is "
                              "not a sample of a design space, so sample.index and sample.seed "
                              f"apply only without model and spec: drop sample.{key} or "
                              f"{source}")


def settings_from_config(cfg: Mapping[str, Any]) -> RunSettings:
    """Check the root keys and the ``train``, ``sweep`` and ``sample`` sections of a resolved
    dse-train config; the design space, data and regime are checked where they are built."""
    _unknown("config", cfg, ROOT_KEYS)
    for group in ("data", "regime", "train", "sweep"):
        if not isinstance(cfg.get(group), Mapping):
            raise ConfigError(f"{group}: missing from the config; compose conf/config.yaml")
    train, sweep, sample = cfg["train"], cfg["sweep"], _section(cfg, "sample")
    _unknown("train", train, TRAIN_KEYS)
    _unknown("sweep", sweep, SWEEP_KEYS)
    _unknown("sample", sample, SAMPLE_KEYS)
    for key in SAMPLE_KEYS:
        _int("sample", sample, key, 0, 0)
    check_sample_source(cfg, sample)
    if "n" in sweep:
        _int("sweep", sweep, "n", 1, 1)
    plan = sweep.get("plan")
    if plan is not None and (not isinstance(plan, str) or not plan.strip()):
        raise ConfigError(f"sweep.plan: {plan!r} is not allowed; use null or the name of a "
                          "plan in conf/plan/ (the report then leads with its verdicts)")
    cpus = available_cpus()
    device = train.get("device", "cpu")
    if not isinstance(device, str) or not (device in ("cpu", "cuda", "auto")
                                           or device.startswith("cuda:")):
        raise ConfigError(f"train.device: {device!r} is not allowed; use cpu, cuda or auto")
    return RunSettings(
        seed=_int("train", train, "seed", 0, 0),
        device=device,
        threads=_int("train", train, "threads", 1, 1, cpus),
        channels_last=_bool("train", train, "channels_last", True),
        progress=_choice("train", train, "progress", "auto", PROGRESS),
        precision=_choice("train", train, "precision", "fp32", PRECISIONS),
        eval_every_epoch=_choice("train", train, "eval", "final", EVAL) == "epoch",
        sweep_dir=check_sweep_dir(sweep.get("dir")),
        retry_failed=_bool("sweep", sweep, "retry_failed", False),
        overwrite=_bool("sweep", sweep, "overwrite", False),
        report=_bool("sweep", sweep, "report", False),
    )
