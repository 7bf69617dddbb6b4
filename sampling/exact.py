"""Exact inverse-CDF draws for independent and monotone-chain stage variables.

A chain constraint x_1 ≤ x_2 ≤ … ≤ x_n over independent discrete priors p_i (AnyNetX_D/E,
[DDS] §3.2) is sampled exactly with backward suffix sums, never by sorting (sorting i.i.d. draws
over-weights distinct values against ties):

    Z_n(v) = p_n(v),   Z_i(v) = p_i(v) · Σ_{v' ≥ v} Z_{i+1}(v'),
    x_1 ∝ Z_1,         x_{i+1} ∝ Z_{i+1}(v) · 1[v ≥ x_i].

With R_i(v) = Σ_{v' ≥ v} Z_i(v') (non-increasing), x_{i+1} is the largest v with R_{i+1}(v) ≥ t
for t = u · R_{i+1}(x_i), u ∈ (0, 1]: the cell (R(v+1), R(v)] has length Z(v), so cells of zero
mass are never drawn and x_{i+1} ≥ x_i holds by construction. Independent stages are the same
rule with x_i reset to the first value.
"""

from __future__ import annotations

import numpy as np


def suffix(w: np.ndarray) -> np.ndarray:
    """R(v) = Σ_{v' ≥ v} w(v') along the last axis."""
    return np.flip(np.cumsum(np.flip(w, axis=-1), axis=-1), axis=-1)


def chain_tables(pmf: np.ndarray, stages: int, chain: bool) -> tuple[np.ndarray, float]:
    """Suffix tables R (stages, V) for i.i.d. stage prior `pmf` (unnormalized is fine) and the
    total mass of the allowed set (Σ Z_1 for a chain, (Σ pmf)^stages otherwise)."""
    pmf = np.asarray(pmf, dtype=float)
    if not chain:
        r = suffix(pmf)
        return np.tile(r, (stages, 1)), float(r[0]) ** stages
    z = [pmf]
    for _ in range(stages - 1):
        z.append(pmf * suffix(z[-1]))
    z.reverse()
    r = suffix(np.stack(z))
    return r, float(r[0, 0])


def draw_chain(r: np.ndarray, u: np.ndarray, chain: bool) -> np.ndarray:
    """Indices (N, stages) drawn with tables `r` — (stages, V) shared or (N, stages, V) per row —
    from uniforms `u` (N, stages) in (0, 1]."""
    n, stages = u.shape
    out = np.empty((n, stages), dtype=np.int64)
    prev = np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    for s in range(stages):
        rs = r[s] if r.ndim == 2 else r[:, s, :]
        top = rs[prev] if rs.ndim == 1 else rs[rows, prev]
        t = u[:, s] * top
        if rs.ndim == 1:
            # rs is non-increasing: count of entries >= t, searched on the reversed array
            x = len(rs) - np.searchsorted(rs[::-1], t, side="left") - 1
        else:
            x = (rs >= t[:, None]).sum(axis=1) - 1
        out[:, s] = x
        if chain:
            prev = x
    return out


def draw_categorical(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Smallest index i with cum[i] ≥ u · cum[-1] for u in (0, 1]; `cum` is (V,) or (N, V)
    non-decreasing cumulative mass. Zero-mass cells are never drawn."""
    if cum.ndim == 1:
        return first_at_least(cum, u)
    t = u * cum[:, -1]
    return (cum < t[:, None]).sum(axis=1)


def first_at_least(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cum, u * cum[-1], side="left")`` for a 1-D array of u in (0, 1],
    element for element, by buckets: of m = 4·V equal buckets of (0, 1], u's bucket floor(u·m)
    starts the search at the answer for the left edge of the bucket before it (a whole bucket of
    margin against rounding), and each draw steps forward while cum[i] < u·cum[-1]: a few
    vectorized steps instead of a binary search per draw. A start past the answer (possible
    only where rounding swallows the margin, e.g. a subnormal total) is searched again."""
    x = u * cum[-1]
    m = 4 * len(cum)
    starts = np.searchsorted(cum, np.arange(-1, m) * (cum[-1] / m), side="left")
    i = np.minimum(starts, len(cum) - 1)[np.minimum((u * m).astype(np.int64), m)]
    behind = np.flatnonzero(cum[i] < x)
    while len(behind):
        i[behind] += 1
        behind = behind[cum[i[behind]] < x[behind]]
    past = np.flatnonzero((i > 0) & (cum[np.maximum(i - 1, 0)] >= x))
    i[past] = np.searchsorted(cum, x[past], side="left")
    return i
