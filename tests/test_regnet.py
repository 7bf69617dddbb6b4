"""The RegNet rule and block compatibility against docs/PAPER.md §2.3-2.4 test vectors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from anynet import (
    AnyNetSpec,
    adjust_compatibility,
    regnet_block_widths,
    regnet_spec,
    regnet_stages,
    zoo,
)

X200 = {"depth": 13, "w0": 24, "wa": 36.44, "wm": 2.49}
X1600 = {"depth": 18, "w0": 80, "wa": 34.01, "wm": 2.25}
X8000 = {"depth": 23, "w0": 80, "wa": 49.56, "wm": 2.88}


def stage_index(st: Any) -> list[int]:
    """Each block's stage exponent k_j, read off the rule's output (valid without skipped k)."""
    return [st.widths.index(w) for w in st.block_widths]


def test_regnetx_200mf_vector() -> None:
    st = regnet_stages(**X200)
    assert stage_index(st) == [0, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3]  # ks
    assert list(st.block_widths) == [24, 56] + [152] * 4 + [368] * 7  # ws_all
    assert st.widths == (24, 56, 152, 368)
    assert st.depths == (1, 1, 4, 7)
    assert st.num_stages == st.total_stages == 4 and not st.skipped_stage
    assert st.continuous_widths == pytest.approx([24 + 36.44 * j for j in range(13)])
    assert regnet_block_widths(13, 24, 36.44, 2.49) == list(st.block_widths)
    # before q-rounding the stage widths are w0 * wm^k = 24, 59.76, 148.8, 370.52 (Eq. 4)
    assert [24 * 2.49**k for k in range(4)] == pytest.approx([24, 59.76, 148.8, 370.52],
                                                             abs=0.01)


def test_regnetx_8gf_vector() -> None:
    st = regnet_stages(**X8000)
    assert st.widths == (80, 232, 664, 1912)
    assert st.depths == (2, 5, 15, 1)
    assert sum(st.depths) == 23 and not st.skipped_stage


def test_block_widths_default_q_and_other_q() -> None:
    assert regnet_block_widths(**X200, q=8) == regnet_block_widths(**X200)
    # q = 1 keeps w0 * wm^k rounded to whole channels: 24, 60, 149, 371
    assert sorted(set(regnet_block_widths(**X200, q=1))) == [24, 60, 149, 371]
    # q = 24 rounds to multiples of 24 (w0 = 24 is one)
    assert sorted(set(regnet_block_widths(**X200, q=24))) == [24, 48, 144, 360]


def test_rounding_is_half_to_even() -> None:
    # exponent exactly 0.5 (u = 16 = 8 * 4^0.5) rounds to 0: one stage of two blocks
    st = regnet_stages(2, 8, 8, 4)
    assert st.block_widths == (8, 8) and st.depths == (2,)
    # exponent exactly 1.5 (u = 64 = 8 * 4^1.5) rounds to 2: widths 8 and 128, k = 1 skipped
    st = regnet_stages(2, 8, 56, 4)
    assert st.block_widths == (8, 128) and st.total_stages == 3 and st.skipped_stage
    # q-rounding: 8 * 2.5 = 20 = 2.5 * q rounds to 2 * q = 16 (not 24)
    assert regnet_block_widths(2, 8, 12, 2.5) == [8, 16]


def test_compatibility_1_6gf() -> None:
    st = regnet_stages(**X1600)
    assert st.widths == (80, 176, 408, 912) and st.depths == (2, 4, 10, 2)
    ws, gs = adjust_compatibility(list(st.widths), [1.0] * 4, [24] * 4)
    assert ws == [72, 168, 408, 912]
    assert gs == [24, 24, 24, 24]


def test_compatibility_8gf_clips_group_width() -> None:
    ws, gs = adjust_compatibility([80, 232, 664, 1912], [1.0] * 4, [120] * 4)
    assert ws == [80, 240, 720, 1920]
    assert gs == [80, 120, 120, 120]


def test_compatibility_with_bottleneck_ratios() -> None:
    # b = 2: w_b = 15 -> 16 (g = 8) -> w = 32; b = 4: w_b = 2, g clipped to 2 -> w = 8;
    # b = 0.5 (inverted): w_b = 200, m = lcm(16, 2) = 16, round(12.5) = 12 (half-to-even) ->
    # w_b = 192 -> w = 96; b = 1: g = 128 > 64 clipped to 64
    ws, gs = adjust_compatibility([30, 8, 100, 64], [2, 4, 0.5, 1], [8, 8, 16, 128])
    assert ws == [32, 8, 96, 64]
    assert gs == [8, 2, 16, 64]


def test_compatibility_invariants_random() -> None:
    """After the step every spec is valid, and for b = 1 widths change by at most 1/3
    ([DDS] App. D)."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 5))
        ws0 = [int(w) for w in rng.integers(1, 1025, size=n)]
        bs = [float(b) for b in rng.choice([0.5, 1.0, 2.0, 4.0], size=n)]
        gs0 = [int(g) for g in rng.integers(1, 257, size=n)]
        ws, gs = adjust_compatibility(ws0, bs, gs0)
        AnyNetSpec(depths=[1] * n, widths=ws, bottleneck_ratios=bs, group_widths=gs,
                   strides=[2] * n)
        for w0, w, b, g0, g in zip(ws0, ws, bs, gs0, gs, strict=True):
            assert g <= g0 and (w / b) % g == 0
            if b == 1.0:
                assert abs(w - w0) <= w0 / 3 + 1e-9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wa": -0.5}, r"wa: -0\.5 is not allowed; use a number >= 0"),
        ({"wa": float("nan")}, r"wa: nan "),
        ({"w0": 0}, r"w0: 0 is not allowed; use a positive multiple of q=8"),
        ({"w0": -8}, r"w0: -8 "),
        ({"w0": 20}, r"w0: 20 is not allowed; use a positive multiple of q=8"),
        ({"w0": 24.5}, r"w0: 24\.5 "),
        ({"wm": 1.0}, r"wm: 1\.0 is not allowed; use a number > 1"),
        ({"wm": 0.5}, r"wm: 0\.5 "),
        ({"depth": 0}, r"depth: 0 is not allowed; use an integer >= 1"),
        ({"depth": -3}, r"depth: -3 "),
        ({"depth": 2.5}, r"depth: 2\.5 "),
        ({"q": 0}, r"q: 0 is not allowed; use an integer >= 1"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, Any], message: str) -> None:
    args = {**X200, **kwargs}
    with pytest.raises(ValueError, match=message):
        regnet_stages(**args)
    with pytest.raises(ValueError, match=message):
        regnet_block_widths(**args)
    with pytest.raises(ValueError, match=message):
        regnet_spec(group_width=8, **args)


