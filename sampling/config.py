"""Design spaces as Hydra configs: compose `conf/design_space/<name>.yaml` and build the space.

`space_from_config` takes the composed `design_space` node (DictConfig or plain dict), checks
every key, and returns an `AnyNetSpace` or `RegNetSpace`. `load_design_space` composes the
package's `conf/space.yaml` with ``design_space=<name>`` and the given overrides (no global
Hydra state is left behind).

Geometry is part of every space: ``stem_stride`` (1 or 2) and ``strides`` (one 1 or 2 per stage;
null: 2 for every stage, the paper's). The ``geometry`` config group names the two used here:
``paper`` (stride-2 stem and stages) and ``small`` (stride-1 stem, for 28-32 px inputs), see
docs/DESIGN_SPACES.md. So are the block type, activation and stem type (``block_type``,
``activation``, ``stem_type``; the ``block`` group sets a block with the domains it admits) and
the number of stages; the ``window`` group names the paper's flop regimes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

import conf
from anynet.blocks import BOTTLENECK_BLOCKS
from conf.check import Allowed, checked
from conf.schema import DesignSpaceKeys

from .anynet_space import AnyNetSpace
from .batch_complexity import FixedFields
from .constraints import NAMED, Registry, parse_constraints, resolve_windows
from .distributions import make_distribution
from .regnet_space import PARAMS as REGNET_PARAMS
from .regnet_space import RegNetSpace
from .space import DesignSpace

ANYNET_PARAMS = ("depth", "width", "bottleneck_ratio", "group_width")
FAMILIES = {"anynet": ANYNET_PARAMS, "regnet": REGNET_PARAMS}


def available() -> list[str]:
    """Design spaces of the package and of the folders in ``$ANYNET_DSE_CONF``."""
    dirs = [conf.path(), *conf.search_dirs()]
    return sorted({p.stem for d in dirs for p in (d / "design_space").glob("*.yaml")})


def space_from_config(cfg: DictConfig | Mapping[str, Any], registry: Registry = NAMED
                      ) -> DesignSpace:
    """Build the design space described by a composed `design_space` config node, its named
    constraints looked up in `registry` (the package's `NAMED` unless given)."""
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=True)
    cfg = dict(cfg)
    keys = checked(cfg, DesignSpaceKeys, "design_space.",
                   rules={"design_space.family": Allowed(choices=tuple(FAMILIES))})
    family, resolution, stem_stride = keys["family"], keys["resolution"], keys["stem_stride"]
    strides = _strides(keys["strides"], keys["stages"])
    fixed = FixedFields(resolution=resolution, in_channels=keys["in_channels"],
                        num_classes=keys["num_classes"], stem_width=keys["stem_width"],
                        stem_stride=stem_stride, se_ratio=float(keys["se_ratio"]),
                        block_type=keys["block_type"], activation=keys["activation"],
                        stem_type=keys["stem_type"])
    if fixed.block_type not in BOTTLENECK_BLOCKS and fixed.se_ratio > 0:
        raise ValueError(f"design_space.se_ratio: {fixed.se_ratio:g} is not allowed with "
                         f"block_type {fixed.block_type} (two full 3x3 convs, no SE); use 0, or "
                         "block_type R or X for SE")
    domains = dict(keys["domains"] or {})
    wanted = FAMILIES[family]
    if sorted(domains) != sorted(wanted):
        raise ValueError(f"design_space.domains: has {sorted(domains)}; a {family} space needs "
                         f"exactly {list(wanted)}")
    dists = {p: make_distribution(f"design_space.domains.{p}", dict(domains[p]))
             for p in wanted}
    for p, dist in dists.items():  # depths, widths, b, g, w0, wa, wm: all positive
        if dist.values[0] <= 0:
            raise ValueError(f"design_space.domains.{p}: {dist.values[0]:g} is not allowed; "
                             "every value of the domain must be > 0")
    named, custom = parse_constraints(keys["constraints"], registry)
    common = dict(config=cfg, fixed=fixed, strides=strides,
                  windows=resolve_windows(keys["complexity"], resolution, stem_stride),
                  named=named, custom=custom, max_tries=keys["max_tries"], registry=registry)
    if family == "anynet":
        return AnyNetSpace(dists, **common)
    return RegNetSpace(dists, q=keys["q"], **common)


def _strides(value: Any, stages: int) -> tuple[int, ...]:
    if value is None:
        return (2,) * stages
    ok = (isinstance(value, (list, tuple)) and len(value) == stages
          and all(s in (1, 2) and not isinstance(s, bool) for s in value))
    if not ok:
        raise ValueError(f"design_space.strides: {value!r} is not allowed; use one stride (1 or "
                         f"2) per stage ({stages} stages), or null for 2 everywhere")
    return tuple(int(s) for s in value)


def compose(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """Compose the package's `conf/<config_name>.yaml` with `overrides` through Hydra's compose
    API, leaving no global Hydra state behind. Inside a running Hydra app the app's own search
    path is used (the ``dse-*`` apps compose from the same folder)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    overrides = [*_search_path_override(), *overrides]
    if GlobalHydra.instance().is_initialized():
        return hydra_compose(config_name=config_name, overrides=overrides)
    with initialize_config_dir(config_dir=str(conf.path()), version_base=None):
        return hydra_compose(config_name=config_name, overrides=overrides)


def _search_path_override() -> list[str]:
    dirs = conf.search_dirs()
    if not dirs:
        return []
    return ["hydra.searchpath=[" + ",".join(f"file://{d}" for d in dirs) + "]"]


def load_design_space(name: str, overrides: Sequence[str] = (), registry: Registry = NAMED
                      ) -> DesignSpace:
    """Compose design space `name` (a file of conf/design_space/) with Hydra overrides such as
    ``design_space.resolution=28`` and build it (named constraints from `registry`)."""
    names = available()
    if name not in names:
        raise ValueError(f"design_space: {name!r} is not a design space; available: {names}")
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        cfg = compose("space", [f"design_space={name}", *overrides])
    except (HydraException, OmegaConfBaseException) as exc:
        raise ValueError(" ".join(str(exc).split())) from None
    return space_from_config(cfg.design_space, registry)
