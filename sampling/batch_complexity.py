"""Vectorized analytic complexity of many AnyNets at once (PAPER.md §4.5).

The same counting rules as `anynet.complexity` (pycls `core/net.py complexity`), written in
closed form per stage so that a batch of N candidate networks is counted with a few numpy
operations: stage i's first block carries the stride and the projection shortcut, its d_i − 1
other blocks are identical. Integer results equal `anynet.complexity` exactly (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stem:
    """Everything except the per-stage arrays: the fixed part of every candidate."""

    resolution: int
    in_channels: int
    num_classes: int
    stem_width: int = 32
    stem_stride: int = 2
    se_ratio: float = 0.0


def _down(h: int, s: int) -> int:
    return (h - 1) // s + 1


def batch_complexity(depths: np.ndarray, widths: np.ndarray, ratios: np.ndarray,
                     groups: np.ndarray, strides: tuple[int, ...], stem: Stem
                     ) -> dict[str, np.ndarray]:
    """{"flops", "params", "acts"} (int64 arrays of length N) for (N, stages) stage arrays."""
    depths = np.asarray(depths, dtype=np.int64)
    widths = np.asarray(widths, dtype=np.int64)
    groups = np.asarray(groups, dtype=np.int64)
    wbs = np.rint(widths / np.asarray(ratios, dtype=float)).astype(np.int64)
    n = depths.shape[0]
    h = _down(stem.resolution, stem.stem_stride)
    sw, cin = stem.stem_width, stem.in_channels
    flops = np.full(n, 9 * cin * sw * h * h, dtype=np.int64)
    params = np.full(n, 9 * cin * sw + 2 * sw, dtype=np.int64)
    acts = np.full(n, sw * h * h, dtype=np.int64)
    w_in = np.full(n, sw, dtype=np.int64)
    for i, s in enumerate(strides):
        d, w, wb, g = depths[:, i], widths[:, i], wbs[:, i], groups[:, i]
        ho = _down(h, s)
        a_in, a_out = h * h, ho * ho

        def block(w_in: np.ndarray, a_in: int, a_out: int, wb=wb, w=w, g=g):
            f = w_in * wb * a_in + 9 * wb * g * a_out + wb * w * a_out
            p = w_in * wb + 9 * wb * g + wb * w + 2 * (2 * wb + w)
            a = wb * a_in + wb * a_out + w * a_out
            if stem.se_ratio > 0:
                wse = np.rint(w_in * stem.se_ratio).astype(np.int64)
                se = 2 * wb * wse + wse + wb
                f, p, a = f + se, p + se, a + wse + wb
            return f, p, a

        proj = (w_in != w) | (s != 1)
        f1, p1, a1 = block(w_in, a_in, a_out)
        f1 = f1 + proj * (w_in * w * a_out)
        p1 = p1 + proj * (w_in * w + 2 * w)
        a1 = a1 + proj * (w * a_out)
        fr, pr, ar = block(w, a_out, a_out)
        rest = d - 1
        flops += f1 + rest * fr
        params += p1 + rest * pr
        acts += a1 + rest * ar
        w_in, h = w, ho
    nc = stem.num_classes
    flops += w_in * nc + nc
    params += w_in * nc + nc
    acts += nc
    return {"flops": flops, "params": params, "acts": acts}
