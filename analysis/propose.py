"""Close the loop: from the best models of a sweep to a RegNet design space ([DDS] §3.3, §4).

The paper narrows AnyNetX_E to RegNet by fitting the quantized linear rule to every model and
reading off the ranges of (d, w0, wa, wm, b, g) where the best models lie. `propose_regnet` does
this with the tools of this package: fit the `top` best models (`population.with_fits`), take
the 95% bootstrap interval of the best model's value of each parameter
(`stats.bootstrap_best`, [DDS] fn. 4), widen each to the grid of the base space's domain
(composed from ``conf/design_space/<base>.yaml``: dist, q, low, high) and write a design-space
YAML that composes on the base, which ``dse-train design_space=<name>`` accepts directly.

The models come from one population's settings (`anynet.labels`: block, activation, stem,
stages, flop regime); where a sweep holds several (``regnetx`` and ``regnetx[800MF]``), those of
the best model, and the proposed space keeps them (a block other than X with the b and g domains
its ``conf/block/`` group admits).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

import conf
from anynet.labels import variant_settings
from anynet.record import peek_record

from .population import MIN_BOOTSTRAP_N, with_fits
from .report import write_atomic
from .stats import bootstrap_best
from .sweep import ok_rows

CONF_ROOT = conf.path()
CONF_DIR = CONF_ROOT / "design_space"
# Proposed spaces are the user's: written outside the package, under ./dse_conf by default, and
# found with hydra.searchpath=[file://<dir>] or ANYNET_DSE_CONF=<dir> (docs/DESIGN_SPACES.md).
USER_CONF = Path("dse_conf")
# column of the fitted frame -> domain of a RegNet space (conf/design_space/regnetx.yaml)
_CONTINUOUS = (("depth", "depth"), ("fit_w0", "w0"), ("fit_wa", "wa"), ("fit_wm", "wm"))
_CHOICES = (("b", "bottleneck_ratio"), ("g", "group_width"))


def base_domains(base: str) -> dict[str, dict[str, Any]]:
    """The ``domains`` of design space `base` as Hydra composes it (defaults included), e.g.
    regnety inherits regnetx's grids."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    overrides = [f"+design_space={base}"]
    try:
        if GlobalHydra.instance().is_initialized():  # inside a Hydra app on conf/
            cfg = compose(overrides=overrides)
        else:
            with initialize_config_dir(config_dir=str(CONF_ROOT), version_base=None):
                cfg = compose(overrides=overrides)
    except HydraException as exc:
        raise ValueError(f"base: {base!r} is not a design space of {CONF_DIR} "
                         f"({' '.join(str(exc).split())})") from None
    domains = OmegaConf.to_container(cfg.design_space, resolve=True).get("domains") or {}
    missing = [k for _, k in _CONTINUOUS + _CHOICES if k not in domains]
    if missing:
        raise ValueError(f"base: {base!r} is not a RegNet space; its domains lack {missing}")
    return domains


@dataclass(frozen=True)
class ProposedSpace:
    """A RegNet design space proposed from a sweep, and where its YAML went."""

    name: str
    base: str
    domains: dict[str, dict]
    intervals: dict[str, tuple[float, float, float]]  # (low, median, high) per parameter
    n_models: int
    source: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # `labels.variant_settings`
    path: Path | None = field(default=None, compare=False)

    def config(self) -> dict[str, Any]:
        """The design-space config: the base space with the models' population settings and
        the proposed domains overriding it."""
        return {"defaults": [self.base, "_self_"], "name": self.name, **self.settings,
                "domains": self.domains}

    def header(self) -> str:
        return "".join(f"# {line}\n" for line in (
            f"Proposed by analysis.propose_regnet from {self.source or 'a sweep'}",
            f"({self.n_models} models): 95% bootstrap intervals of the best model's",
            "quantized-linear fit ([DDS] §3.3, fn. 4). Medians: "
            + ", ".join(f"{k}={v[1]:g}" for k, v in self.intervals.items())))

    def yaml(self) -> str:
        """The design-space file (as `write` saves it)."""
        return self.header() + OmegaConf.to_yaml(OmegaConf.create(self.config()))

    def write(self, path: str | Path) -> Path:
        """Save the YAML atomically (OmegaConf.save into a temp file, then rename)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)

        def save(f) -> None:
            text = io.StringIO()
            text.write(self.header())
            OmegaConf.save(OmegaConf.create(self.config()), text)
            f.write(text.getvalue().encode())

        write_atomic(out, save)
        return out


def _grid_range(low: float, high: float, q: float, lo_lim: float, hi_lim: float
                ) -> tuple[float, float]:
    """[low, high] widened outward to multiples of q and clipped to the base's range."""
    k_lo, k_hi = math.floor(low / q + 1e-9), math.ceil(high / q - 1e-9)
    lo = min(max(k_lo * q, lo_lim), hi_lim)
    hi = max(min(k_hi * q, hi_lim), lo)
    if isinstance(q, int):
        return int(round(lo)), int(round(hi))
    digits = max(0, -int(math.floor(math.log10(q))))
    return round(lo, digits), round(hi, digits)


