"""`build_model`: the AnyNet network of a spec ([DDS] Fig. 3-4, App. D; docs/PAPER.md §1.1-1.3).

Stem: 3x3 conv (stride `stem_stride`) + BN + ReLU. Body: stages of X blocks (1x1 → 3x3 group conv
carrying the stride → [SE] → 1x1, BN after each conv, ReLU after the residual add, projection
shortcut when width or stride changes). Head: global average pool + FC with bias. Each block's
widths, groups, SE width and shortcut come from `anynet.blocks.block_structure`, the same rule
the complexity counts use.
Initialisation is pycls's: conv ~ N(0, sqrt(2 / (k²·C_out))), BN γ=1 β=0 (optionally γ=0 for each
block's last BN), FC ~ N(0, 0.01) with zero bias. SE conv biases keep PyTorch's default, as in
pycls.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import BlockStructure, block_structure
from .spec import AnyNetSpec


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False)
    return [conv, nn.BatchNorm2d(c_out)]


class SqueezeExcitation(nn.Module):
    """SE op of the Y block: GAP → 1x1 (bias) → ReLU → 1x1 (bias) → sigmoid → scale."""

    def __init__(self, w_b: int, w_se: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(w_b, w_se, 1, bias=True)
        self.expand = nn.Conv2d(w_se, w_b, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(s))))


class XBlock(nn.Module):
    """Residual bottleneck block with group conv, optional SE ([DDS] Fig. 4, App. D)."""

    def __init__(self, st: BlockStructure) -> None:
        super().__init__()
        # construction order (f, then proj) fixes the order of torch RNG draws: keep it
        layers = [*_conv_bn(st.w_in, st.w_b, 1), nn.ReLU(inplace=True),
                  *_conv_bn(st.w_b, st.w_b, 3, st.stride, groups=st.groups),
                  nn.ReLU(inplace=True)]
        if st.se:
            layers.append(SqueezeExcitation(st.w_b, st.w_se))
        layers += _conv_bn(st.w_b, st.w_out, 1)
        self.f = nn.Sequential(*layers)
        self.proj = nn.Sequential(*_conv_bn(st.w_in, st.w_out, 1, st.stride)) if st.proj else None
        self.relu = nn.ReLU(inplace=True)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.f[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.relu(shortcut + self.f(x))


class AnyNet(nn.Module):
    """Stem → stages → head. `spec` is kept on the module for introspection."""

    def __init__(self, spec: AnyNetSpec) -> None:
        super().__init__()
        self.spec = spec
        self.stem = nn.Sequential(*_conv_bn(spec.in_channels, spec.stem_width, 3,
                                            spec.stem_stride), nn.ReLU(inplace=True))
        stages, w_in = [], spec.stem_width
        for d, w, b, g, s in zip(spec.depths, spec.widths, spec.bottleneck_ratios,
                                 spec.group_widths, spec.strides, strict=True):
            blocks = []
            for j in range(d):
                blocks.append(XBlock(block_structure(w_in, w, s if j == 0 else 1, b, g,
                                                     spec.se_ratio)))
                w_in = w
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(w_in, spec.num_classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(x.mean((2, 3)))


def _init_weights(model: AnyNet, zero_init_last_bn: bool) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.01)
            nn.init.zeros_(m.bias)
    if zero_init_last_bn:
        for m in model.modules():
            if isinstance(m, XBlock):
                nn.init.zeros_(m.last_bn.weight)


def build_model(spec: AnyNetSpec, zero_init_last_bn: bool = False) -> AnyNet:
    """Build the network of `spec` with pycls initialisation (draws from torch's current RNG;
    seed it, e.g. with `torch.manual_seed`, for a reproducible init)."""
    if not isinstance(spec, AnyNetSpec):
        raise ValueError(f"spec: {type(spec).__name__} is not an AnyNetSpec")
    model = AnyNet(spec)
    _init_weights(model, zero_init_last_bn)
    return model
