"""`anynet.blocks` and the batch forms of the RegNet rule: one implementation of each rule, on
Python ints and on numpy arrays alike (PAPER.md §1.2-1.3, §2.3-2.4, §4.5)."""

from __future__ import annotations

import numpy as np
import pytest

from anynet import AnyNetSpec, adjust_compatibility, build_model, regnet_stages
from anynet.blocks import (
    block_cost,
    block_structure,
    bn_cost,
    conv_cost,
    exact_bottleneck_width,
    fc_cost,
    se_cost,
    se_width,
)
from anynet.regnet import adjust, rule_exponents, rule_widths


def test_structure_of_a_y_block_on_ints() -> None:
    st = block_structure(32, 64, 2, 2.0, 8, 0.25)
    assert (st.w_b, st.groups, st.w_se, st.se, st.proj) == (32, 4, 8, True, True)
    assert all(type(v) is int for v in (st.w_b, st.groups, st.w_se))
    assert type(st.proj) is bool
    ident = block_structure(64, 64, 1, 1.0, 16, 0.0)
    assert (ident.w_b, ident.groups, ident.w_se, ident.se, ident.proj) == (64, 4, 0, False, False)
    assert block_structure(64, 64, 2, 1.0, 16, 0.0).proj  # stride alone forces the projection
    assert block_structure(16, 32, 1, 0.5, 64, 0.0).w_b == 64  # inverted bottleneck, depthwise
    assert block_structure(16, 32, 1, 0.5, 64, 0.0).groups == 1


def test_se_width_is_half_to_even_of_the_input_width() -> None:
    # 0.25 * 10 = 2.5 -> 2, 0.25 * 14 = 3.5 -> 4 (pycls: Python round)
    assert [se_width(w, 0.25) for w in (10, 14, 18, 22)] == [2, 4, 4, 6]
    assert se_width(np.array([10, 14, 18, 22]), 0.25).tolist() == [2, 4, 4, 6]
    assert block_structure(10, 64, 2, 1.0, 8, 0.25).w_se == 2  # input width, not 64


def test_layer_costs_by_hand() -> None:
    # 3x3 conv 64 -> 64 in 8 groups on 14x14: 9*64*64*196/8 flops, 9*64*64/8 params
    assert conv_cost(64, 64, 3, 196, 8) == (903_168, 4_608, 12_544)
    assert conv_cost(64, 16, 1, 1, bias=True) == (64 * 16 + 16, 64 * 16 + 16, 16)
    assert bn_cost(48) == (0, 96, 0)
    assert se_cost(64, 16) == (2 * 64 * 16 + 16 + 64, 2 * 64 * 16 + 16 + 64, 16 + 64)
    assert fc_cost(368, 1000) == (369_000, 369_000, 1000)


def test_block_cost_by_hand() -> None:
    # X block 32 -> 64, stride 2, b = 1, g = 16 on 8x8 (out 4x4): 1x1, 3x3 (4 groups), 1x1, proj
    st = block_structure(32, 64, 2, 1.0, 16, 0.0)
    f = 32 * 64 * 64 + 9 * 64 * 16 * 16 + 64 * 64 * 16 + 32 * 64 * 16
    p = 32 * 64 + 9 * 64 * 16 + 64 * 64 + 32 * 64 + 2 * (64 + 64 + 64 + 64)
    a = 64 * 64 + 64 * 16 + 64 * 16 + 64 * 16
    assert block_cost(st, 8) == (f, p, a)


def test_vectorized_equals_scalar_elementwise() -> None:
    rng = np.random.default_rng(5)
    n = 300
    b = rng.choice([0.5, 1.0, 2.0, 4.0], n)
    w_in = rng.integers(1, 65, n) * 8
    w_out, g = adjust(rng.integers(1, 65, n) * 8, b, rng.choice([1, 2, 4, 8, 16, 32], n))
    for se in (0.0, 0.25):
        for stride in (1, 2):
            st = block_structure(w_in, w_out, stride, b, g, se)
            costs = block_cost(st, 28)
            proj = np.broadcast_to(st.proj, (n,))  # stride 2: True for every row
            for i in range(n):
                one = block_structure(int(w_in[i]), int(w_out[i]), stride, float(b[i]),
                                      int(g[i]), se)
                assert (one.w_b, one.groups, one.w_se, one.proj) == (
                    st.w_b[i], st.groups[i], st.w_se[i], proj[i])
                assert block_cost(one, 28) == tuple(int(c[i]) for c in costs)


def test_exact_bottleneck_width_rejects_fractional_channels() -> None:
    assert exact_bottleneck_width(64, 4.0) == 16 and exact_bottleneck_width(8, 0.5) == 16
    with pytest.raises(ValueError, match=r"widths\[2\]/bottleneck_ratios\[2\]: width 56 / b 16"):
        exact_bottleneck_width(56, 16.0, stage=2)


def test_model_layers_follow_block_structure() -> None:
    spec = AnyNetSpec(depths=[2, 1], widths=[24, 48], bottleneck_ratios=[2, 0.5],
                      group_widths=[4, 32], strides=[1, 2], stem_width=16, se_ratio=0.25,
                      in_channels=1, num_classes=4)
    model = build_model(spec)
    w_in = 16
    for stage, w, b, g, s in zip(model.stages, spec.widths, spec.bottleneck_ratios,
                                 spec.group_widths, spec.strides, strict=True):
        for j, block in enumerate(stage):
            st = block_structure(w_in, w, s if j == 0 else 1, b, g, spec.se_ratio)
            conv3 = block.f[3]
            assert (conv3.in_channels, conv3.groups, conv3.stride) == (st.w_b, st.groups,
                                                                      (st.stride,) * 2)
            assert block.f[6].reduce.out_channels == st.w_se
            assert (block.proj is not None) == st.proj
            w_in = w


def test_adjust_compatibility_is_the_batch_rule_per_stage() -> None:
    rng = np.random.default_rng(6)
    w = rng.integers(1, 129, (200, 4)) * 8
    b = rng.choice([0.25, 0.5, 1.0, 2.0, 4.0], (200, 4))
    g = rng.choice([1, 2, 3, 8, 24, 56], (200, 4))
    ws, gs = adjust(w, b, g)
    for i in range(200):
        assert adjust_compatibility(w[i].tolist(), b[i].tolist(), g[i].tolist()) == (
            ws[i].tolist(), gs[i].tolist())
    with pytest.raises(ValueError, match="lengths"):
        adjust_compatibility([8, 16], [1.0], [8, 8])


def test_batch_rule_rows_equal_regnet_stages() -> None:
    rng = np.random.default_rng(7)
    d = rng.integers(1, 30, 200)
    w0 = rng.integers(1, 32, 200).astype(float) * 8
    wa = np.round(rng.uniform(0, 100, 200), 2)
    wm = np.round(rng.uniform(1.5, 3.0, 200), 2)
    ks = rule_exponents(d, w0, wa, wm)
    for i in range(200):
        st = regnet_stages(int(d[i]), w0[i], wa[i], wm[i])
        k = ks[i, :d[i]]
        assert (ks[i, d[i]:] == -1).all()
        n = int(k.max()) + 1
        widths = rule_widths(w0[i:i + 1], wm[i:i + 1], n, 8)[0]
        assert st.block_widths == tuple(widths[k.astype(int)].tolist())
