"""Analytic complexity of an AnyNet, without building a model (docs/PAPER.md §4.5).

The layer counting rules and the block and stem structures live in `anynet.blocks` (pycls's
conventions: flops are multiply-adds, BN adds 2C params, ...). `network_cost` composes them for
stem → stages → head in closed form per stage (stage i's first block carries the stride and the
projection shortcut, its d_i − 1 other blocks are identical), on Python ints for one spec
(`complexity`) or on int64 arrays for a batch of candidates (`sampling.batch_complexity`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .blocks import (
    Cost,
    block_cost,
    block_structure,
    fc_cost,
    out_size,
    scale,
    stem_cost,
    stem_structure,
    total,
)
from .spec import AnyNetSpec


def network_cost(depths: Iterable[Any], widths: Iterable[Any], ratios: Iterable[Any],
                 groups: Iterable[Any], strides: Iterable[int], *, resolution: int,
                 in_channels: int, num_classes: int, stem_width: int, stem_stride: int,
                 se_ratio: float, block_type: str = "X", stem_type: str = "simple") -> Cost:
    """(flops, params, acts) of the stem (conv + BN [+ max pool]), the stages of `block_type`
    blocks and the FC head at a square input of `resolution` px. Per-stage values are ints
    (one network) or int/float arrays of one shape (many networks, elementwise). The
    activation function counts nothing, so it is no argument."""
    cost, h = stem_cost(stem_structure(stem_type, stem_stride), in_channels, stem_width,
                        resolution)
    w_in = stem_width
    for d, w, b, g, s in zip(depths, widths, ratios, groups, strides, strict=True):
        h_out = out_size(h, s)
        first = block_structure(w_in, w, s, b, g, se_ratio, block_type)
        cost = total([cost, block_cost(first, h)])
        if isinstance(d, np.ndarray) or d > 1:  # the d - 1 blocks after the first (scalar: skip 0)
            rest = block_structure(w, w, 1, b, g, se_ratio, block_type)
            cost = total([cost, scale(d - 1, block_cost(rest, h_out))])
        w_in, h = w, h_out
    return total([cost, fc_cost(w_in, num_classes)])


def complexity(spec: AnyNetSpec, resolution: int = 224) -> dict[str, int]:
    """{"flops", "params", "acts"} of `spec` at a square input of `resolution` px (exact ints)."""
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise ValueError(f"resolution: {resolution!r} is not allowed; use an integer >= 1")
    flops, params, acts = network_cost(
        spec.depths, spec.widths, spec.bottleneck_ratios, spec.group_widths, spec.strides,
        resolution=resolution, in_channels=spec.in_channels, num_classes=spec.num_classes,
        stem_width=spec.stem_width, stem_stride=spec.stem_stride, se_ratio=spec.se_ratio,
        block_type=spec.block_type, stem_type=spec.stem_type)
    return {"flops": flops, "params": params, "acts": acts}
