"""Fit the quantized linear rule to a network's per-block widths ([DDS] §3.3, Fig. 8).

e_fit is the mean absolute log-ratio of predicted to observed per-block widths,

    e_fit = (1/d) Σ_j |log(ŵ_j / w_j)|,

(the paper says "mean log-ratio"; the absolute value keeps signed errors from cancelling,
docs/PAPER.md §3, §8.1). Predicted widths ŵ_j come from Eqs. 2-4 with pycls's rounding
(`anynet.regnet_block_widths`), d is the number of blocks given, and the search covers the RegNet
ranges widened for large models: w0 a multiple of q in [q, max(512, max width)] (RegNetX-32GF has
w0 = 320 > 256), 0 < wa <= 256, 1.5 <= wm <= 3.

Search. For fixed (w0, wm), each block's stage exponent k_j = round(log(1 + (wa/w0)·j) / log wm)
is a step function of wa whose steps sit at wa = w0·(wm^(k+1/2) - 1)/j, so the best wa is found
*exactly* by sorting those breakpoints and accumulating the cost changes (one vectorized pass for
many (w0, wm) pairs at once). (w0, wm) is searched by a coarse grid (every multiple of q, wm in
steps of 0.05) and local refinement: around the best few pairs, finer wm steps (0.0025, then
0.0001) and neighbouring w0.

Ties in w_m. The rule is quantized, so a range of wm gives the same widths (and e_fit). At the
fitted w0 (block 0's width is w0, so every fit with the same widths has it), wm is scanned in
steps of 0.001 (the RegNet spaces' wm quantum) over [1.5, 3] with wa exact; the wm whose best
e_fit is within `TIE_TOL` of the best are the equally good ones, `wm_low` and `wm_high` the
smallest and largest (ends refined by bisection to 1e-7; an end at 1.5 or 3 is the search's
bound). Tie rule: the reported wm is the middle of [wm_low, wm_high] in log space (the RegNet
spaces sample wm log-uniformly), rounded to 3 decimals, else 4, where that still ties (the
nearest tied scan point in log if the middle does not tie). The scan also finds an optimum
the grid search stepped over; the fit then takes it (docs/ANALYSIS.md, "Ties in w_m").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anynet import AnyNetSpec, RegNetStages, regnet_block_widths, regnet_stages

WA_MAX = 256.0
WM_RANGE = (1.5, 3.0)
W0_MAX = 512
TIE_TOL = 1e-9  # two fits are equally good when their e_fit differ by at most this


@dataclass(frozen=True)
class RegNetFit:
    """Best quantized-linear parameters for one network and its fit error."""

    w0: int
    wa: float
    wm: float
    depth: int
    e_fit: float
    fitted_widths: tuple[int, ...]
    wm_low: float  # the smallest and largest equally good wm at w0 (module docstring)
    wm_high: float

    def stages(self, q: int = 8) -> RegNetStages:
        """The rule's output at the fitted parameters (stage widths/depths, u_j)."""
        return regnet_stages(self.depth, self.w0, self.wa, self.wm, q)


@dataclass(frozen=True)
class _Grid:
    """Search settings (module constants by default; see the module docstring)."""

    w0_max: int
    wa_max: float = WA_MAX
    wm_low: float = WM_RANGE[0]
    wm_high: float = WM_RANGE[1]
    coarse_step: float = 0.05
    refine_steps: tuple[float, ...] = (0.0025, 0.0001)
    refine_span: int = 20  # grid points either side of a seed at each level
    seeds: int = 6  # best (w0, wm) pairs refined at each level
    tie_step: float = 0.001  # the wm scan for ties: the RegNet spaces' wm quantum
    tie_resolution: float = 1e-7  # the ends of the tie interval, by bisection


def e_fit(predicted: Sequence[float], observed: Sequence[float]) -> float:
    """Mean absolute log-ratio of predicted to observed per-block widths ([DDS] §3.3)."""
    p, o = np.asarray(predicted, float), np.asarray(observed, float)
    if p.shape != o.shape or p.size == 0:
        raise ValueError(f"e_fit: {p.size} predicted vs {o.size} observed widths")
    return float(np.mean(np.abs(np.log(p / o))))


