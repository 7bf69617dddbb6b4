"""`build_model`: the AnyNet network of a spec ([DDS] Fig. 3-4, App. D; docs/PAPER.md §1.1-1.3,
§1.6).

Stem: 3x3 conv (stride `stem_stride`) + BN + activation, or for `stem_type` "resnet" a 7x7 conv
+ BN + activation + 3x3 max pool with stride 2. Body: stages of blocks. X and R blocks
(`XBlock`): 1x1 → 3x3 group conv carrying the stride → [SE] → 1x1, BN after each conv,
the activation after the residual add, projection shortcut when width or stride changes. V and VR
blocks (`BasicBlock`): two 3x3 convs with BN, the first carrying the stride; V applies the
activation after each, VR after the residual add. Head: global average pool + FC with bias. Each
block's widths, groups, SE width and shortcut come from `anynet.blocks.block_structure`, the same
rule the complexity counts use. The activation (ReLU or Swish/SiLU) is the spec's everywhere the
network has one, the SE op's inner one included (pycls `activation()`); the SE gate stays a
sigmoid.
Initialisation is pycls's: conv ~ N(0, sqrt(2 / (k²·C_out))), BN γ=1 β=0 (optionally γ=0 for each
residual block's last BN), FC ~ N(0, 0.01) with zero bias. SE conv biases keep PyTorch's default,
as in pycls.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import (
    BOTTLENECK_BLOCKS,
    STEM_POOL_KERNEL,
    STEM_POOL_STRIDE,
    BlockStructure,
    block_structure,
    stem_structure,
)
from .spec import AnyNetSpec


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False)
    return [conv, nn.BatchNorm2d(c_out)]


def activation(name: str) -> nn.Module:
    """A fresh activation module: "relu" (in place, as before) or "silu" (Swish)."""
    return nn.SiLU() if name == "silu" else nn.ReLU(inplace=True)


class SqueezeExcitation(nn.Module):
    """SE op of the Y block: GAP → 1x1 (bias) → activation → 1x1 (bias) → sigmoid → scale."""

    def __init__(self, w_b: int, w_se: int, act: str = "relu") -> None:
        super().__init__()
        self.reduce = nn.Conv2d(w_b, w_se, 1, bias=True)
        self.expand = nn.Conv2d(w_se, w_b, 1, bias=True)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.reduce(x.mean((2, 3), keepdim=True))
        s = torch.relu(s) if self.act == "relu" else nn.functional.silu(s)
        return x * torch.sigmoid(self.expand(s))


class XBlock(nn.Module):
    """Residual bottleneck block, group conv and optional SE ([DDS] Fig. 4, App. D): the X and
    Y blocks, and the R block (one group)."""

    def __init__(self, st: BlockStructure, act: str = "relu") -> None:
        super().__init__()
        # construction order (f, then proj) fixes the order of torch RNG draws: keep it
        layers = [*_conv_bn(st.w_in, st.w_b, 1), activation(act),
                  *_conv_bn(st.w_b, st.w_b, 3, st.stride, groups=st.groups),
                  activation(act)]
        if st.se:
            layers.append(SqueezeExcitation(st.w_b, st.w_se, act))
        layers += _conv_bn(st.w_b, st.w_out, 1)
        self.f = nn.Sequential(*layers)
        self.proj = nn.Sequential(*_conv_bn(st.w_in, st.w_out, 1, st.stride)) if st.proj else None
        self.relu = activation(act)  # the name is kept: state_dicts and callers know it

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.f[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.relu(shortcut + self.f(x))


class BasicBlock(nn.Module):
    """V block (pycls `vanilla_block`: [3x3 conv, BN, activation] x 2) or, with `st.kind`
    "VR", the residual basic block (pycls `res_basic_block`: the second activation after the
    residual add, projection shortcut when width or stride changes)."""

    def __init__(self, st: BlockStructure, act: str = "relu") -> None:
        super().__init__()
        self.residual = st.kind == "VR"
        layers = [*_conv_bn(st.w_in, st.w_out, 3, st.stride), activation(act),
                  *_conv_bn(st.w_out, st.w_out, 3)]
        if not self.residual:
            layers.append(activation(act))
        self.f = nn.Sequential(*layers)
        self.proj = nn.Sequential(*_conv_bn(st.w_in, st.w_out, 1, st.stride)) if st.proj else None
        self.act = activation(act) if self.residual else None

    @property
    def last_bn(self) -> nn.BatchNorm2d | None:
        """The BN before the residual add (None for V, which has no residual)."""
        return self.f[-1] if self.residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.residual:
            return self.f(x)
        shortcut = x if self.proj is None else self.proj(x)
        return self.act(shortcut + self.f(x))


class AnyNet(nn.Module):
    """Stem → stages → head. `spec` is kept on the module for introspection."""

    def __init__(self, spec: AnyNetSpec) -> None:
        super().__init__()
        self.spec = spec
        stem = stem_structure(spec.stem_type, spec.stem_stride)
        layers = [*_conv_bn(spec.in_channels, spec.stem_width, stem.kernel, stem.stride),
                  activation(spec.activation)]
        if stem.pool:
            layers.append(nn.MaxPool2d(STEM_POOL_KERNEL, STEM_POOL_STRIDE,
                                       padding=STEM_POOL_KERNEL // 2))
        self.stem = nn.Sequential(*layers)
        block = XBlock if spec.block_type in BOTTLENECK_BLOCKS else BasicBlock
        stages, w_in = [], spec.stem_width
        for d, w, b, g, s in zip(spec.depths, spec.widths, spec.bottleneck_ratios,
                                 spec.group_widths, spec.strides, strict=True):
            blocks = []
            for j in range(d):
                st = block_structure(w_in, w, s if j == 0 else 1, b, g, spec.se_ratio,
                                     spec.block_type)
                blocks.append(block(st, spec.activation))
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
            if isinstance(m, (XBlock, BasicBlock)) and m.last_bn is not None:
                nn.init.zeros_(m.last_bn.weight)


def build_model(spec: AnyNetSpec, zero_init_last_bn: bool = False) -> AnyNet:
    """Build the network of `spec` with pycls initialisation (draws from torch's current RNG;
    seed it, e.g. with `torch.manual_seed`, for a reproducible init)."""
    if not isinstance(spec, AnyNetSpec):
        raise ValueError(f"spec: {type(spec).__name__} is not an AnyNetSpec")
    model = AnyNet(spec)
    _init_weights(model, zero_init_last_bn)
    return model
