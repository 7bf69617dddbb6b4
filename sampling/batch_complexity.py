"""Vectorized analytic complexity of many AnyNets at once (docs/PAPER.md §4.5).

`anynet.complexity.network_cost` on int64 arrays: the same counting rules and closed form per
stage as the scalar `anynet.complexity` (one implementation, `anynet.blocks`), so a batch of N
candidate networks is counted with a few numpy operations per stage. Integer results equal
`anynet.complexity` exactly (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anynet.complexity import network_cost


@dataclass(frozen=True)
class FixedFields:
    """Everything of a candidate except the per-stage arrays: input resolution, stem, SE ratio,
    block type, activation and head, shared by every candidate of a design space
    (docs/PAPER.md §1.6: the activation counts nothing, the block and stem types do)."""

    resolution: int
    in_channels: int
    num_classes: int
    stem_width: int = 32
    stem_stride: int = 2
    se_ratio: float = 0.0
    block_type: str = "X"
    activation: str = "relu"
    stem_type: str = "simple"


def batch_complexity(depths: np.ndarray, widths: np.ndarray, ratios: np.ndarray,
                     groups: np.ndarray, strides: tuple[int, ...], fixed: FixedFields
                     ) -> dict[str, np.ndarray]:
    """{"flops", "params", "acts"} (int64 arrays of length N) for (N, stages) stage arrays."""
    flops, params, acts = network_cost(
        np.asarray(depths, dtype=np.int64).T, np.asarray(widths, dtype=np.int64).T,
        np.asarray(ratios, dtype=float).T, np.asarray(groups, dtype=np.int64).T, strides,
        resolution=fixed.resolution, in_channels=fixed.in_channels,
        num_classes=fixed.num_classes, stem_width=fixed.stem_width,
        stem_stride=fixed.stem_stride, se_ratio=fixed.se_ratio, block_type=fixed.block_type,
        stem_type=fixed.stem_type)
    return {"flops": flops, "params": params, "acts": acts}