def _best_wa(logw: np.ndarray, w0: np.ndarray, wm: np.ndarray, q: int, wa_max: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """For each pair (w0[i], wm[i]): the minimal summed |log ratio| over wa in (0, wa_max] and
    a wa achieving it (the middle of its interval). Exact: enumerates every step of k_j(wa)."""
    d = logw.size
    r_max = wa_max / w0
    # the exponents a pair can reach: k_j(wa) <= log(1 + r_max (d - 1)) / log(wm) (+2 spare);
    # pairs are solved in groups of equal reach, row by row exactly as in one block (a step
    # beyond a pair's reach lies outside (0, r_max] and sorts after all of its own)
    reach = (np.ceil(np.log1p(r_max * max(d - 1, 1)) / np.log(wm)) + 2).astype(int)
    if np.unique(reach).size == 1:
        return _best_wa_block(logw, w0, wm, q, r_max, int(reach[0]), wa_max)
    cost, wa = np.empty(w0.size), np.empty(w0.size)
    for n_k in np.unique(reach):
        rows = reach == n_k
        cost[rows], wa[rows] = _best_wa_block(logw, w0[rows], wm[rows], q, r_max[rows],
                                              int(n_k), wa_max)
    return cost, wa


def _best_wa_block(logw: np.ndarray, w0: np.ndarray, wm: np.ndarray, q: int, r_max: np.ndarray,
                   n_k: int, wa_max: float) -> tuple[np.ndarray, np.ndarray]:
    """`_best_wa` for pairs whose exponents stay below `n_k`."""
    d = logw.size
    ks = np.arange(n_k + 1)
    pred = q * np.round(w0[:, None] * wm[:, None] ** ks / q)  # ŵ for each exponent k
    cost = np.abs(np.log(pred)[:, :, None] - logw[None, None, :])  # (P, k, block)
    cost0 = cost[:, 0, :].sum(axis=1)  # every block at k = 0 (wa -> 0+)
    if d == 1:
        return cost0, 0.5 * wa_max * np.ones_like(cost0)
    j = np.arange(1, d)
    # block j moves from exponent k to k+1 at r = wa/w0 = (wm^(k+1/2) - 1) / j
    steps = (wm[:, None, None] ** (ks[:-1] + 0.5)[None, :, None] - 1) / j[None, None, :]
    delta = cost[:, 1:, 1:] - cost[:, :-1, 1:]
    inside = steps <= r_max[:, None, None]
    steps = np.where(inside, steps, np.inf).reshape(len(w0), -1)
    delta = np.where(inside, delta, 0.0).reshape(len(w0), -1)
    order = np.argsort(steps, axis=1, kind="stable")
    steps = np.take_along_axis(steps, order, axis=1)
    total = cost0[:, None] + np.cumsum(np.take_along_axis(delta, order, axis=1), axis=1)
    # the state after step b holds for r in (steps[b], next step), clipped to r_max
    upper = np.minimum(np.concatenate([steps[:, 1:], r_max[:, None]], axis=1), r_max[:, None])
    lower = np.concatenate([np.zeros((len(w0), 1)), steps], axis=1)
    upper = np.concatenate([np.minimum(steps[:, :1], r_max[:, None]), upper], axis=1)
    total = np.concatenate([cost0[:, None], total], axis=1)
    total = np.where(np.isfinite(lower) & (upper > lower), total, np.inf)
    best = np.argmin(total, axis=1)
    rows = np.arange(len(w0))
    r = 0.5 * (lower[rows, best] + upper[rows, best])
    return total[rows, best], r * w0


def _search(logw: np.ndarray, q: int, grid: _Grid) -> tuple[int, float, float]:
    """Coarse (w0, wm) grid, then local refinement around the best pairs; wa exact."""
    w0_all = q * np.arange(1, grid.w0_max // q + 1)
    wm_coarse = np.arange(grid.wm_low, grid.wm_high + 1e-9, grid.coarse_step)
    w0, wm = (a.ravel() for a in np.meshgrid(w0_all, wm_coarse, indexing="ij"))
    cost, wa = _best_wa(logw, w0.astype(float), wm, q, grid.wa_max)
    for step in grid.refine_steps:
        seeds = np.argsort(cost, kind="stable")[: grid.seeds]
        offs = step * np.arange(-grid.refine_span, grid.refine_span + 1)
        cand_w0, cand_wm = [], []
        for s in seeds:
            near = w0[s] + q * np.arange(-1, 2)
            near = near[(near >= q) & (near <= grid.w0_max)]
            m = np.clip(wm[s] + offs, grid.wm_low, grid.wm_high)
            a, b = np.meshgrid(near, m, indexing="ij")
            cand_w0.append(a.ravel())
            cand_wm.append(b.ravel())
        new_w0, new_wm = np.concatenate(cand_w0), np.concatenate(cand_wm)
        new_cost, new_wa = _best_wa(logw, new_w0.astype(float), new_wm, q, grid.wa_max)
        w0, wm = np.concatenate([w0, new_w0]), np.concatenate([wm, new_wm])
        cost, wa = np.concatenate([cost, new_cost]), np.concatenate([wa, new_wa])
        if cost.min() == 0:
            break
    i = int(np.argmin(cost))
    return int(w0[i]), float(wa[i]), float(wm[i])


def _at_w0(logw: np.ndarray, w0: int, wm: np.ndarray, q: int, grid: _Grid
           ) -> tuple[np.ndarray, np.ndarray]:
    """`_best_wa` for many wm at one w0: the best summed |log ratio| and its wa."""
    wm = np.atleast_1d(np.asarray(wm, float))
    return _best_wa(logw, np.full(wm.size, float(w0)), wm, q, grid.wa_max)


@dataclass(frozen=True)
class _Ties:
    """The equally good wm at one w0: the best summed cost, the tied scan points, the ends."""

    cost: float
    tied: np.ndarray
    low: float
    high: float


def _ties(logw: np.ndarray, w0: int, wm_fit: float, q: int, grid: _Grid) -> _Ties:
    """Scan wm at w0 in steps of `grid.tie_step` (plus the search's `wm_fit`); the tied points
    are those within TIE_TOL (in e_fit) of the best, their hull's ends refined by bisection."""
    n = int(round((grid.wm_high - grid.wm_low) / grid.tie_step))
    scan = np.union1d(np.linspace(grid.wm_low, grid.wm_high, n + 1), [wm_fit])
    cost, _ = _at_w0(logw, w0, scan, q, grid)
    best, tol = float(cost.min()), TIE_TOL * logw.size
    idx = np.flatnonzero(cost <= best + tol)
    ends = []  # (a tied wm, an untied neighbour) at each end of the hull, or no neighbour
    for i, j in ((idx[0], idx[0] - 1), (idx[-1], idx[-1] + 1)):
        ends.append([scan[i], scan[j] if 0 <= j < scan.size else np.nan])
    inner = np.array([e[0] for e in ends])
    outer = np.array([e[1] for e in ends])
    live = np.isfinite(outer)
    while live.any() and np.abs(outer - inner)[live].max() > grid.tie_resolution:
        mid = 0.5 * (inner + outer)
        c, _ = _at_w0(logw, w0, np.where(live, mid, inner), q, grid)
        hit = live & (c <= best + tol)
        inner = np.where(hit, mid, inner)
        outer = np.where(live & ~hit, mid, outer)
    return _Ties(best, scan[idx], float(inner[0]), float(inner[1]))


def _tie_rule(logw: np.ndarray, w0: int, ties: _Ties, q: int, grid: _Grid) -> float:
    """The reported wm among the equally good ones: the middle of [low, high] in log space,
    rounded to 3 decimals, else 4, where that still ties (module docstring)."""
    middle = float(np.sqrt(ties.low * ties.high))
    tol = TIE_TOL * logw.size
    cost, _ = _at_w0(logw, w0, middle, q, grid)
    if cost[0] > ties.cost + tol:  # the tied wm are not one interval: the nearest tied point
        middle = float(ties.tied[np.argmin(np.abs(np.log(ties.tied / middle)))])
    tries = np.array([round(middle, 3), round(middle, 4), middle])
    cost, _ = _at_w0(logw, w0, tries, q, grid)
    ok = (cost <= ties.cost + tol) & (tries >= ties.low) & (tries <= ties.high)
    return float(tries[np.argmax(ok)]) if ok.any() else middle


def _short_wa(depth: int, w0: int, wa: float, wm: float, q: int) -> float:
    """wa rounded to 1-3 decimals when that leaves the predicted widths unchanged."""
    widths = regnet_block_widths(depth, w0, wa, wm, q)
    for dec in (1, 2, 3):
        a = round(wa, dec)
        if a > 0 and regnet_block_widths(depth, w0, a, wm, q) == widths:
            return a
    return wa


def fit_regnet(block_widths: Sequence[int], q: int = 8, w0_max: int | None = None) -> RegNetFit:
    """Fit (w0, wa, wm) of the quantized linear rule to per-block widths, d = len(block_widths)
    ([DDS] §3.3): minimises e_fit by a coarse grid plus local refinement, then reports the
    interval of equally good wm and picks one by the tie rule (module docstring).

    `w0_max` defaults to max(512, the largest width rounded up to q). A pure function of its
    arguments, so each process fits one set of widths once (`_fit`, memoized): a study refits
    the same best models at every look and in every table.
    """
    w = np.asarray(block_widths, dtype=float)
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or (w <= 0).any():
        raise ValueError("block_widths: give a non-empty list of positive widths")
    if not isinstance(q, int) or q < 1:
        raise ValueError(f"q: {q!r} is not allowed; use an integer >= 1")
    top = max(W0_MAX, int(q * np.ceil(w.max() / q)))
    return _fit(tuple(w.tolist()), q, int(w0_max) if w0_max is not None else top)


@functools.lru_cache(maxsize=4096)
def _fit(widths: tuple[float, ...], q: int, w0_max: int) -> RegNetFit:
    """`fit_regnet` of validated arguments (its result is a frozen dataclass of numbers and
    tuples, safe to share)."""
    w = np.asarray(widths, dtype=float)
    grid = _Grid(w0_max=w0_max)
    depth, logw = int(w.size), np.log(w)
    w0, _, wm_fit = _search(logw, q, grid)
    ties = _ties(logw, w0, wm_fit, q, grid)
    wm = _tie_rule(logw, w0, ties, q, grid)
    wa = _short_wa(depth, w0, float(_at_w0(logw, w0, wm, q, grid)[1][0]), wm, q)
    widths = regnet_block_widths(depth, w0, wa, wm, q)
    return RegNetFit(w0=w0, wa=wa, wm=wm, depth=depth, e_fit=e_fit(widths, w),
                     fitted_widths=tuple(widths), wm_low=ties.low, wm_high=ties.high)


def block_widths_of(spec: dict[str, Any] | AnyNetSpec) -> list[int]:
    """Per-block widths w_j of a spec or spec dict (`AnyNetSpec.block_widths`, [DDS] Fig. 8)."""
    if not isinstance(spec, AnyNetSpec):
        spec = AnyNetSpec.from_dict(spec)
    return spec.block_widths()


def fit_models(df: pd.DataFrame, q: int = 8) -> pd.DataFrame:
    """`df` with the rule fitted to every row's spec: columns fit_w0, fit_wa, fit_wm (the tie
    rule's choice), fit_wm_low and fit_wm_high (the equally good wm), e_fit, fit_widths."""
    fits = [fit_regnet(block_widths_of(s), q) for s in df["spec"]]
    out = df.copy()
    out["fit_w0"] = [f.w0 for f in fits]
    out["fit_wa"] = [f.wa for f in fits]
    out["fit_wm"] = [f.wm for f in fits]
    out["fit_wm_low"] = [f.wm_low for f in fits]
    out["fit_wm_high"] = [f.wm_high for f in fits]
    out["e_fit"] = [f.e_fit for f in fits]
    out["fit_widths"] = [f.fitted_widths for f in fits]
    return out
