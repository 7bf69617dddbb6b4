"""The blocks' structure and each layer's counting rule, once (docs/PAPER.md §1.2-1.3, §4.5).

Every function here works on Python ints/floats *and* on numpy arrays (elementwise, broadcasting),
so the scalar `anynet.complexity`, the vectorized `sampling.batch_complexity` and the nn.Module
builder `anynet.build_model` share one definition of each rule:

* block types ([DDS] Fig. 10, docs/PAPER.md §1.6): V (two 3x3 convs), VR (V with a residual),
  R (residual bottleneck, one group) and X (residual bottleneck with group conv; + SE = Y);
* bottleneck width w_b = w_out / b ([DDS] Fig. 4), half-to-even rounding to whole channels;
* groups of the 3x3 conv = w_b / g (g is the group *width*);
* SE width = round(se_ratio · w_in) of the block *input* width ([DDS] App. D; pycls);
* projection shortcut (1x1 conv + BN, carrying the stride) iff the block is residual and
  w_in != w_out or stride != 1;
* stems: "simple" (3x3 conv) or "resnet" (7x7 conv, then a 3x3 stride-2 max pool).

Counting follows pycls (`core/net.py`, `models/blocks.py *_cx`), which produced the paper's
numbers: flops are multiply-adds; a k x k conv adds k²·C_in·C_out·h·w / G flops,
k²·C_in·C_out / G params and C_out·h·w acts (its output size); a bias adds C_out·h·w flops and
C_out params; BN adds 2C params and nothing else; a max pool adds its output size to acts; the
FC head adds w·n + n flops and params and n acts; the SE convs run at 1x1. Activations (ReLU or
Swish), sigmoid, average pooling and the residual add count nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

Int = Any  # a Python int or an int64 numpy array (elementwise)

# The vocabulary of the spec's block, activation and stem fields (docs/PAPER.md §1.6).
BLOCK_TYPES = ("V", "VR", "R", "X")  # Y is the X block with se_ratio > 0
BOTTLENECK_BLOCKS = ("R", "X")  # 1x1, 3x3 (group) conv, 1x1: b, g and SE apply
ACTIVATIONS = ("relu", "silu")  # silu is Swish
STEM_TYPES = ("simple", "resnet")
RESNET_STEM_KERNEL = 7  # pycls ResStem: 7x7 conv, BN, activation, 3x3 max pool with stride 2
STEM_POOL_KERNEL, STEM_POOL_STRIDE = 3, 2


def _rint(x: Any) -> Int:
    """Half-to-even rounding to whole numbers: an int64 array for an array, else a Python int
    (Python's `round` and numpy's `rint` agree; the scalar path avoids numpy's overhead)."""
    if isinstance(x, np.ndarray):
        return np.rint(x).astype(np.int64)
    return int(round(x))


def bottleneck_width(w_out: Int, b: Any) -> Int:
    """w_b = w_out / b ([DDS] Fig. 4), rounded half-to-even to whole channels."""
    return _rint(w_out / b)


def exact_bottleneck_width(width: int, ratio: float, stage: int | None = None) -> int:
    """`bottleneck_width` of one stage, or ValueError unless w / b is a positive whole number
    (to 1e-9). `stage` (0-based) only labels the error message."""
    wb = width / ratio
    if wb < 1 or abs(wb - bottleneck_width(width, ratio)) > 1e-9:
        i = "" if stage is None else f"[{stage}]"
        raise ValueError(
            f"widths{i}/bottleneck_ratios{i}: width {width} / b {ratio:g} = {wb:g} is not a "
            "positive integer; the bottleneck width must be a whole number of channels"
        )
    return bottleneck_width(width, ratio)


def se_width(w_in: Int, se_ratio: float) -> Int:
    """SE width of a Y block: round(se_ratio · w_in) of the block *input* width ([DDS] App. D;
    pycls, docs/PAPER.md §1.3), half-to-even."""
    return _rint(w_in * se_ratio)


def out_size(h: int, stride: int) -> int:
    """Output side of a conv with 'same' padding (k // 2) and `stride` on an h x h input."""
    return (h - 1) // stride + 1


@dataclass(slots=True)
class BlockStructure:
    """Channel structure of one block. A bottleneck block (`kind` R or X; [DDS] Fig. 4,
    App. D): 1x1 (w_in → w_b), 3x3 group conv (w_b → w_b, `groups` groups, carrying the
    stride), [SE at `w_se` when `se`], 1x1 (w_b → w_out). A basic block (V or VR): 3x3 conv
    (w_in → w_out, carrying the stride), 3x3 conv (w_out → w_out); w_b = w_out and one group.
    Residual blocks (all but V) add a projection shortcut where `proj` (bool or bool array)."""

    w_in: Int
    w_out: Int
    stride: int
    w_b: Int
    groups: Int
    se: bool
    w_se: Int
    proj: Any
    kind: str = "X"

    @property
    def bottleneck(self) -> bool:
        return self.kind in BOTTLENECK_BLOCKS


def block_structure(w_in: Int, w_out: Int, stride: int, b: Any, g: Int,
                    se_ratio: float, block_type: str = "X") -> BlockStructure:
    """The structure of a block of type `block_type` with input width `w_in`, output width
    `w_out`, bottleneck ratio `b`, group width `g` (dividing w_b) and SE ratio `se_ratio`
    (0 = X block). A basic block (V, VR) ignores b, g and se_ratio; a spec gives it b = 1,
    g = w and no SE."""
    if block_type not in BOTTLENECK_BLOCKS:
        proj = block_type == "VR" and (stride != 1 or (w_in is not w_out and w_in != w_out))
        return BlockStructure(w_in, w_out, stride, w_out, 1, False, 0, proj, block_type)
    w_b = bottleneck_width(w_out, b)
    # `w_in is w_out` (one object: equal) spares an all-False mask for a stage's later blocks
    proj = stride != 1 or (w_in is not w_out and w_in != w_out)
    return BlockStructure(w_in, w_out, stride, w_b, w_b // g, se_ratio > 0,
                          se_width(w_in, se_ratio), proj, block_type)


@dataclass(frozen=True, slots=True)
class StemStructure:
    """The stem ([DDS] Fig. 3a; pycls `SimpleStem`, `ResStem`): a `kernel` x `kernel` conv
    (in_channels → width, carrying `stride`), BN, activation, then, where `pool`, a 3x3 max
    pool with stride 2."""

    kernel: int
    stride: int
    pool: bool


def stem_structure(stem_type: str, stride: int) -> StemStructure:
    """"simple": 3x3 conv (the paper's); "resnet": 7x7 conv and a max pool (ResNe(X)t's)."""
    if stem_type == "resnet":
        return StemStructure(RESNET_STEM_KERNEL, stride, True)
    return StemStructure(3, stride, False)


# -- costs: (flops, params, acts) tuples of ints or int64 arrays -----------------------------
Cost = tuple  # (flops, params, acts); plain tuples keep the scalar path fast


def total(costs: Iterable[Cost]) -> Cost:
    """Componentwise sum of costs. The sums start from the int 0, so the first array term makes
    a fresh array and later terms add into it in place (inputs are never modified)."""
    f = p = a = 0
    for cf, cp, ca in costs:
        f += cf
        p += cp
        a += ca
    return f, p, a


def scale(k: Any, cost: Cost) -> Cost:
    """`cost` times an int (e.g. a number of identical blocks) or a 0/1 mask."""
    if k is True:
        return cost
    f, p, a = cost
    return k * f, k * p, k * a


def conv_cost(c_in: Int, c_out: Int, k: int, hw_out: int, groups: Int = 1,
              bias: bool = False) -> Cost:
    """A k x k conv (`groups` groups dividing c_in, optional bias) producing hw_out pixels per
    channel: k²·C_in·C_out / G weights, applied at every output pixel."""
    weights = c_in * c_out
    if type(groups) is not int or groups != 1:  # an int 1 divides nothing (skip an array op)
        weights = weights // groups
    if k != 1:
        weights = weights * (k * k)
    acts = c_out * hw_out
    if bias:
        return weights * hw_out + acts, weights + c_out, acts
    return weights * hw_out, weights, acts


def bn_cost(c: Int) -> Cost:
    """BatchNorm: 2C params (γ, β); no flops or acts."""
    return 0, 2 * c, 0


def se_cost(w_b: Int, w_se: Int) -> Cost:
    """SE op: two biased 1x1 convs at 1x1 spatial size (w_b → w_se → w_b):
    w_b·w_se + w_se and w_se·w_b + w_b flops and params, w_se + w_b acts."""
    n = 2 * w_b * w_se + w_se + w_b
    return n, n, w_se + w_b


def pool_cost(c: Int, hw_out: int) -> Cost:
    """A max pool: no flops or params; its output size C·h·w to acts."""
    return 0, 0, c * hw_out


def stem_cost(st: StemStructure, c_in: int, width: int, resolution: int) -> tuple[Cost, int]:
    """Cost of the stem on a square input of `resolution` px, and the side of its output."""
    h = out_size(resolution, st.stride)
    layers = [conv_cost(c_in, width, st.kernel, h * h), bn_cost(width)]
    if st.pool:
        h = out_size(h, STEM_POOL_STRIDE)
        layers.append(pool_cost(width, h * h))
    return total(layers), h


def fc_cost(c_in: Int, c_out: Int) -> Cost:
    """The FC head with bias: c_in·c_out + c_out flops and params, c_out acts."""
    n = c_in * c_out + c_out
    return n, n, c_out


def block_cost(st: BlockStructure, h_in: int) -> Cost:
    """Cost of one block on an h_in x h_in input (the first 3x3 conv and the shortcut carry the
    stride)."""
    w_in, w_b, w_out = st.w_in, st.w_b, st.w_out
    hw_in, hw_out = h_in * h_in, out_size(h_in, st.stride) ** 2
    if not st.bottleneck:  # V, VR: two 3x3 convs at the output size
        layers = [conv_cost(w_in, w_out, 3, hw_out), bn_cost(w_out),
                  conv_cost(w_out, w_out, 3, hw_out), bn_cost(w_out)]
    else:
        layers = [conv_cost(w_in, w_b, 1, hw_in), bn_cost(w_b),
                  conv_cost(w_b, w_b, 3, hw_out, st.groups), bn_cost(w_b),
                  conv_cost(w_b, w_out, 1, hw_out), bn_cost(w_out)]
    if st.se:  # se_ratio is one number for the whole network (or batch)
        layers.append(se_cost(w_b, st.w_se))
    if st.proj is not False:  # True, or a bool mask over the batch
        shortcut = total([conv_cost(w_in, w_out, 1, hw_out), bn_cost(w_out)])
        layers.append(scale(st.proj, shortcut))
    return total(layers)