def settings_group(rows: pd.DataFrame) -> pd.Series:
    """Per row, what its population label adds to its space's name: "" at the paper's
    settings, ``[800MF]``, ``[V, silu]`` (`anynet.labels`); "" for a frame without labels."""
    if "space" not in rows.columns:
        return pd.Series("", index=rows.index, dtype=object)
    return pd.Series([str(label)[len(str(space)):] if str(label).startswith(str(space)) else ""
                      for label, space in zip(rows["design_space"], rows["space"], strict=True)],
                     index=rows.index, dtype=object)


def block_domains(block_type: str) -> dict[str, Any]:
    """The domains a block's config group sets (``conf/block/v.yaml``: b = 1, one group), or
    none (X keeps the space's)."""
    path = CONF_ROOT / "block" / f"{block_type.lower()}.yaml"
    if not path.is_file():
        return {}
    return OmegaConf.to_container(OmegaConf.load(path)).get("domains") or {}


def _settings_of(rows: pd.DataFrame) -> dict[str, Any]:
    """`labels.variant_settings` of the first row's record (all rows share them)."""
    path = rows["path"].iloc[0] if "path" in rows.columns else None
    record = peek_record(path) if isinstance(path, str) and path else None
    return variant_settings(record) if record is not None and "spec" in record else {}


def propose_regnet(df: pd.DataFrame, top: int | None = 100, name: str = "regnet_proposed",
                   base: str | None = None, path: str | Path | None = None,
                   write: bool = True, frac: float = 0.25, n: int = 10_000, ci: float = 95,
                   seed: int = 0, metric: str = "error", q: int = 8,
                   spaces: Sequence[str] | None = None) -> ProposedSpace:
    """Propose RegNet ranges from the `top` best ok models of `df` and write the YAML.

    `base` defaults to ``regnety`` when the best models use SE, else ``regnetx``; `path` to
    ``conf/design_space/<name>.yaml``. `spaces` restricts the models to those design spaces.
    Existing fits (``e_fit`` column) are reused. Fewer than `population.MIN_BOOTSTRAP_N`
    models are refused: their bootstrap of the best is a uniform pick. `spaces` names
    population labels (``regnetx[800MF]``); only models of the best one's settings are used
    (`settings_group`), and the proposed space keeps those settings.
    """
    rows = ok_rows(df, metric)
    if spaces is not None:
        rows = rows[rows["design_space"].isin(list(spaces))]
    rows = rows.sort_values(metric)
    if len(rows):
        groups = settings_group(rows)
        rows = rows[groups == groups.iloc[0]]
    if top is not None:
        rows = rows.head(top)
    if len(rows) < MIN_BOOTSTRAP_N:
        raise ValueError(f"propose_regnet: {len(rows)} ok models; the bootstrap of the best "
                         f"needs at least {MIN_BOOTSTRAP_N} (below, every 25% draw is one "
                         "model)")
    rows = with_fits(rows, metric, q=q)
    if base is None:
        base = "regnety" if float(rows["se_ratio"].iloc[0]) > 0 else "regnetx"
    grids = base_domains(base)
    settings = _settings_of(rows)
    fixed = block_domains(settings.get("block_type", "X"))
    intervals: dict[str, tuple[float, float, float]] = {}
    domains: dict[str, dict] = {}
    for col, key in _CONTINUOUS:
        grid = grids[key]
        low, med, high = bootstrap_best(rows, col, frac=frac, n=n, ci=ci, seed=seed,
                                        error=metric)
        intervals[key] = (low, med, high)
        lo, hi = _grid_range(low, high, grid["q"], grid["low"], grid["high"])
        domains[key] = {"dist": grid["dist"], "low": lo, "high": hi, "q": grid["q"]}
    for col, key in _CHOICES:
        if key in fixed:  # the block admits only these (conf/block/)
            domains[key] = fixed[key]
            continue
        allowed = set(grids[key]["values"])
        low, med, high = bootstrap_best(rows, col, frac=frac, n=n, ci=ci, seed=seed,
                                        error=metric)
        intervals[key] = (low, med, high)
        seen = sorted({v for v in rows[col] if low - 1e-9 <= v <= high + 1e-9 and v in allowed})
        values = [int(v) if float(v).is_integer() else float(v) for v in seen]
        domains[key] = {"dist": "choice", "values": values or sorted(allowed)}
    spaces = ", ".join(sorted(rows["design_space"].unique()))
    proposed = ProposedSpace(name=name, base=base, domains=domains, intervals=intervals,
                             n_models=len(rows), source=f"the best of {spaces}",
                             settings=settings)
    if not write:
        return proposed
    out = proposed.write(Path(path) if path is not None
                         else USER_CONF / "design_space" / f"{name}.yaml")
    return ProposedSpace(**{**proposed.__dict__, "path": out})
