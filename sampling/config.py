"""Design spaces as Hydra configs: compose `conf/design_space/<name>.yaml` and build the space.

`space_from_config` takes the composed `design_space` node (DictConfig or plain dict), checks
every key, and returns an `AnyNetSpace` or `RegNetSpace`. `load_design_space` composes the
repo's `conf/sample.yaml` with ``design_space=<name>`` and the given overrides (no global Hydra
state is left behind).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from .anynet_space import AnyNetSpace
from .batch_complexity import FixedFields
from .constraints import parse_constraints, resolve_windows
from .distributions import make_distribution
from .regnet_space import PARAMS as REGNET_PARAMS
from .regnet_space import RegNetSpace
from .space import DesignSpace

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
ANYNET_PARAMS = ("depth", "width", "bottleneck_ratio", "group_width")
FAMILIES = {"anynet": ANYNET_PARAMS, "regnet": REGNET_PARAMS}
KEYS = {"name", "family", "stages", "resolution", "in_channels", "num_classes", "stem_width",
        "stem_stride", "se_ratio", "max_tries", "domains", "complexity", "constraints", "q"}


def available() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "design_space").glob("*.yaml"))


def _int(cfg: Mapping[str, Any], key: str, low: int, default: Any = None) -> int:
    v = cfg.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"design_space.{key}: {v!r} is not allowed; use an integer >= {low}")
    return v


def space_from_config(cfg: DictConfig | Mapping[str, Any]) -> DesignSpace:
    """Build the design space described by a composed `design_space` config node."""
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=True)
    cfg = dict(cfg)
    unknown = sorted(set(cfg) - KEYS)
    if unknown:
        raise ValueError(f"design_space: unknown key(s) {unknown}; allowed: {sorted(KEYS)}")
    family = cfg.get("family")
    if family not in FAMILIES:
        raise ValueError(f"design_space.family: {family!r} is not allowed; use one of "
                         f"{list(FAMILIES)}")
    if not isinstance(cfg.get("name"), str):
        raise ValueError(f"design_space.name: {cfg.get('name')!r} is not allowed; use a string")
    stages = _int(cfg, "stages", 1)
    resolution = _int(cfg, "resolution", 1)
    se = cfg.get("se_ratio", 0.0)
    if isinstance(se, bool) or not isinstance(se, (int, float)) or se < 0:
        raise ValueError(f"design_space.se_ratio: {se!r} is not allowed; use a number >= 0")
    stem_stride = _int(cfg, "stem_stride", 1, 2)
    if stem_stride not in (1, 2):
        raise ValueError(f"design_space.stem_stride: {stem_stride} is not allowed; use 1 or 2")
    fixed = FixedFields(resolution=resolution, in_channels=_int(cfg, "in_channels", 1),
                        num_classes=_int(cfg, "num_classes", 1),
                        stem_width=_int(cfg, "stem_width", 1, 32), stem_stride=stem_stride,
                        se_ratio=float(se))
    domains = dict(cfg.get("domains") or {})
    wanted = FAMILIES[family]
    if sorted(domains) != sorted(wanted):
        raise ValueError(f"design_space.domains: has {sorted(domains)}; a {family} space needs "
                         f"exactly {list(wanted)}")
    dists = {p: make_distribution(f"design_space.domains.{p}", dict(domains[p]))
             for p in wanted}
    named, custom = parse_constraints(cfg.get("constraints"))
    common = dict(config=cfg, fixed=fixed, strides=(2,) * stages,
                  windows=resolve_windows(cfg.get("complexity"), resolution),
                  named=named, custom=custom, max_tries=_int(cfg, "max_tries", 1, 100_000))
    if family == "anynet":
        return AnyNetSpace(dists, **common)
    return RegNetSpace(dists, q=_int(cfg, "q", 1, 8), **common)


def compose(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """Compose `conf/<config_name>.yaml` with `overrides` through Hydra, restoring any global
    Hydra state (so it also works inside a running Hydra app)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if not GlobalHydra.instance().is_initialized():
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            return hydra_compose(config_name=config_name, overrides=list(overrides))
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.types import RunMode

    loader = ConfigLoaderImpl(create_config_search_path(str(CONF_DIR)))
    cfg = loader.load_configuration(config_name, list(overrides), RunMode.RUN)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def load_design_space(name: str, overrides: Sequence[str] = ()) -> DesignSpace:
    """Compose design space `name` (a file of conf/design_space/) with Hydra overrides such as
    ``design_space.resolution=28`` and build it."""
    names = available()
    if name not in names:
        raise ValueError(f"design_space: {name!r} is not a design space; available: {names}")
    from hydra.errors import HydraException

    try:
        cfg = compose("sample", [f"design_space={name}", *overrides])
    except HydraException as exc:
        raise ValueError(" ".join(str(exc).split())) from None
    return space_from_config(cfg.design_space)
