"""The paper's alternatives to the X block and the ReLU (docs/PAPER.md §1.6): block types V, VR,
R, X (+SE = Y), Swish, the ResNet stem, inverted bottlenecks, depthwise convs and 3 or 5 stages:
spec fields, the built model, and analytic complexity against fvcore and forward hooks
(docs/PAPER.md §4.6), as tests/test_complexity.py does for X and Y."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from anynet import AnyNetSpec, build_model, complexity, zoo
from anynet.blocks import block_cost, block_structure
from anynet.complexity import network_cost
from anynet.measure import hooked_complexity, measured_complexity
from anynet.model import BasicBlock, SqueezeExcitation, XBlock
from anynet.record import stable_hash

THREE = dict(depths=[1, 2, 2], widths=[16, 32, 48], strides=[2, 2, 2], stem_width=16,
             in_channels=3, num_classes=10)


def basic(block_type: str, **changes: Any) -> AnyNetSpec:
    """A 3-stage V or VR spec: b = 1 and g = w (two full 3x3 convs)."""
    fields = {**THREE, "bottleneck_ratios": [1, 1, 1], "group_widths": THREE["widths"],
              "block_type": block_type, **changes}
    return AnyNetSpec(**fields)


def bottleneck(block_type: str = "X", **changes: Any) -> AnyNetSpec:
    """A 3-stage R or X spec (R: g = w_b, one group)."""
    groups = [8, 16, 48] if block_type == "R" else [4, 8, 16]
    fields = {**THREE, "bottleneck_ratios": [2, 2, 1], "group_widths": groups,
              "block_type": block_type, **changes}
    return AnyNetSpec(**fields)


def reference(spec: AnyNetSpec, resolution: int) -> dict[str, int]:
    torch.manual_seed(0)
    return measured_complexity(spec, resolution)


# -- the spec -------------------------------------------------------------------------------

def test_defaults_leave_dicts_and_identities_as_they_were() -> None:
    """At their defaults the new fields are not in `to_dict`: the run identity hashes of every
    existing spec stay the same (values computed with the code before these fields existed)."""
    x = zoo.get("RegNetX-200MF")
    assert (x.block_type, x.activation, x.stem_type, x.block) == ("X", "relu", "simple", "X")
    assert not {"block_type", "activation", "stem_type"} & set(x.to_dict())
    assert stable_hash(x.to_dict()) == "9f2a91022e"
    assert stable_hash(zoo.get("RegNetY-200MF").to_dict()) == "9fb4bb367d"
    small = zoo.get("RegNetX-200MF", in_channels=1, num_classes=10, stem_stride=1)
    assert stable_hash(small.to_dict()) == "4e00dcbee5"
    # given explicitly at the default, a field is still left out: one dict per network
    assert AnyNetSpec(**{**x.to_dict(), "block_type": "X", "activation": "relu"}) == x
    assert AnyNetSpec(**{**x.to_dict(), "stem_type": "simple"}).to_dict() == x.to_dict()


@pytest.mark.parametrize("spec", [
    basic("V"), basic("VR", activation="silu"), bottleneck("R", stem_type="resnet"),
    bottleneck("X", activation="silu", se_ratio=0.25)])
def test_round_trip_with_new_fields(spec: AnyNetSpec) -> None:
    d = spec.to_dict()
    for name, default in (("block_type", "X"), ("activation", "relu"), ("stem_type", "simple")):
        assert (name in d) == (getattr(spec, name) != default)
    assert AnyNetSpec.from_dict(d) == spec
    assert AnyNetSpec.from_dict(json.loads(json.dumps(d))) == spec
    other = "V" if spec.block_type == "VR" else "VR"
    assert stable_hash(d) != stable_hash({**d, "block_type": other})


def test_block_names() -> None:
    assert [basic("V").block, basic("VR").block, bottleneck("R").block] == ["V", "VR", "R"]
    assert bottleneck("X").block == "X" and bottleneck("X", se_ratio=0.25).block == "Y"
    assert bottleneck("R", se_ratio=0.25).block == "R+SE"


# (changes to a V spec or an R/X spec, regex naming the field, the value and what is allowed)
BAD: list[tuple[AnyNetSpec | None, dict[str, Any], str]] = [
    (None, {"block_type": "Y"}, r"block_type: 'Y' is not allowed; use one of V, VR, R, X "
                                r"\(Y is X with se_ratio > 0\)"),
    (None, {"block_type": "x"}, r"block_type: 'x' is not allowed"),
    (None, {"activation": "swish"}, r"activation: 'swish' is not allowed; use one of relu, "
                                    r"silu \(silu is Swish\)"),
    (None, {"activation": None}, r"activation: None is not allowed"),
    (None, {"stem_type": "res_stem_in"}, r"stem_type: 'res_stem_in' is not allowed; use one "
                                         r"of simple, resnet"),
    ("V", {"bottleneck_ratios": [1, 2, 1]},
     r"bottleneck_ratios\[1\]: 2 is not allowed with block_type 'V' .*; use 1"),
    ("VR", {"group_widths": [16, 8, 48]},
     r"group_widths\[1\]: 8 is not allowed with block_type 'VR' .*; use the stage width 32"),
    ("V", {"se_ratio": 0.25}, r"se_ratio: 0\.25 is not allowed with block_type 'V' .*R or X"),
    ("R", {"group_widths": [8, 8, 48]},
     r"group_widths\[1\]: 8 is not allowed with block_type 'R' .* bottleneck width 16"),
]


@pytest.mark.parametrize(("kind", "changes", "pattern"), BAD)
def test_bad_values_name_the_field(kind: str | None, changes: dict[str, Any],
                                   pattern: str) -> None:
    base = (bottleneck("X") if kind is None else
            basic(kind) if kind in ("V", "VR") else bottleneck(kind)).to_dict()
    with pytest.raises(ValueError, match=pattern):
        AnyNetSpec(**{**base, **changes})


# -- the built model ------------------------------------------------------------------------

def test_v_block_layers() -> None:
    """pycls `vanilla_block`: [3x3 conv, BN, activation] x 2, the first conv strided, no
    shortcut."""
    model = build_model(basic("V"))
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 5 and not any(isinstance(m, XBlock) for m in model.modules())
    first = blocks[0]
    assert [type(m) for m in first.f] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d,
                                          nn.BatchNorm2d, nn.ReLU]
    a, b = first.f[0], first.f[3]
    assert (a.in_channels, a.out_channels, a.kernel_size, a.stride) == (16, 16, (3, 3), (2, 2))
    assert (b.in_channels, b.out_channels, b.stride, b.groups) == (16, 16, (1, 1), 1)
    assert all(blk.proj is None and blk.last_bn is None for blk in blocks)


def test_vr_block_projection_and_activation_after_the_add() -> None:
    """pycls `res_basic_block`: the V block's second activation moves after the residual add;
    a projection where width or stride changes."""
    model = build_model(basic("VR", strides=[1, 2, 1]))
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert [b.proj is not None for b in blocks] == [False, True, False, True, False]
    assert [type(m) for m in blocks[0].f] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d,
                                              nn.BatchNorm2d]
    blk = blocks[0].eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(blk(x), torch.relu(x + blk.f(x)))


def test_r_block_is_the_one_group_bottleneck() -> None:
    model = build_model(bottleneck("R"))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert [c.groups for c in convs[1:]] == [1] * 5  # the stem conv first


def test_swish_everywhere_the_network_has_an_activation() -> None:
    for spec in (basic("V", activation="silu"), basic("VR", activation="silu"),
                 bottleneck("R", activation="silu", se_ratio=0.25, stem_type="resnet"),
                 bottleneck("X", activation="silu", se_ratio=0.25)):
        model = build_model(spec)
        kinds = {type(m) for m in model.modules()}
        assert nn.SiLU in kinds and nn.ReLU not in kinds, spec.block
    se = next(m for m in build_model(bottleneck("X", activation="silu", se_ratio=0.25)).modules()
              if isinstance(m, SqueezeExcitation)).eval()
    x = torch.randn(1, se.reduce.in_channels, 4, 4)
    with torch.no_grad():
        s = se.reduce(x.mean((2, 3), keepdim=True))
        assert torch.allclose(se(x), x * torch.sigmoid(se.expand(nn.functional.silu(s))))


def test_resnet_stem() -> None:
    """pycls `ResStem`: 7x7 conv with stride 2, BN, activation, 3x3 max pool with stride 2:
    224 px become 56 before the first stage."""
    spec = bottleneck("X", stem_type="resnet")
    model = build_model(spec).eval()
    conv, bn, act, pool = model.stem
    assert (conv.kernel_size, conv.stride, conv.padding) == ((7, 7), (2, 2), (3, 3))
    assert isinstance(bn, nn.BatchNorm2d) and isinstance(act, nn.ReLU)
    assert isinstance(pool, nn.MaxPool2d)
    assert (pool.kernel_size, pool.stride, pool.padding) == (3, 2, 1)
    with torch.no_grad():
        assert model.stem(torch.zeros(1, 3, 224, 224)).shape == (1, 16, 56, 56)
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 10)
    stem1 = build_model(bottleneck("X", stem_type="resnet", stem_stride=1)).eval()
    with torch.no_grad():  # the conv carries stem_stride, the pool always halves
        assert stem1.stem(torch.zeros(1, 3, 28, 28)).shape[-1] == 14


def test_zero_init_last_bn_of_residual_blocks_only() -> None:
    for spec, n_zero in ((basic("VR"), 5), (bottleneck("R"), 5), (basic("V"), 0)):
        model = build_model(spec, zero_init_last_bn=True)
        zero = [m for m in model.modules()
                if isinstance(m, nn.BatchNorm2d) and not m.weight.any()]
        assert len(zero) == n_zero, spec.block


@pytest.mark.parametrize("spec", [
    basic("V", activation="silu"), basic("VR"), bottleneck("R", stem_type="resnet"),
    bottleneck("X", activation="silu", se_ratio=0.25)], ids=["V", "VR", "R", "Y"])
def test_forward_and_backward(spec: AnyNetSpec) -> None:
    torch.manual_seed(0)
    model = build_model(spec)
    out = model(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10) and torch.isfinite(out).all()
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# -- complexity: by hand, published vectors, fvcore ---------------------------------------------

def test_hand_counted_basic_blocks() -> None:
    """A V and a VR block 8 -> 16, stride 2, on 8x8 (out 4x4) from docs/PAPER.md §4.5."""
    a = (9 * 8 * 16 * 16, 9 * 8 * 16 + 32, 16 * 16)  # 3x3 stride 2 -> 4x4, BN
    b = (9 * 16 * 16 * 16, 9 * 16 * 16 + 32, 16 * 16)  # 3x3 at 4x4, BN
    proj = (8 * 16 * 16, 8 * 16 + 32, 16 * 16)  # 1x1 stride 2, BN
    v = block_cost(block_structure(8, 16, 2, 1.0, 16, 0.0, "V"), 8)
    vr = block_cost(block_structure(8, 16, 2, 1.0, 16, 0.0, "VR"), 8)
    assert v == tuple(x + y for x, y in zip(a, b, strict=True))
    assert vr == tuple(x + y + z for x, y, z in zip(a, b, proj, strict=True))
    # identity shortcut: a VR block costs what a V block costs
    assert block_cost(block_structure(16, 16, 1, 1.0, 16, 0.0, "VR"), 4) == block_cost(
        block_structure(16, 16, 1, 1.0, 16, 0.0, "V"), 4)


def test_hand_counted_resnet_stem() -> None:
    """7x7 conv 3 -> 8 with stride 2 at 32 px (16x16 out), BN, max pool to 8x8 (acts only),
    then one X block 8 -> 8 at stride 1 (identity shortcut, one group) and the FC."""
    spec = AnyNetSpec(depths=[1], widths=[8], bottleneck_ratios=[1], group_widths=[8],
                      strides=[1], stem_width=8, stem_type="resnet", num_classes=2)
    stem = (49 * 3 * 8 * 256, 49 * 3 * 8 + 16, 8 * 256 + 8 * 64)
    a = (8 * 8 * 64, 8 * 8 + 16, 8 * 64)  # 1x1 at 8x8, BN
    b = (9 * 8 * 8 * 64, 9 * 8 * 8 + 16, 8 * 64)  # 3x3, one group
    c = (8 * 8 * 64, 8 * 8 + 16, 8 * 64)  # 1x1
    fc = (8 * 2 + 2, 8 * 2 + 2, 2)
    parts = [stem, a, b, c, fc]
    assert complexity(spec, 32) == {
        k: sum(p[i] for p in parts) for i, k in enumerate(("flops", "params", "acts"))}


@pytest.mark.parametrize(("block_type", "flops", "params", "acts"), [
    ("V", 125_485_706, 853_018, 532_490),
    ("VR", 125_747_850, 855_770, 544_778),
])
def test_pycls_cifar_56_layer_nets(block_type: str, flops: int, params: int, acts: int) -> None:
    """pycls `configs/archive/cifar/anynet/{V,R}-56_nds_1gpu.yaml` (stem 3x3 width 16 at
    stride 1, d = [9, 9, 9], w = [16, 32, 64], strides [1, 2, 2], 10 classes, 32 px):
    `vanilla_block` and `res_basic_block`, whose integers pycls `dev/model_complexity.json`
    publishes (docs/PAPER.md §6.6)."""
    spec = basic(block_type, depths=[9, 9, 9], widths=[16, 32, 64], group_widths=[16, 32, 64],
                 strides=[1, 2, 2], stem_stride=1)
    assert complexity(spec, 32) == {"flops": flops, "params": params, "acts": acts}
    assert reference(spec, 32) == complexity(spec, 32)


# docs/PAPER.md §6.6: pycls `dev/model_complexity.json`, configs/dds_baselines/res{net,next}
BASELINES = {
    "ResNet-50": (4_089_185_256, 25_557_032, 11_315_688),
    "ResNet-101": (7_801_406_440, 44_549_160, 16_433_640),
    "ResNet-152": (11_513_627_624, 60_192_808, 22_755_816),
    "ResNeXt-50-32x4d": (4_230_480_872, 25_028_904, 14_602_216),
    "ResNeXt-101-32x4d": (7_969_997_800, 44_177_704, 21_426_152),
}


@pytest.mark.parametrize("name", list(BASELINES))
def test_baselines_match_published_integers_and_fvcore(name: str) -> None:
    flops, params, acts = BASELINES[name]
    spec = zoo.get(name)
    expected = {"flops": flops, "params": params, "acts": acts}
    assert complexity(spec) == expected
    assert reference(spec, 224) == expected


def test_baseline_specs() -> None:
    assert zoo.baselines() == list(BASELINES)
    r50, x50 = zoo.get("ResNet-50"), zoo.get("ResNeXt-50-32x4d")
    assert (r50.block, r50.stem_type, r50.stem_width, r50.strides) == ("R", "resnet", 64,
                                                                       (1, 2, 2, 2))
    assert r50.bottleneck_ratios == (4.0,) * 4 and r50.group_widths == (64, 128, 256, 512)
    assert x50.block == "X" and x50.bottleneck_ratios == (2.0,) * 4
    assert [w / b / g for w, b, g in zip(x50.widths, x50.bottleneck_ratios, x50.group_widths,
                                         strict=True)] == [32] * 4  # 32 groups
    small = zoo.get("ResNet-50", in_channels=1, num_classes=10, stem_stride=1)
    assert (small.in_channels, small.num_classes, small.stem_stride) == (1, 10, 1)
    assert len(zoo.names()) == 24 and not set(zoo.names()) & set(zoo.baselines())
    with pytest.raises(ValueError, match=r"model: 'ResNet-50' is a baseline .* no rule "
                                         r"parameters"):
        zoo.params("ResNet-50")
    with pytest.raises(ValueError, match=r"model: 'ResNet-18' is not in the zoo; allowed: "
                                         r"RegNetX-200MF, .*ResNeXt-101-32x4d"):
        zoo.get("ResNet-18")


def test_dse_zoo_baselines(capsys: pytest.CaptureFixture[str]) -> None:
    zoo.main(["--baselines"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines[2:]] == list(BASELINES)
    assert lines[2].split()[-3:] == ["4.089", "25.56", "11.32"]


# Specs for the fvcore cross-check: every block type and activation, b < 1, g = 1, 3 and 5
# stages, the ResNet stem.
CASES: dict[str, AnyNetSpec] = {
    "V": basic("V"),
    "V-silu": basic("V", activation="silu"),
    "VR": basic("VR"),
    "VR-silu-stride1": basic("VR", activation="silu", strides=[1, 2, 1]),
    "R": bottleneck("R"),
    "R-SE-silu": bottleneck("R", se_ratio=0.25, activation="silu"),
    "X-silu": bottleneck("X", activation="silu"),
    "Y-silu": bottleneck("X", se_ratio=0.25, activation="silu"),
    "inverted-b": bottleneck("X", bottleneck_ratios=[0.5, 0.25, 0.5], group_widths=[8, 16, 32]),
    "depthwise": bottleneck("X", group_widths=[1, 1, 1], se_ratio=0.25),
    "inverted-depthwise-silu": bottleneck("X", bottleneck_ratios=[0.25, 0.5, 0.25],
                                          group_widths=[1, 1, 1], activation="silu"),
    "R-inverted": bottleneck("R", bottleneck_ratios=[0.5, 1, 0.5], group_widths=[32, 32, 96]),
    "5-stages": AnyNetSpec(depths=[1, 1, 2, 1, 1], widths=[8, 16, 24, 32, 48],
                           bottleneck_ratios=[1, 1, 1, 2, 1], group_widths=[8, 8, 8, 16, 16],
                           stem_width=8, num_classes=10),
    "5-stages-VR": basic("VR", depths=[1, 1, 2, 1, 1], widths=[8, 16, 24, 32, 48],
                         bottleneck_ratios=[1] * 5, group_widths=[8, 16, 24, 32, 48],
                         strides=[2] * 5),
    "3-stages-resnet-stem": bottleneck("R", stem_type="resnet", strides=[1, 2, 2]),
    "resnet-stem-V-silu": basic("V", stem_type="resnet", activation="silu"),
}


@pytest.mark.parametrize("resolution", [28, 64])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_fvcore_and_hooks(name: str, resolution: int) -> None:
    spec = CASES[name]
    cx = complexity(spec, resolution)
    assert cx == reference(spec, resolution)
    assert cx == hooked_complexity(build_model(spec), resolution, spec.in_channels)


def test_five_and_three_stage_geometry() -> None:
    """Default strides follow the stage count: 5 stages at 224 px end at 4x4 (112 → 56 → 28 →
    14 → 7 → 4); 3 stages at 14x14."""
    five, three = CASES["5-stages"], bottleneck("X")
    assert five.strides == (2,) * 5 and three.strides == (2,) * 3
    model = build_model(five).eval()
    with torch.no_grad():
        x = model.stem(torch.zeros(1, 3, 224, 224))
        sizes = [x.shape[-1]]
        for stage in model.stages:
            x = stage(x)
            sizes.append(x.shape[-1])
    assert sizes == [112, 56, 28, 14, 7, 4]
    assert complexity(three, 224) == reference(three, 224)


@pytest.mark.parametrize("block_type", ["V", "VR", "R", "X"])
def test_vectorized_network_cost_per_block_type(block_type: str) -> None:
    """`network_cost` on arrays (what `sampling.batch_complexity` calls) equals `complexity`
    row by row for every block type and both stems."""
    rng = np.random.default_rng(25)
    n = 40
    depths = rng.integers(1, 4, (3, n))
    widths = rng.integers(1, 9, (3, n)) * 8
    b = np.ones((3, n)) if block_type in ("V", "VR") else rng.choice([0.5, 1.0, 2.0], (3, n))
    wb = np.rint(widths / b).astype(np.int64)
    if block_type in ("V", "VR", "R"):
        g = wb
    else:
        g = np.where(wb % 8 == 0, 8, 4)
    for stem_type in ("simple", "resnet"):
        common = dict(resolution=32, in_channels=3, num_classes=10, stem_width=16,
                      stem_stride=2, se_ratio=0.0, block_type=block_type, stem_type=stem_type)
        batch = network_cost(depths, widths, b, g, (2, 1, 2), **common)
        for i in range(n):
            spec = AnyNetSpec(depths=depths[:, i].tolist(), widths=widths[:, i].tolist(),
                              bottleneck_ratios=b[:, i].tolist(), group_widths=g[:, i].tolist(),
                              strides=[2, 1, 2], stem_width=16, num_classes=10,
                              block_type=block_type, stem_type=stem_type)
            assert tuple(complexity(spec, 32).values()) == tuple(int(c[i]) for c in batch)