def test_w0_multiple_of_custom_q() -> None:
    assert regnet_stages(4, 20, 10, 2, q=4).widths[0] == 20
    with pytest.raises(ValueError, match="multiple of q=16"):
        regnet_stages(4, 24, 10, 2, q=16)


def test_zero_slope_gives_one_stage() -> None:
    st = regnet_stages(4, 8, 0, 2)
    assert st.widths == (8,) and st.depths == (4,) and not st.skipped_stage


def test_skipped_exponent_detected() -> None:
    # u = [8, 108]; log2(13.5) = 3.75 -> k = [0, 4]: exponents 1-3 produce no block
    st = regnet_stages(2, 8, 100, 2)
    assert st.widths == (8, 128) and st.depths == (1, 1)
    assert st.num_stages == 2 and st.total_stages == 5 and st.skipped_stage


def test_three_and_five_stages() -> None:
    st3 = regnet_stages(3, 8, 8, 2)  # u = 8, 16, 24 -> k = 0, 1, round(1.58) = 2
    assert st3.widths == (8, 16, 32) and st3.depths == (1, 1, 1)
    assert st3.num_stages == st3.total_stages == 3 and not st3.skipped_stage
    st5 = regnet_stages(16, 8, 8, 2)  # u_j = 8 (j + 1) -> k = round(log2(j + 1)) in 0..4
    assert st5.widths == (8, 16, 32, 64, 128) and st5.depths == (1, 1, 3, 6, 5)
    assert st5.num_stages == st5.total_stages == 5 and not st5.skipped_stage
    spec = regnet_spec(16, 8, 8, 2, group_width=8)
    assert spec.num_stages == 5 and spec.strides == (2,) * 5
    assert spec.depths == (1, 1, 3, 6, 5) and spec.widths == (8, 16, 32, 64, 128)


def test_regnet_spec_matches_table_and_fields() -> None:
    spec = regnet_spec(13, 24, 36.44, 2.49, group_width=8)
    assert spec == zoo.get("RegNetX-200MF")
    assert spec.depths == (1, 1, 4, 7) and spec.widths == (24, 56, 152, 368)
    assert spec.group_widths == (8,) * 4 and spec.bottleneck_ratios == (1.0,) * 4
    assert spec.strides == (2,) * 4 and spec.stem_width == 32 and spec.se_ratio == 0.0
    y = regnet_spec(13, 24, 36.44, 2.49, group_width=8, se_ratio=0.25, num_classes=10,
                    in_channels=1, stem_stride=1)
    assert (y.se_ratio, y.num_classes, y.in_channels, y.stem_stride) == (0.25, 10, 1, 1)
    # compatibility applied: 8.0GF clips g in stage 1
    x8 = regnet_spec(**X8000, group_width=120)
    assert x8.widths == (80, 240, 720, 1920) and x8.group_widths == (80, 120, 120, 120)


def test_regnet_spec_with_bottleneck() -> None:
    # b = 2: bottleneck widths 12, 28, 76, 184 rounded to multiples of g = 8, half-to-even:
    # 1.5 -> 2, 3.5 -> 4, 9.5 -> 10, 23 -> 23, so w_b = 16, 32, 80, 184 and w = 2 * w_b
    spec = regnet_spec(**X200, group_width=8, bottleneck_ratio=2)
    assert spec.bottleneck_ratios == (2.0,) * 4
    assert spec.widths == (32, 64, 160, 368)
    assert all((w // 2) % 8 == 0 for w in spec.widths)
