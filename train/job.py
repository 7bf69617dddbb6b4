"""What one dse-train job trains and where its runs go (docs/ARCHITECTURE.md "Configuration keys").

Exactly one source names the model: an explicit ``spec`` mapping, a zoo ``model`` name (a RegNet
or a ResNe(X)t baseline, `zoo_model`), or (the default) member ``sample.index`` of
``design_space`` drawn with ``sample.seed``. The model's runs live under
``<sweep.dir>/<design space>/<index>/``, ``<sweep.dir>/<model>/`` or ``<sweep.dir>/spec-<hash>/``
(`anynet.record.model_dir`), one folder per run identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anynet import AnyNetSpec, complexity, zoo
from anynet.labels import config_label
from anynet.record import make_population, model_dir
from sampling import space_from_config
from sampling.constraints import LatencyWindow
from sampling.latency import predict_latency
from sampling.space import hashed_config

from .settings import ConfigError


@dataclass(frozen=True)
class Job:
    """The model of one job, the folder of its runs, and the provenance the record keeps."""

    spec: AnyNetSpec
    model_dir: Path
    source: str  # design_space | model | spec
    label: str  # e.g. "anynetx_a#3", "regnetx[silu]#30": shown in progress lines
    design_space: dict[str, Any] | None = None  # {"name", "config"}
    index: int | None = None
    sample_seed: int | None = None
    model: str | None = None
    predicted: dict[str, Any] | None = None  # runtime a latency window's profile predicts
    population: dict[str, Any] | None = None  # `anynet.record.make_population` of a sample


def resolve_job(cfg: Mapping[str, Any], design_space_cfg: Any, sweep_dir: Path) -> Job:
    """Resolve the job from a plain (resolved) config dict. `design_space_cfg` is the original
    ``cfg.design_space`` node handed to ``sampling.space_from_config``."""
    data = cfg["data"]
    channels, classes = data["channels"], data["num_classes"]
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
        folder = model_dir(sweep_dir, spec=spec.to_dict())
        return Job(spec, folder, "spec", folder.name)
    if model is not None:
        model = zoo_model(model)
        spec = zoo.get(model, in_channels=channels, num_classes=classes)
        return Job(spec, model_dir(sweep_dir, model=model), "model", model, model=model)
    sample = cfg.get("sample") or {}
    index, seed = sample.get("index", 0), sample.get("seed", 0)
    space = space_from_config(design_space_cfg if design_space_cfg is not None
                              else cfg["design_space"])
    spec = space.sample(index, seed)
    _check_io(spec, channels, classes, "design_space")
    name = str(space.name)
    return Job(spec, model_dir(sweep_dir, design_space=name, index=index), "design_space",
               f"{config_label(name, cfg['design_space'])}#{index}",
               design_space={"name": name, "config": cfg["design_space"]},
               index=index, sample_seed=seed, predicted=predicted_latency(space, spec),
               population=population_of(space, seed))


def zoo_model(name: Any) -> str:
    """The zoo's name of ``model=<name>``: a RegNet of `anynet.zoo.names` or a ResNe(X)t
    baseline of `anynet.zoo.baselines`, spelled as the zoo does or loosely (``resnet50``,
    ``resnext50_32x4d``; `anynet.zoo.resolve`). Records and folders carry the zoo's spelling."""
    try:
        return zoo.resolve(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def population_of(space: Any, seed: int) -> dict[str, Any]:
    """The record's ``population`` of members of `space` drawn with `seed`: the config the
    members are drawn from (`sampling.space.hashed_config`), the windows in effect at the
    space's resolution and the seed (`anynet.record.make_population`)."""
    windows = {w.metric: [w.low, w.high] for w in space.windows}
    return make_population(hashed_config(space.config, space.windows), windows, seed)


def predicted_latency(space: Any, spec: AnyNetSpec) -> dict[str, Any] | None:
    """The runtime the space's latency profile predicts for `spec` (docs/SPEED.md), with the
    profile's name, unit and content digest; None when the space has no latency window."""
    windows = [w for w in space.windows if isinstance(w, LatencyWindow)]
    if not windows:
        return None
    profile = windows[0].profile
    cx = complexity(spec, space.fixed.resolution)
    return {"latency": float(predict_latency(profile, cx)), "unit": profile.unit,
            "profile": profile.name, "digest": profile.digest}


def _check_io(spec: AnyNetSpec, channels: int, classes: int, key: str) -> None:
    if spec.in_channels != channels:
        raise ConfigError(f"{key}.in_channels: {spec.in_channels} does not match "
                          f"data.channels={channels}; they must be equal")
    if spec.num_classes != classes:
        raise ConfigError(f"{key}.num_classes: {spec.num_classes} does not match "
                          f"data.num_classes={classes}; they must be equal")
