"""What one dse-train job trains and where its record goes (DESIGN.md "Configuration keys").

Exactly one source names the model: an explicit ``spec`` mapping, a zoo ``model`` name, or (the
default) member ``sample.index`` of ``design_space`` drawn with ``sample.seed``. Records go to
``<sweep.dir>/<design space>/<index>/record.json``, ``<sweep.dir>/<model>/record.json`` or
``<sweep.dir>/spec-<hash>/record.json`` (hash of the spec dict, stable across machines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anynet import AnyNetSpec, zoo

from .record import stable_hash


class ConfigError(ValueError):
    """A bad config value: one line naming the key, the value and what is allowed."""


@dataclass(frozen=True)
class Job:
    """The model of one job, where its files go, and the provenance the record keeps."""

    spec: AnyNetSpec
    record_path: Path
    source: str  # design_space | model | spec
    design_space: dict[str, Any] | None = None  # {"name", "config"}
    index: int | None = None
    sample_seed: int | None = None
    model: str | None = None

    @property
    def checkpoint_path(self) -> Path:
        return self.record_path.with_name("checkpoint.pt")


def resolve_job(cfg: Mapping[str, Any], design_space_cfg: Any = None) -> Job:
    """Resolve the job from a plain (resolved) config dict. `design_space_cfg` is the original
    ``cfg.design_space`` node handed to ``sampling.space_from_config``."""
    data = cfg["data"]
    channels, classes = data["channels"], data["num_classes"]
    sweep_dir = Path(str(cfg["sweep"]["dir"])).expanduser()
    spec_cfg, model = cfg.get("spec"), cfg.get("model")
    if spec_cfg is not None and model is not None:
        raise ConfigError(f"spec and model: both are set (model={model!r}); give one, not both")
    if spec_cfg is not None:
        if not isinstance(spec_cfg, Mapping):
            raise ConfigError(f"spec: {spec_cfg!r} is not a mapping; give AnyNetSpec fields, "
                              "e.g. +spec={depths:[1,1],widths:[8,16],...}")
        fields = {"in_channels": channels, "num_classes": classes, **spec_cfg}
        spec = AnyNetSpec.from_dict(fields)
        _check_io(spec, channels, classes, "spec")
        path = sweep_dir / f"spec-{stable_hash(spec.to_dict())}" / "record.json"
        return Job(spec, path, "spec")
    if model is not None:
        if not isinstance(model, str) or model not in zoo.names():
            raise ConfigError(f"model: {model!r} is not in the zoo; allowed: "
                              f"{', '.join(zoo.names())}")
        spec = zoo.get(model, in_channels=channels, num_classes=classes)
        return Job(spec, sweep_dir / model / "record.json", "model", model=model)
    return _sampled_job(cfg, design_space_cfg, sweep_dir)


def _sampled_job(cfg: Mapping[str, Any], ds_cfg: Any, sweep_dir: Path) -> Job:
    sample = cfg.get("sample") or {}
    index, seed = sample.get("index"), sample.get("seed", 0)
    for key, value in (("index", index), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"sample.{key}: {value!r} is not allowed; use an integer >= 0")
    try:
        import sampling

        space_from_config = sampling.space_from_config
    except (ImportError, AttributeError):
        raise ConfigError("design_space: the sampling package has no space_from_config yet; "
                          "use model=<zoo name> or spec={...}") from None
    space = space_from_config(ds_cfg if ds_cfg is not None else cfg["design_space"])
    spec = space.sample(index, seed)
    data = cfg["data"]
    _check_io(spec, data["channels"], data["num_classes"], "design_space")
    name = str(space.name)
    return Job(spec, sweep_dir / name / str(index) / "record.json", "design_space",
               design_space={"name": name, "config": cfg["design_space"]},
               index=index, sample_seed=seed)


def _check_io(spec: AnyNetSpec, channels: int, classes: int, key: str) -> None:
    if spec.in_channels != channels:
        raise ConfigError(f"{key}.in_channels: {spec.in_channels} does not match "
                          f"data.channels={channels}; they must be equal")
    if spec.num_classes != classes:
        raise ConfigError(f"{key}.num_classes: {spec.num_classes} does not match "
                          f"data.num_classes={classes}; they must be equal")
