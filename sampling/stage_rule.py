"""Which built stages a block type admits (docs/PAPER.md §1.6, docs/DESIGN_SPACES.md "Blocks,
activations, stems and stage counts"), elementwise on arrays of built stages.

A stage of width w, bottleneck ratio b and group width g (after the App. D rule,
`anynet.regnet.adjust`) is an AnyNet stage when w / b is a positive whole number of channels
(to 1e-9, as `anynet.blocks.exact_bottleneck_width`) that g divides; the block type adds its
own rule, the one `AnyNetSpec` enforces on one spec:

* V and VR (two full 3x3 convs): b = 1 and g = w (one group of the stage width);
* R (ResNet's bottleneck, one group): g = w / b;
* X: nothing more.

The AnyNet tables give the raw (w, b, g) whose built stage fails this rule zero mass; a RegNet
space rejects such candidates by the named mask `MASK`. Either way a sampled spec is valid for
its block type by construction, never an exception.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anynet.blocks import BOTTLENECK_BLOCKS, bottleneck_width

# What each block type needs of a built stage, in the words of a message.
WORDS = {"V": "b = 1 and g = w", "VR": "b = 1 and g = w", "R": "g = w / b",
         "X": "g to divide w / b"}
MASK = "block_stages"  # the name a RegNet space's rejections by this rule are counted under
TOLERANCE = 1e-9  # w / b within this of a whole number is that number (exact_bottleneck_width)


def admitted(widths: Any, ratios: Any, groups: Any, block_type: str) -> np.ndarray:
    """True where the built stage (width, b, group width) is a valid stage of `block_type`
    blocks; arrays of one broadcast shape (or scalars) in, a bool array of that shape out."""
    w = np.asarray(widths, dtype=np.int64)
    b = np.asarray(ratios, dtype=float)
    g = np.asarray(groups, dtype=np.int64)
    wb_exact = w / b
    wb = bottleneck_width(w, b)  # rounded half-to-even: an int64 array
    ok = (wb_exact >= 1) & (np.abs(wb_exact - wb) <= TOLERANCE) & (w >= 1) & (g >= 1)
    ok &= np.mod(wb, np.where(g >= 1, g, 1)) == 0
    if block_type not in BOTTLENECK_BLOCKS:
        return ok & (b == 1.0) & (g == w)
    if block_type == "R":
        return ok & (g == wb)
    return ok
