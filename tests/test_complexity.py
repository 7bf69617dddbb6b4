"""Analytic complexity against fvcore and forward hooks on the built model (docs/PAPER.md §4.5-4.6).

The reference is `anynet.measure.measured_complexity`: fvcore's FlopCountAnalysis with handles
that align its conventions to pycls's (BatchNorm and global pooling count 0; conv/linear bias
sizes added, since fvcore ignores biases; the module docstring of `anynet.measure` lists them),
`fvcore.nn.parameter_count` as is, and acts summed over Conv2d/Linear outputs by forward hooks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from anynet import AnyNetSpec, complexity, zoo
from anynet.measure import measured_complexity

RESOLUTIONS = (28, 32, 64, 224)
N_SPECS = 200


def reference(spec: AnyNetSpec, resolution: int) -> dict[str, int]:
    """Complexity measured on the built model: fvcore flops and params, hooked acts."""
    torch.manual_seed(0)
    return measured_complexity(spec, resolution)


def random_spec(rng: np.random.Generator, resolution: int) -> AnyNetSpec:
    """A small valid X or Y spec: 1-4 stages, widths up to ~96, b in {0.5,1,2,4}, any strides."""
    n = int(rng.integers(1, 5))
    big = resolution >= 64  # keep the forward pass cheap at large inputs
    depths, widths, bs, gs = [], [], [], []
    for _ in range(n):
        while True:  # rejection: w_b = k * g channels, w = w_b * b a whole number in [4, 96]
            b = float(rng.choice([0.5, 1, 1, 2, 4]))
            g = int(rng.choice([1, 2, 4, 8, 16]))
            k = int(rng.integers(1, 5 if big else 7))
            w = k * g * b
            if w.is_integer() and 4 <= w <= 96:
                break
        depths.append(int(rng.integers(1, 3 if big else 4)))
        widths.append(int(w))
        bs.append(b)
        gs.append(g)
    return AnyNetSpec(
        depths=depths, widths=widths, bottleneck_ratios=bs, group_widths=gs,
        strides=[int(s) for s in rng.choice([1, 2], size=n, p=[0.3, 0.7])],
        stem_width=int(rng.choice([8, 12, 16, 18, 24, 32])),
        stem_stride=2 if big else int(rng.choice([1, 2])),
        se_ratio=float(rng.choice([0.0, 0.25])),
        in_channels=int(rng.integers(1, 5)), num_classes=int(rng.integers(2, 101)),
    )


def _draw_cases() -> list[tuple[AnyNetSpec, int]]:
    """N_SPECS distinct (spec, resolution) pairs, resolutions cycling through RESOLUTIONS."""
    rng = np.random.default_rng(20200330)
    cases: list[tuple[AnyNetSpec, int]] = []
    seen: set[AnyNetSpec] = set()
    while len(cases) < N_SPECS:
        r = RESOLUTIONS[len(cases) % len(RESOLUTIONS)]
        spec = random_spec(rng, r)
        if spec not in seen:
            seen.add(spec)
            cases.append((spec, r))
    return cases


CASES = _draw_cases()


def test_random_cases_cover_the_space() -> None:
    specs = [s for s, _ in CASES]
    assert len(set(specs)) == len(specs) >= 200
    assert {r for _, r in CASES} == set(RESOLUTIONS)
    assert sum(s.se_ratio > 0 for s in specs) >= 60  # Y blocks
    assert sum(s.se_ratio == 0 for s in specs) >= 60  # X blocks
    assert {s.num_stages for s in specs} == {1, 2, 3, 4}
    assert any(s.stem_stride == 1 for s in specs) and any(1 in s.strides for s in specs)
    assert {b for s in specs for b in s.bottleneck_ratios} == {0.5, 1.0, 2.0, 4.0}


@pytest.mark.parametrize(("spec", "resolution"), CASES,
                         ids=[f"{i}-r{r}" for i, (_, r) in enumerate(CASES)])
def test_matches_fvcore_and_hooks(spec: AnyNetSpec, resolution: int) -> None:
    assert complexity(spec, resolution) == reference(spec, resolution)


@pytest.mark.parametrize(
    ("name", "flops", "params", "acts"),
    [("RegNetX-200MF", 199040872, 2684792, 2164056),
     ("RegNetY-200MF", 199519076, 3162996, 2168052)],
)
def test_published_200mf_rows(name: str, flops: int, params: int, acts: int) -> None:
    """docs/PAPER.md §6: pycls dev/model_complexity.json, to the integer."""
    expected = {"flops": flops, "params": params, "acts": acts}
    assert complexity(zoo.get(name)) == expected
    assert complexity(zoo.get(name), resolution=224) == expected
    assert reference(zoo.get(name), 224) == expected


def test_resolution_8_and_stem_stride_1() -> None:
    spec = AnyNetSpec(depths=[1, 2, 1, 1], widths=[16, 24, 48, 64], bottleneck_ratios=[1, 1, 2, 1],
                      group_widths=[8, 8, 8, 16], strides=[2, 2, 2, 2], se_ratio=0.25)
    for s in (spec, AnyNetSpec(**{**spec.to_dict(), "stem_stride": 1})):
        cx = complexity(s, 8)
        assert cx == reference(s, 8)
        assert min(cx.values()) > 0
    # stem stride 1 keeps 2x the resolution through the body: more flops and acts, same params
    s1 = AnyNetSpec(**{**spec.to_dict(), "stem_stride": 1})
    assert complexity(s1, 64)["params"] == complexity(spec, 64)["params"]
    assert complexity(s1, 64)["flops"] > 3 * complexity(spec, 64)["flops"]
    assert complexity(s1, 64) == reference(s1, 64)


@pytest.mark.parametrize("resolution", [1, 9, 15, 17, 33])
def test_odd_and_tiny_resolutions(resolution: int) -> None:
    """Odd sizes exercise (h - 1) // s + 1, which is PyTorch's size for 'same' padding."""
    spec = AnyNetSpec(depths=[1, 2], widths=[16, 32], bottleneck_ratios=[1, 1],
                      group_widths=[4, 8], strides=[2, 1], stem_width=8, se_ratio=0.25)
    assert complexity(spec, resolution) == reference(spec, resolution)


