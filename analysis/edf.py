"""Error EDFs ([DDS] Eq. 1) and complexity-normalized EDFs ([NDS] §4; docs/PAPER.md §4.1-4.2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class EDF:
    """An empirical distribution: unpacks as ``x, F = edf(...)``.

    ``F[i]`` is the (weighted) fraction of models with error <= ``x[i]`` (the pycls plot
    convention, F = (i+1)/n unweighted). `weights` are the per-model weights in sorted order and
    `dropped` counts models left out (non-finite values, or outside the complexity range).
    """

    x: np.ndarray
    F: np.ndarray
    weights: np.ndarray = field(repr=False)
    dropped: int = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.x, self.F))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> np.ndarray:
        return (self.x, self.F)[i]

    def at(self, e: float | np.ndarray) -> np.ndarray:
        """F evaluated at arbitrary errors (right-continuous step function)."""
        i = np.searchsorted(self.x, e, side="right")
        return np.concatenate([[0.0], self.F])[i]


def edf(errors, weights=None) -> EDF:
    """Sorted errors and F[i] = (i+1)/n ([DDS] Eq. 1 plotted as in pycls `plot_edf`).

    With `weights` (normalized to sum 1), F is their cumulative sum in error order: the
    normalized EDF F̂(e) = Σ w_i 1[e_i <= e] of [NDS]. Non-finite errors are dropped.
    """
    e = np.asarray(errors, dtype=float).ravel()
    w = np.ones_like(e) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != e.shape:
        raise ValueError(f"weights: {w.size} values for {e.size} errors; give one per model")
    keep = np.isfinite(e) & np.isfinite(w)
    if not keep.any():
        raise ValueError("errors: no finite value; an EDF needs at least one model")
    if (w[keep] < 0).any() or w[keep].sum() <= 0:
        raise ValueError("weights: must be non-negative with a positive sum")
    e, w = e[keep], w[keep]
    order = np.argsort(e, kind="stable")
    w = w[order] / w.sum()
    return EDF(x=e[order], F=np.cumsum(w), weights=w, dropped=int((~keep).sum()))


def complexity_weights(complexity, bins: int, range: tuple[float, float] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Weights 1/(k·m_j) that make the complexity distribution uniform over k bins ([NDS] §4).

    Returns (weights, inside): models outside `range` get weight 0 and ``inside`` False. An
    empty bin is an error naming the bin (the normalization is undefined there).
    """
    c = np.asarray(complexity, dtype=float).ravel()
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins: {bins!r} is not allowed; use an integer >= 1")
    finite = np.isfinite(c)
    if not finite.any():
        raise ValueError("complexity: no finite value")
    lo, hi = (float(c[finite].min()), float(c[finite].max())) if range is None else range
    if not lo < hi:
        if range is None and lo == hi:
            hi = lo + 1.0  # a single complexity value: one degenerate bin is fine
        else:
            raise ValueError(f"range: ({lo}, {hi}) is empty; give low < high")
    inside = finite & (c >= lo) & (c <= hi)
    edges = np.linspace(lo, hi, bins + 1)
    idx = np.clip(np.searchsorted(edges[1:-1], c[inside], side="right"), 0, bins - 1)
    counts = np.bincount(idx, minlength=bins)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        j = int(empty[0])
        raise ValueError(
            f"bins: bin {j} [{edges[j]:.6g}, {edges[j + 1]:.6g}) holds no model "
            f"({empty.size} of {bins} bins empty); use fewer bins or a narrower range"
        )
    weights = np.zeros_like(c)
    weights[inside] = 1.0 / (bins * counts[idx])
    return weights, inside


def normalized_edf(errors, complexity, bins: int, range: tuple[float, float] | None = None
                   ) -> EDF:
    """Complexity-normalized error EDF ([NDS] §4, docs/PAPER.md §4.2).

    Bin `complexity` (e.g. flops) into `bins` equal bins over `range` (default: its min..max);
    each of the m_j models in bin j gets weight 1/(k·m_j). Models outside `range` are dropped and
    counted in ``.dropped``; an empty bin raises ValueError naming it.
    """
    e = np.asarray(errors, dtype=float).ravel()
    c = np.asarray(complexity, dtype=float).ravel()
    if e.shape != c.shape:
        raise ValueError(f"complexity: {c.size} values for {e.size} errors; give one per model")
    keep = np.isfinite(e)
    weights, inside = complexity_weights(c[keep], bins, range)
    result = edf(e[keep][inside], weights[inside])
    return EDF(result.x, result.F, result.weights, dropped=int(e.size - inside.sum()))
