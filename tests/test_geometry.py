"""Geometry is part of a design space (issue: the laptop instrument, point 1): stem stride and
per-stage strides as keys, the named geometries, the window-scaling rules, and user spaces found
outside the package."""

from __future__ import annotations

import pytest

from anynet import build_model, complexity
from sampling import load_design_space
from sampling.constraints import window_scale

SMALL = ["geometry=small", "design_space.resolution=28", "design_space.in_channels=1",
         "design_space.num_classes=10"]


def stage_maps(spec, resolution: int) -> list[int]:
    h = (resolution - 1) // spec.stem_stride + 1
    out = []
    for s in spec.strides:
        h = (h - 1) // s + 1
        out.append(h)
    return out


def test_the_small_geometry_keeps_every_stage_at_two_pixels_or_more():
    paper = load_design_space("anynetx_e", [*SMALL[1:]])
    small = load_design_space("anynetx_e", SMALL)
    for i in range(10):
        p, s = paper.sample(i), small.sample(i)
        assert (p.stem_stride, s.stem_stride) == (2, 1) and s.strides == (2, 2, 2, 2)
        assert stage_maps(p, 28) == [7, 4, 2, 1] and stage_maps(s, 28) == [14, 7, 4, 2]
        # the same window, (28/224)^2 of 360-400 MF, whatever the geometry
        assert 5_625_000 <= complexity(s, 28)["flops"] <= 6_250_000
    x = build_model(small.sample(0))
    import torch
    assert x.stages(x.stem(torch.zeros(1, 1, 28, 28))).shape[-1] == 2


def test_window_scaling_rules():
    assert window_scale(28, 224, "input", 1) == pytest.approx(1 / 64)
    assert window_scale(28, 224, "stem_output", 1) == pytest.approx(1 / 16)
    for r in (28, 64, 224):  # the rules agree for the paper's stride-2 stem
        assert window_scale(r, 224, "stem_output", 2) == pytest.approx((r / 224) ** 2)
    s = load_design_space("regnetx", [*SMALL, "design_space.complexity.reference.scale="
                                               "stem_output"])
    flops = [complexity(s.sample(i), 28)["flops"] for i in range(5)]
    assert all(22_500_000 <= f <= 25_000_000 for f in flops)  # 360-400 MF / 16


def test_per_stage_strides_key():
    s = load_design_space("anynetx_a", ["design_space.strides=[1,2,2,2]",
                                        "design_space.complexity.flops=[0,0]"])
    assert all(s.sample(i).strides == (1, 2, 2, 2) for i in range(3))
    assert s.contains(s.sample(0))
    with pytest.raises(ValueError, match=r"design_space.strides: \[2, 3, 2, 2\] is not allowed"):
        load_design_space("anynetx_a", ["design_space.strides=[2,3,2,2]"])


def test_old_populations_keep_their_members():
    """Adding the geometry keys at their neutral values changes no population: the paper
    geometry with explicit null strides and the input rule equals the default config."""
    base = load_design_space("anynetx_c", ["design_space.resolution=28"])
    explicit = load_design_space("anynetx_c", ["design_space.resolution=28",
                                               "design_space.strides=null",
                                               "design_space.complexity.reference.scale=input"])
    assert [base.sample(i) for i in range(5)] == [explicit.sample(i) for i in range(5)]


def test_user_spaces_are_found_outside_the_package(tmp_path, monkeypatch):
    (tmp_path / "design_space").mkdir()
    (tmp_path / "design_space" / "mine.yaml").write_text(
        "defaults:\n  - anynetx_e\n  - _self_\nname: mine\n")
    monkeypatch.setenv("ANYNET_DSE_CONF", str(tmp_path))
    from sampling import available

    assert "mine" in available()
    mine = load_design_space("mine", ["design_space.resolution=28"])
    assert mine.name == "mine" and mine.sample(0).depths == tuple(sorted(mine.sample(0).depths))