def test_hand_counted_single_block() -> None:
    """One X block, worked by hand from docs/PAPER.md §4.5 at r = 8, stem stride 1."""
    spec = AnyNetSpec(depths=[1], widths=[16], bottleneck_ratios=[1], group_widths=[4],
                      strides=[2], stem_width=8, stem_stride=1, in_channels=3, num_classes=10)
    stem = (9 * 3 * 8 * 64, 9 * 3 * 8 + 16, 8 * 64)  # 3x3 conv at 8x8, BN 2*8
    proj = (8 * 16 * 16, 8 * 16 + 32, 16 * 16)  # 1x1 stride 2 -> 4x4, BN
    a = (8 * 16 * 64, 8 * 16 + 32, 16 * 64)  # 1x1 at 8x8
    b = (9 * 16 * 16 * 16 // 4, 9 * 16 * 16 // 4 + 32, 16 * 16)  # 3x3 group, 4 groups, -> 4x4
    c = (16 * 16 * 16, 16 * 16 + 32, 16 * 16)  # 1x1 at 4x4
    fc = (16 * 10 + 10, 16 * 10 + 10, 10)
    parts = [stem, proj, a, b, c, fc]
    expected = {k: sum(p[i] for p in parts) for i, k in enumerate(("flops", "params", "acts"))}
    assert complexity(spec, 8) == expected


def test_se_counted_at_1x1_with_bias() -> None:
    """Y minus X = the two SE convs at 1x1 with bias (w_se = round(0.25 * w_in))."""
    x = AnyNetSpec(depths=[1], widths=[16], bottleneck_ratios=[1], group_widths=[4],
                   strides=[2], stem_width=8)
    y = AnyNetSpec(**{**x.to_dict(), "se_ratio": 0.25})
    w_b, w_se = 16, 2
    se = w_b * w_se + w_se + w_se * w_b + w_b
    cx, cy = complexity(x, 32), complexity(y, 32)
    assert cy["flops"] - cx["flops"] == se
    assert cy["params"] - cx["params"] == se
    assert cy["acts"] - cx["acts"] == w_se + w_b


@pytest.mark.parametrize("bad", [0, -224, 22.4, "224", True])
def test_bad_resolution(bad: Any) -> None:
    with pytest.raises(ValueError, match="resolution: .* integer >= 1"):
        complexity(zoo.get("RegNetX-200MF"), bad)


def test_flops_scale_with_resolution_squared() -> None:
    """Away from rounding effects, flops (minus the FC) scale with r^2."""
    spec = zoo.get("RegNetX-200MF")
    fc = 368 * 1000 + 1000
    f224 = complexity(spec, 224)["flops"] - fc
    f448 = complexity(spec, 448)["flops"] - fc
    assert f448 == 4 * f224
