"""Close the loop: from the best models of a sweep to a RegNet design space ([DDS] §3.3, §4).

The paper narrows AnyNetX_E to RegNet by fitting the quantized linear rule to every model and
reading off the ranges of (d, w0, wa, wm, b, g) where the best models lie. `propose_regnet` does
this with the tools of this package: fit the `top` best models (`fit.fit_regnet`), take the
95% bootstrap interval of the best model's value of each parameter (`stats.bootstrap_best`,
[DDS] fn. 4), widen each to the parameter's grid, and write a design-space YAML in the schema of
``conf/design_space/regnetx.yaml`` that ``dse-train design_space=<name>`` accepts directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .fit import fit_models
from .stats import bootstrap_best
from .sweep import ok_rows

CONF_DIR = Path(__file__).resolve().parents[1] / "conf" / "design_space"

# (column of the fitted frame, domain name, dist, quantum, lowest, highest) -- the grids of
# conf/design_space/regnetx.yaml (pycls regnet_sampler), w0 allowed up to 512 (RegNetX-32GF).
_CONTINUOUS = (
    ("depth", "depth", "uniform", 1, 1, 63),
    ("fit_w0", "w0", "log_uniform", 8, 8, 512),
    ("fit_wa", "wa", "log_uniform", 0.1, 0.1, 255.9),
    ("fit_wm", "wm", "log_uniform", 0.001, 1.5, 3.0),
)
_CHOICES = (("b", "bottleneck_ratio"), ("g", "group_width"))


@dataclass(frozen=True)
class ProposedSpace:
    """A RegNet design space proposed from a sweep, and where its YAML went."""

    name: str
    base: str
    domains: dict[str, dict]
    intervals: dict[str, tuple[float, float, float]]  # (low, median, high) per parameter
    n_models: int
    source: str = ""
    path: Path | None = field(default=None, compare=False)

    def yaml(self) -> str:
        """The design-space file: the base space with the proposed domains overriding its own."""
        lines = [
            f"# Proposed by analysis.propose_regnet from {self.source or 'a sweep'}",
            f"# ({self.n_models} models): 95% bootstrap intervals of the best model's",
            "# quantized-linear fit ([DDS] §3.3, fn. 4). Medians: "
            + ", ".join(f"{k}={v[1]:g}" for k, v in self.intervals.items()),
            "defaults:", f"  - {self.base}", "  - _self_", f"name: {self.name}", "domains:",
        ]
        lines += [f"  {k}: {_flow(v)}" for k, v in self.domains.items()]
        return "\n".join(lines) + "\n"


def _flow(d: dict) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, float):
            return repr(round(v, 6))
        return str(v)
    return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in d.items()) + "}"


def _grid_range(low: float, high: float, q: float, lo_lim: float, hi_lim: float
                ) -> tuple[float, float]:
    """[low, high] widened outward to multiples of q and clipped to the allowed range."""
    k_lo, k_hi = math.floor(low / q + 1e-9), math.ceil(high / q - 1e-9)
    lo = min(max(k_lo * q, lo_lim), hi_lim)
    hi = max(min(k_hi * q, hi_lim), lo)
    if isinstance(q, int):
        return int(round(lo)), int(round(hi))
    digits = max(0, -int(math.floor(math.log10(q))))
    return round(lo, digits), round(hi, digits)


def propose_regnet(df: pd.DataFrame, top: int | None = 100, name: str = "regnet_proposed",
                   base: str | None = None, path: str | Path | None = None,
                   write: bool = True, frac: float = 0.25, n: int = 10_000, ci: float = 95,
                   seed: int = 0, metric: str = "error", q: int = 8,
                   spaces: Sequence[str] | None = None) -> ProposedSpace:
    """Propose RegNet ranges from the `top` best ok models of `df` and write the YAML.

    `base` defaults to ``regnety`` when the best models use SE, else ``regnetx``; `path` to
    ``conf/design_space/<name>.yaml``. `spaces` restricts the models to those design spaces.
    Existing fits (``e_fit`` column) are reused.
    """
    rows = ok_rows(df, metric)
    if spaces is not None:
        rows = rows[rows["design_space"].isin(list(spaces))]
    rows = rows.sort_values(metric)
    if top is not None:
        rows = rows.head(top)
    if len(rows) == 0:
        raise ValueError("propose_regnet: the sweep has no ok model to fit")
    if "e_fit" not in rows.columns or rows["e_fit"].isna().any():
        rows = fit_models(rows, q=q)
    intervals: dict[str, tuple[float, float, float]] = {}
    domains: dict[str, dict] = {}
    for col, key, dist, quantum, lo_lim, hi_lim in _CONTINUOUS:
        low, med, high = bootstrap_best(rows, col, frac=frac, n=n, ci=ci, seed=seed,
                                        error=metric)
        intervals[key] = (low, med, high)
        lo, hi = _grid_range(low, high, quantum, lo_lim, hi_lim)
        domains[key] = {"dist": dist, "low": lo, "high": hi, "q": quantum}
    for col, key in _CHOICES:
        low, med, high = bootstrap_best(rows, col, frac=frac, n=n, ci=ci, seed=seed,
                                        error=metric)
        intervals[key] = (low, med, high)
        seen = sorted({v for v in rows[col] if low - 1e-9 <= v <= high + 1e-9})
        values = [int(v) if float(v).is_integer() else float(v) for v in seen]
        domains[key] = {"dist": "choice", "values": values}
    if base is None:
        base = "regnety" if float(rows["se_ratio"].iloc[0]) > 0 else "regnetx"
    spaces = ", ".join(sorted(rows["design_space"].unique()))
    proposed = ProposedSpace(name=name, base=base, domains=domains, intervals=intervals,
                             n_models=len(rows), source=f"the best of {spaces}")
    if not write:
        return proposed
    out = Path(path) if path is not None else CONF_DIR / f"{name}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(proposed.yaml())
    return ProposedSpace(**{**proposed.__dict__, "path": out})
