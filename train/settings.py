"""How a ``dse-train`` job runs: the ``train.*``, ``sweep.*`` and ``sample.*`` keys, checked
once (docs/ARCHITECTURE.md "Configuration keys"; docs/SWEEPS.md) against their types, defaults
and bounds in `conf.schema.TrainConfig`, plus what only this machine or the folders know.
Torch-free, so the launching process of a sweep checks a config before any job starts.

Every bad value is a `ConfigError` (`conf.check`): one line naming the key, the value and what
is allowed.
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
from conf.check import Allowed, ConfigError, checked
from conf.schema import TrainConfig

GROUPS = ("design_space", "data", "regime")  # root keys checked where they are built


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
    for key in ("index", "seed"):
        value = sample[key]
        if value != 0:
            raise ConfigError(f"sample.{key}: {value!r} is not allowed with {shown}; {what} is "
                              "not a sample of a design space, so sample.index and sample.seed "
                              f"apply only without model and spec: drop sample.{key} or "
                              f"{source}")


def settings_from_config(cfg: Mapping[str, Any]) -> RunSettings:
    """Check the root keys and the ``sample``, ``model``, ``spec``, ``train`` and ``sweep``
    keys of a resolved dse-train config against `conf.schema.TrainConfig` (a missing key takes
    its default there); the design space, data and regime are checked where they are built."""
    for group in ("data", "regime"):
        if not isinstance(cfg.get(group), Mapping):
            raise ConfigError(f"{group}: missing from the config; compose conf/config.yaml")
    rules = {"train.threads": Allowed(low=1, high=available_cpus()),
             "train.precision": Allowed(choices=PRECISIONS)}
    keys = checked(cfg, TrainConfig, others=GROUPS, rules=rules)
    check_sample_source(keys, keys["sample"])
    train, sweep = keys["train"], keys["sweep"]
    return RunSettings(
        seed=train["seed"], device=train["device"], threads=train["threads"],
        channels_last=train["channels_last"], progress=train["progress"],
        precision=train["precision"], eval_every_epoch=train["eval"] == "epoch",
        sweep_dir=check_sweep_dir(sweep["dir"]), retry_failed=sweep["retry_failed"],
        overwrite=sweep["overwrite"], report=sweep["report"])
