"""Discrete parameter distributions of a design space ([DDS] §3.2; docs/PAPER.md §1.4, §5).

Every parameter of a design space has a finite, quantized domain, so each distribution is a
`Categorical`: the domain's values with an exact probability mass function. Three kinds:

- ``choice``: uniform over a listed set of values (b ∈ {1, 2, 4}, g ∈ {1, 2, …, 32}).
- ``uniform``: uniform over the grid low, low + q, …, high (pycls ``uniform``: U[low, high + q),
  floor-quantized to q).
- ``log_uniform``: pycls's ``log_uniform`` — a continuous log-uniform variable on
  (low − q*, high] with q* = min(q, low/2), *ceil*-quantized to q. On the grid v = low, …, high
  the mass of v is the log-measure of its cell:
  P(v) = ln(v / max(v − q, low − q*)) / ln(high / (low − q*)).
  This is the paper's "log-uniform sampling of d_i ≤ 16, w_i ≤ 1024 and divisible by 8".

Grid values with a fractional q (e.g. w_a with q = 0.1) are k / (1/q), the double nearest to the
decimal k·q, as pycls's Decimal quantization gives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("choice", "uniform", "log_uniform")


@dataclass(frozen=True)
class Categorical:
    """A finite distribution: sorted distinct `values` and their probabilities `probs`."""

    name: str
    values: np.ndarray
    probs: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def pmf(self) -> dict[Any, float]:
        return {_scalar(v): float(p) for v, p in zip(self.values, self.probs, strict=True)}

    def index_of(self, value: Any) -> int | None:
        """Index of `value` in the domain (None when it is not a value of positive mass)."""
        hits = np.flatnonzero(np.isclose(self.values, value, rtol=0.0, atol=1e-9))
        if len(hits) == 0 or self.probs[hits[0]] <= 0:
            return None
        return int(hits[0])


def _scalar(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _grid(name: str, low: Any, high: Any, q: Any) -> np.ndarray:
    """low, low + q, …, high as ints (integer q) or as k / (1/q) doubles (q = 1/n)."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not q > 0:
        raise ValueError(f"{name}.q: {q!r} is not allowed; use a number > 0")
    for key, x in (("low", low), ("high", high)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ValueError(f"{name}.{key}: {x!r} is not allowed; use a finite number")
    if low > high:
        raise ValueError(f"{name}: low {low} > high {high}; use low <= high")
    if float(q).is_integer() and float(low).is_integer() and float(high).is_integer():
        q, lo, hi = int(q), int(low), int(high)
        if lo % q or hi % q:
            raise ValueError(f"{name}: low {lo} and high {hi} must be multiples of q={q}")
        return np.arange(lo, hi + 1, q, dtype=np.int64)
    den = 1.0 / q
    if not math.isclose(den, round(den), rel_tol=0, abs_tol=1e-9):
        raise ValueError(f"{name}.q: {q!r} is not allowed; use an integer or 1/n (0.1, 0.001)")
    den = round(den)
    k_lo, k_hi = low * den, high * den
    if not (math.isclose(k_lo, round(k_lo), abs_tol=1e-6)
            and math.isclose(k_hi, round(k_hi), abs_tol=1e-6)):
        raise ValueError(f"{name}: low {low} and high {high} must be multiples of q={q}")
    return np.arange(round(k_lo), round(k_hi) + 1, dtype=np.int64) / den


def _log_uniform_probs(name: str, values: np.ndarray, low: float, q: float) -> np.ndarray:
    if low <= 0:
        raise ValueError(f"{name}.low: {low} is not allowed for log_uniform; use low > 0")
    floor = low - min(q, low / 2.0)
    lower = np.maximum(values.astype(float) - q, floor)
    mass = np.log(values / lower)
    return mass / mass.sum()


def make_distribution(name: str, cfg: Mapping[str, Any]) -> Categorical:
    """Build the `Categorical` of parameter `name` from its config node ({dist, …})."""
    kind = cfg.get("dist")
    if kind not in KINDS:
        raise ValueError(f"{name}.dist: {kind!r} is not allowed; use one of {list(KINDS)}")
    allowed = {"choice": {"dist", "values"}, "uniform": {"dist", "low", "high", "q"},
               "log_uniform": {"dist", "low", "high", "q"}}[kind]
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown} for dist {kind}; "
                         f"allowed: {sorted(allowed)}")
    if kind == "choice":
        raw = list(cfg.get("values") or [])
        if not raw or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in raw):
            raise ValueError(f"{name}.values: {raw!r} is not allowed; give a non-empty list "
                             "of numbers")
        if len(set(raw)) != len(raw):
            raise ValueError(f"{name}.values: {raw!r} has duplicates; list each value once")
        values = np.array(sorted(raw))
        return Categorical(name, values, np.full(len(values), 1.0 / len(values)))
    q = cfg.get("q", 1)
    values = _grid(name, cfg.get("low"), cfg.get("high"), q)
    if kind == "uniform":
        return Categorical(name, values, np.full(len(values), 1.0 / len(values)))
    return Categorical(name, values, _log_uniform_probs(name, values, float(cfg["low"]), q))
