"""build_model: shapes, block structure and pycls initialisation (docs/PAPER.md §1.1-1.3)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from anynet import AnyNetSpec, build_model
from anynet.model import SqueezeExcitation, XBlock


def small_spec(**changes: object) -> AnyNetSpec:
    fields: dict[str, object] = {
        "depths": [1, 2, 2], "widths": [16, 32, 48], "bottleneck_ratios": [1, 2, 1],
        "group_widths": [8, 8, 16], "strides": [2, 2, 2], "stem_width": 16,
    }
    fields.update(changes)
    return AnyNetSpec(**fields)  # type: ignore[arg-type]


def blocks(model: nn.Module) -> list[XBlock]:
    return [m for m in model.modules() if isinstance(m, XBlock)]


def convs(block: XBlock) -> list[nn.Conv2d]:
    """The transform's convs in forward order (SE convs excluded)."""
    return [m for m in block.f if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize(
    ("in_channels", "num_classes", "stem_stride", "resolution", "se_ratio"),
    [
        (3, 1000, 2, 64, 0.0),
        (3, 1000, 2, 64, 0.25),
        (1, 10, 2, 28, 0.0),
        (1, 10, 1, 28, 0.25),
        (4, 7, 1, 8, 0.0),
        (3, 5, 2, 8, 0.25),
        (2, 3, 2, 17, 0.0),
        (3, 2, 1, 33, 0.25),
    ],
)
def test_output_shape(in_channels: int, num_classes: int, stem_stride: int, resolution: int,
                      se_ratio: float) -> None:
    spec = small_spec(in_channels=in_channels, num_classes=num_classes, stem_stride=stem_stride,
                      se_ratio=se_ratio)
    model = build_model(spec).eval()
    with torch.no_grad():
        out = model(torch.randn(2, in_channels, resolution, resolution))
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()


def test_output_shape_four_stages_224() -> None:
    spec = AnyNetSpec(depths=[1, 1, 2, 2], widths=[8, 16, 24, 32], bottleneck_ratios=[1] * 4,
                      group_widths=[8] * 4, strides=[2] * 4, stem_width=8)
    with torch.no_grad():
        assert build_model(spec).eval()(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def _stage_sizes(spec: AnyNetSpec, resolution: int) -> list[int]:
    """Spatial size after the stem and after each stage of `build_model(spec)`."""
    model = build_model(spec).eval()
    with torch.no_grad():
        x = model.stem(torch.randn(1, spec.in_channels, resolution, resolution))
        sizes = [x.shape[-1]]
        for stage in model.stages:
            x = stage(x)
            sizes.append(x.shape[-1])
    return sizes


def test_feature_map_sizes_follow_strides() -> None:
    """At 224 px: stem 112, then 56, 28, 14, 7 ([DDS] Fig. 3); stride-1 stages keep the size."""
    spec = AnyNetSpec(depths=[1, 1, 1, 1], widths=[8, 16, 24, 32], bottleneck_ratios=[1] * 4,
                      group_widths=[8] * 4, strides=[2, 2, 2, 2], stem_width=8)
    assert _stage_sizes(spec, 224) == [112, 56, 28, 14, 7]
    spec1 = AnyNetSpec(**{**spec.to_dict(), "strides": [1, 2, 1, 2], "stem_stride": 1})
    assert _stage_sizes(spec1, 32) == [32, 32, 16, 16, 8]


def test_stem_and_head() -> None:
    spec = small_spec(in_channels=1, num_classes=10, stem_stride=1)
    model = build_model(spec)
    conv, bn, relu = model.stem
    assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
    assert isinstance(relu, nn.ReLU)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (1, 16, (3, 3))
    assert conv.stride == (1, 1) and conv.padding == (1, 1) and conv.bias is None
    assert build_model(small_spec()).stem[0].stride == (2, 2)
    assert isinstance(model.fc, nn.Linear) and model.fc.bias is not None
    assert (model.fc.in_features, model.fc.out_features) == (48, 10)
    # no head conv: the only modules after the stages are the FC (pooling is functional)
    assert [type(m) for m in model.children()] == [nn.Sequential, nn.Sequential, nn.Linear]


def test_projection_only_when_width_or_stride_changes() -> None:
    # stem 32; stage 1: 32 -> 32 stride 1 (identity); stage 2: 32 -> 32 stride 2 (projection);
    # stage 3: 32 -> 64 stride 1 (projection); later blocks of each stage: identity
    spec = AnyNetSpec(depths=[2, 2, 2], widths=[32, 32, 64], bottleneck_ratios=[1, 1, 1],
                      group_widths=[8, 8, 8], strides=[1, 2, 1], stem_width=32)
    bs = blocks(build_model(spec))
    assert [b.proj is not None for b in bs] == [False, False, True, False, True, False]
    proj_s2, proj_w = bs[2].proj, bs[4].proj
    assert isinstance(proj_s2[0], nn.Conv2d) and isinstance(proj_s2[1], nn.BatchNorm2d)
    assert proj_s2[0].kernel_size == (1, 1) and proj_s2[0].stride == (2, 2)
    assert proj_s2[0].bias is None
    assert (proj_w[0].in_channels, proj_w[0].out_channels, proj_w[0].stride) == (32, 64, (1, 1))


def test_x_block_layers_stride_and_groups() -> None:
    """1x1 (w_in->w_b) BN ReLU, 3x3 group conv (stride, groups = w_b/g) BN ReLU, 1x1 BN."""
    spec = AnyNetSpec(depths=[2], widths=[64], bottleneck_ratios=[2], group_widths=[8],
                      strides=[2], stem_width=24)
    first, second = blocks(build_model(spec))
    kinds = [type(m) for m in first.f]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.BatchNorm2d, nn.ReLU,
                     nn.Conv2d, nn.BatchNorm2d]
    c1, c3, c1b = convs(first)
    w_b = 64 // 2
    assert (c1.in_channels, c1.out_channels, c1.kernel_size, c1.stride) == (24, w_b, (1, 1),
                                                                            (1, 1))
    assert (c3.in_channels, c3.out_channels, c3.kernel_size) == (w_b, w_b, (3, 3))
    assert c3.stride == (2, 2) and c3.padding == (1, 1)
    assert c3.groups == w_b // 8 == 4
    assert (c1b.in_channels, c1b.out_channels, c1b.stride) == (w_b, 64, (1, 1))
    assert all(c.bias is None for c in convs(first))
    # the stage's second block has stride 1 everywhere
    assert [c.stride for c in convs(second)] == [(1, 1)] * 3
    assert convs(second)[0].in_channels == 64


def test_inverted_bottleneck_and_depthwise() -> None:
    # b = 0.5: w_b = 2 * 16 = 32; g = 1: depthwise, groups = 32
    spec = AnyNetSpec(depths=[1], widths=[16], bottleneck_ratios=[0.5], group_widths=[1],
                      strides=[2], stem_width=8)
    c1, c3, c1b = convs(blocks(build_model(spec))[0])
    assert c1.out_channels == 32 and c3.groups == 32 and c1b.in_channels == 32


def test_se_width_uses_block_input_width() -> None:
    """w_se = round(0.25 * w_in) of the block INPUT width (docs/PAPER.md §1.3), half-to-even, and
    SE sits after the 3x3 conv's BN+ReLU and before the last 1x1."""
    # stem 18: block 1 has w_in = 18 -> round(4.5) = 4 (w_b = 48 would give 12);
    # block 2 has w_in = 48 -> 12; stage 2 block 1 has w_in = 48 (w_b = 40 would give 10)
    spec = AnyNetSpec(depths=[2, 1], widths=[48, 80], bottleneck_ratios=[1, 2],
                      group_widths=[8, 8], strides=[2, 2], stem_width=18, se_ratio=0.25)
    bs = blocks(build_model(spec))
    ses = [next(m for m in b.f if isinstance(m, SqueezeExcitation)) for b in bs]
    assert [se.reduce.out_channels for se in ses] == [4, 12, 12]
    assert [se.reduce.in_channels for se in ses] == [48, 48, 40]
    assert [se.expand.out_channels for se in ses] == [48, 48, 40]
    assert all(se.reduce.bias is not None and se.expand.bias is not None for se in ses)
    kinds = [type(m) for m in bs[0].f]
    assert kinds[5:8] == [nn.ReLU, SqueezeExcitation, nn.Conv2d]
    # the X block has no SE
    x_spec = AnyNetSpec(**{**spec.to_dict(), "se_ratio": 0.0})
    assert not any(isinstance(m, SqueezeExcitation) for m in build_model(x_spec).modules())


def test_se_op_is_gap_reduce_relu_expand_sigmoid_scale() -> None:
    torch.manual_seed(0)
    se = SqueezeExcitation(8, 3)
    x = torch.randn(2, 8, 5, 5)
    s = x.mean((2, 3), keepdim=True)
    gate = torch.sigmoid(se.expand(torch.relu(se.reduce(s))))
    torch.testing.assert_close(se(x), x * gate)


def test_relu_after_residual_add() -> None:
    torch.manual_seed(0)
    spec = AnyNetSpec(depths=[2], widths=[16], bottleneck_ratios=[1], group_widths=[4],
                      strides=[1], stem_width=16)
    model = build_model(spec).eval()
    block = blocks(model)[1]
    assert block.proj is None
    assert isinstance(block.f[-1], nn.BatchNorm2d)  # no ReLU inside the transform's end
    with torch.no_grad():
        block.f[-1].bias.fill_(-0.5)  # make f(x) clearly negative in places
        x = torch.randn(2, 16, 6, 6)
        pre = x + block.f(x)
        assert (pre < 0).any() and (pre > 0).any()
        torch.testing.assert_close(block(x), torch.relu(pre))
        # and not x + relu(f(x)) (ReLU before the add)
        assert not torch.allclose(block(x), x + torch.relu(block.f(x)))


def test_projection_block_forward() -> None:
    torch.manual_seed(0)
    spec = AnyNetSpec(depths=[1], widths=[24], bottleneck_ratios=[1], group_widths=[8],
                      strides=[2], stem_width=16)
    block = blocks(build_model(spec).eval())[0]
    x = torch.randn(1, 16, 9, 9)
    with torch.no_grad():
        out = block(x)
        torch.testing.assert_close(out, torch.relu(block.proj(x) + block.f(x)))
    assert out.shape == (1, 24, 5, 5)


def test_conv_init_std() -> None:
    """pycls: conv ~ N(0, sqrt(2 / (k^2 * C_out))), groups ignored."""
    torch.manual_seed(0)
    spec = AnyNetSpec(depths=[1, 1], widths=[128, 256], bottleneck_ratios=[1, 1],
                      group_widths=[16, 16], strides=[2, 2], stem_width=32)
    stage2 = blocks(build_model(spec))[1]
    c1, c3, _ = convs(stage2)
    # 1x1, 128 -> 256: 32768 weights
    assert c1.weight.numel() == 32768
    assert c1.weight.std().item() == pytest.approx(math.sqrt(2 / 256), rel=0.03)
    assert abs(c1.weight.mean().item()) < 0.003
    # 3x3 group conv, 256 -> 256, 16 groups: 36864 weights, fan_out = 9 * 256
    assert c3.weight.numel() == 36864
    assert c3.weight.std().item() == pytest.approx(math.sqrt(2 / (9 * 256)), rel=0.03)
    # fan-out, not fan-in (sqrt(2/128) = 0.125) nor PyTorch's default (1/sqrt(3*128) = 0.051)
    assert abs(c1.weight.std().item() - math.sqrt(2 / 128)) > 0.03
    assert abs(c1.weight.std().item() - math.sqrt(1 / (3 * 128))) > 0.03


def test_fc_and_bn_init() -> None:
    torch.manual_seed(0)
    spec = AnyNetSpec(depths=[1, 1], widths=[128, 256], bottleneck_ratios=[1, 1],
                      group_widths=[16, 16], strides=[2, 2], stem_width=32, se_ratio=0.25)
    model = build_model(spec)
    assert model.fc.weight.numel() == 256_000
    assert model.fc.weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert abs(model.fc.weight.mean().item()) < 1e-4
    assert torch.equal(model.fc.bias, torch.zeros(1000))
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 1 + 2 * 4  # stem + 3 per block + 1 per projection
    for bn in bns:
        assert torch.equal(bn.weight, torch.ones_like(bn.weight))
        assert torch.equal(bn.bias, torch.zeros_like(bn.bias))


def test_zero_init_last_bn() -> None:
    spec = small_spec(se_ratio=0.25)
    model = build_model(spec, zero_init_last_bn=True)
    last = set()
    for b in blocks(model):
        assert b.last_bn is b.f[-1]
        assert torch.equal(b.last_bn.weight, torch.zeros_like(b.last_bn.weight))
        last.add(id(b.last_bn))
    others = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d) and id(m) not in last]
    assert len(last) == 5 and len(others) == 1 + 2 * 5 + 3  # stem, 2 per block, 3 projections
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in others)
    # off by default (pycls ZERO_INIT_FINAL_GAMMA = False)
    assert all(torch.equal(b.last_bn.weight, torch.ones_like(b.last_bn.weight))
               for b in blocks(build_model(spec)))


def test_same_seed_same_weights() -> None:
    spec = small_spec(se_ratio=0.25)
    torch.manual_seed(123)
    a = build_model(spec).state_dict()
    torch.manual_seed(123)
    b = build_model(spec).state_dict()
    torch.manual_seed(124)
    c = build_model(spec).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["fc.weight"], c["fc.weight"])


def test_build_model_rejects_non_spec() -> None:
    with pytest.raises(ValueError, match="spec: dict is not an AnyNetSpec"):
        build_model(small_spec().to_dict())  # type: ignore[arg-type]


def test_backward_pass() -> None:
    torch.manual_seed(0)
    model = build_model(small_spec(se_ratio=0.25))
    loss = model(torch.randn(4, 3, 16, 16)).logsumexp(1).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
