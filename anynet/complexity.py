"""Analytic complexity of an AnyNetSpec, without building a model (PAPER.md §4.5).

Counting rules are pycls's (`core/net.py`, `models/blocks.py *_cx`), which produced the paper's
numbers: flops are multiply-adds; a conv adds k²·C_in·C_out·h·w / G flops, k²·C_in·C_out / G
params and C_out·h·w acts (its output size); a bias adds C_out·h·w flops and C_out params; BN adds
2C params and nothing else; the FC head adds w·n + n flops and params and n acts; the SE convs
run at 1×1. ReLU, sigmoid, pooling and the residual add count nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import AnyNetSpec, bottleneck_width, se_width


@dataclass
class _Counter:
    h: int
    w: int
    flops: int = 0
    params: int = 0
    acts: int = 0

    def conv(self, c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1,
             bias: bool = False) -> None:
        self.h, self.w = (self.h - 1) // stride + 1, (self.w - 1) // stride + 1
        hw = self.h * self.w
        self.flops += k * k * c_in * c_out * hw // groups + (c_out * hw if bias else 0)
        self.params += k * k * c_in * c_out // groups + (c_out if bias else 0)
        self.acts += c_out * hw

    def bn(self, c: int) -> None:
        self.params += 2 * c

    def se(self, w_b: int, w_se: int) -> None:
        h, w = self.h, self.w
        self.h = self.w = 1
        self.conv(w_b, w_se, 1, bias=True)
        self.conv(w_se, w_b, 1, bias=True)
        self.h, self.w = h, w

    def linear(self, c_in: int, c_out: int) -> None:
        self.flops += c_in * c_out + c_out
        self.params += c_in * c_out + c_out
        self.acts += c_out


def _block(cx: _Counter, w_in: int, w_out: int, stride: int, b: float, g: int,
           se_ratio: float) -> None:
    """X/Y block ([DDS] Fig. 4, App. D): projection shortcut, 1x1, 3x3 group (stride), [SE], 1x1."""
    if w_in != w_out or stride != 1:
        h, w = cx.h, cx.w
        cx.conv(w_in, w_out, 1, stride)
        cx.bn(w_out)
        cx.h, cx.w = h, w
    w_b = bottleneck_width(w_out, b)
    cx.conv(w_in, w_b, 1)
    cx.bn(w_b)
    cx.conv(w_b, w_b, 3, stride, groups=w_b // g)
    cx.bn(w_b)
    if se_ratio > 0:
        cx.se(w_b, se_width(w_in, se_ratio))
    cx.conv(w_b, w_out, 1)
    cx.bn(w_out)


def complexity(spec: AnyNetSpec, resolution: int = 224) -> dict[str, int]:
    """{"flops", "params", "acts"} of `spec` at a square input of `resolution` px (exact ints)."""
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise ValueError(f"resolution: {resolution!r} is not allowed; use an integer >= 1")
    cx = _Counter(resolution, resolution)
    cx.conv(spec.in_channels, spec.stem_width, 3, spec.stem_stride)
    cx.bn(spec.stem_width)
    w_in = spec.stem_width
    for d, w, b, g, s in zip(spec.depths, spec.widths, spec.bottleneck_ratios,
                             spec.group_widths, spec.strides, strict=True):
        for j in range(d):
            _block(cx, w_in, w, s if j == 0 else 1, b, g, spec.se_ratio)
            w_in = w
    cx.linear(w_in, spec.num_classes)
    return {"flops": cx.flops, "params": cx.params, "acts": cx.acts}
