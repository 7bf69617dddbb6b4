"""AnyNetSpec: storage, round-trip, block widths and validation (docs/ARCHITECTURE.md
"Public API", docs/PAPER.md §1)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from anynet import AnyNetSpec

BASE: dict[str, Any] = {
    "depths": [1, 1, 4, 7],
    "widths": [24, 56, 152, 368],
    "bottleneck_ratios": [1, 1, 1, 1],
    "group_widths": [8, 8, 8, 8],
    "strides": [2, 2, 2, 2],
    "stem_width": 32,
    "stem_stride": 2,
    "se_ratio": 0.0,
    "in_channels": 3,
    "num_classes": 1000,
}


def make(**changes: Any) -> AnyNetSpec:
    """BASE (RegNetX-200MF) with some fields replaced."""
    return AnyNetSpec(**{**BASE, **changes})


def test_lists_are_stored_as_tuples() -> None:
    spec = make()
    for name in ("depths", "widths", "bottleneck_ratios", "group_widths", "strides"):
        assert isinstance(getattr(spec, name), tuple), name
    assert spec.depths == (1, 1, 4, 7)
    assert spec.bottleneck_ratios == (1.0, 1.0, 1.0, 1.0)
    assert all(isinstance(b, float) for b in spec.bottleneck_ratios)


def test_frozen_and_hashable() -> None:
    spec = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.depths = (1, 1, 1, 1)  # type: ignore[misc]
    assert hash(spec) == hash(make())
    assert spec == make(bottleneck_ratios=[1.0, 1.0, 1.0, 1.0], depths=(1, 1, 4, 7))
    assert spec != make(se_ratio=0.25)
    assert len({spec, make(), make(se_ratio=0.25)}) == 2


def test_defaults_follow_the_paper() -> None:
    spec = AnyNetSpec(depths=[1, 2], widths=[16, 32], bottleneck_ratios=[1, 1],
                      group_widths=[8, 8], strides=[2, 2])
    assert (spec.stem_width, spec.stem_stride, spec.se_ratio) == (32, 2, 0.0)
    assert (spec.in_channels, spec.num_classes) == (3, 1000)
    assert spec.num_stages == 2 and spec.depth == 3


def test_default_strides_follow_the_number_of_stages() -> None:
    fields = dict(depths=[1, 2, 3], widths=[16, 32, 64], bottleneck_ratios=[1, 1, 1],
                  group_widths=[8, 8, 8])
    spec = AnyNetSpec(**fields)
    assert spec.strides == (2, 2, 2)
    assert AnyNetSpec.from_dict(fields) == spec == AnyNetSpec.from_dict(spec.to_dict())
    assert AnyNetSpec(**fields, strides=None).strides == (2, 2, 2)
    assert AnyNetSpec(depths=[1], widths=[8], bottleneck_ratios=[1],
                      group_widths=[8]).strides == (2,)


def test_se_ratio_range_ends_are_allowed() -> None:
    assert make(se_ratio=0).se_ratio == 0.0 and type(make(se_ratio=0).se_ratio) is float
    assert make(se_ratio=1).se_ratio == 1.0


def test_to_dict_from_dict_round_trip() -> None:
    spec = make(se_ratio=0.25, bottleneck_ratios=[1, 2, 2, 4], group_widths=[4, 4, 4, 4],
                strides=[1, 2, 2, 2], stem_stride=1, in_channels=1, num_classes=10)
    d = spec.to_dict()
    assert d["depths"] == [1, 1, 4, 7] and isinstance(d["depths"], list)
    assert d["bottleneck_ratios"] == [1.0, 2.0, 2.0, 4.0]
    # the ten fields of the original spec; the choice fields only away from their defaults
    assert set(d) == set(BASE)
    assert set(d) == {f.name for f in dataclasses.fields(AnyNetSpec)} - {
        "block_type", "activation", "stem_type"}
    assert AnyNetSpec.from_dict(d) == spec
    # through JSON (what a run record stores) and back
    assert AnyNetSpec.from_dict(json.loads(json.dumps(d))) == spec


def test_from_dict_rejects_unknown_fields() -> None:
    d = make().to_dict()
    d["depth_multiplier"] = 2
    with pytest.raises(ValueError, match=r"unknown field.*depth_multiplier"):
        AnyNetSpec.from_dict(d)


def test_block_widths() -> None:
    spec = make()
    bw = spec.block_widths()
    assert bw == [24, 56] + [152] * 4 + [368] * 7
    assert len(bw) == sum(spec.depths) == 13
    assert make(depths=[2, 1, 1, 3]).block_widths() == [24, 24, 56, 152, 368, 368, 368]


def test_yaml_and_numpy_numbers_are_accepted() -> None:
    """Integral floats (YAML/JSON) and numpy scalars, as sampling code produces them."""
    spec = AnyNetSpec(depths=np.array([1, 2]), widths=[np.int64(16), 32.0],
                      bottleneck_ratios=np.array([1, 2]), group_widths=[np.int32(8), 8],
                      strides=[2.0, 2], stem_width=np.int64(16), se_ratio=np.float32(0.25))
    assert spec.depths == (1, 2) and type(spec.depths[0]) is int
    assert spec.widths == (16, 32) and type(spec.widths[0]) is int
    assert spec.bottleneck_ratios == (1.0, 2.0) and type(spec.bottleneck_ratios[0]) is float
    assert type(spec.stem_width) is int and type(spec.se_ratio) is float
    json.dumps(spec.to_dict())  # plain Python types only


def test_bottleneck_and_inverted_bottleneck_widths_accepted() -> None:
    # b = 4: w_b = 64 / 4 = 16, divisible by g = 16; b = 0.5: w_b = 2 * 8 = 16
    make(widths=[8, 16, 32, 64], bottleneck_ratios=[0.5, 1, 2, 4], group_widths=[16, 16, 16, 16])


# (changes, regex naming the field and the value, a word from "what is allowed")
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"depths": [0, 1, 4, 7]}, r"depths\[0\]: 0 ", "integer >= 1"),
    ({"depths": [1, -3, 4, 7]}, r"depths\[1\]: -3 ", "integer >= 1"),
    ({"depths": [1, 1, 2.5, 7]}, r"depths\[2\]: 2\.5 ", "integer >= 1"),
    ({"depths": [], "widths": [], "bottleneck_ratios": [], "group_widths": [], "strides": []},
     r"depths: \(\) is empty", "at least one stage"),
    ({"depths": 4}, r"depths: 4 is not a list", "one value per stage"),
    ({"widths": [24, 0, 152, 368]}, r"widths\[1\]: 0 ", "integer >= 1"),
    ({"widths": [24, 56, 152]}, r"widths: \[24, 56, 152\] has 3 stages", "same length"),
    ({"strides": [2, 2, 2]}, r"strides: \[2, 2, 2\] has 3 stages", "same length"),
    ({"group_widths": [8, 8, 8, 8, 8]}, r"group_widths: \[8, 8, 8, 8, 8\] has 5", "same length"),
    ({"bottleneck_ratios": [1, 0, 1, 1]}, r"bottleneck_ratios\[1\]: 0\.0 ", "positive"),
    ({"bottleneck_ratios": [1, 1, -2, 1]}, r"bottleneck_ratios\[2\]: -2\.0 ", "positive"),
    ({"bottleneck_ratios": [1, 1, "x", 1]}, r"bottleneck_ratios\[2\]: 'x' ", "positive"),
    ({"group_widths": [8, 0, 8, 8]}, r"group_widths\[1\]: 0 ", "integer >= 1"),
    # w_b = 56 is not divisible by g = 16
    ({"group_widths": [8, 16, 8, 8]}, r"group_widths\[1\]: 16 does not divide .* 56", "divides"),
    # g larger than the bottleneck width w_b = 152 / 4 = 38
    ({"bottleneck_ratios": [1, 1, 4, 1], "group_widths": [8, 8, 64, 8]},
     r"group_widths\[2\]: 64 does not divide the bottleneck width 38", "divides"),
    # w_b = 24 / 4 = 6 is fine, but 56 / 16 = 3.5 channels is not
    ({"bottleneck_ratios": [4, 16, 1, 1], "group_widths": [2, 1, 8, 8]},
     r"widths\[1\]/bottleneck_ratios\[1\]: width 56 / b 16 = 3\.5", "whole number"),
    ({"se_ratio": -0.25}, r"se_ratio: -0\.25 ", "in [0, 1]"),
    ({"se_ratio": 1.5}, r"se_ratio: 1\.5 ", "in [0, 1]"),
    ({"se_ratio": float("inf")}, r"se_ratio: inf ", "in [0, 1]"),
    ({"se_ratio": float("nan")}, r"se_ratio: nan ", "in [0, 1]"),
    ({"se_ratio": "0.25"}, r"se_ratio: '0\.25' ", "in [0, 1]"),
    ({"se_ratio": True}, r"se_ratio: True ", "in [0, 1]"),
    # round(0.01 * 32) = 0 channels in the SE of block 1
    ({"se_ratio": 0.01}, r"se_ratio: 0\.01 gives an SE width of 0", "se_ratio >"),
    ({"strides": [2, 3, 2, 2]}, r"strides\[1\]: 3 ", "1 or 2"),
    ({"strides": [2, 2, 0, 2]}, r"strides\[2\]: 0 ", "1 or 2"),
    ({"stem_stride": 4}, r"stem_stride: 4 ", "1 or 2"),
    ({"stem_width": 0}, r"stem_width: 0 ", "integer >= 1"),
    ({"in_channels": -1}, r"in_channels: -1 ", "integer >= 1"),
    ({"num_classes": 0}, r"num_classes: 0 ", "integer >= 1"),
    ({"num_classes": True}, r"num_classes: True ", "integer >= 1"),
]


@pytest.mark.parametrize(("changes", "field_and_value", "allowed"), BAD,
                         ids=[str(i) for i in range(len(BAD))])
def test_invalid_fields_raise_value_error(changes: dict[str, Any], field_and_value: str,
                                          allowed: str) -> None:
    with pytest.raises(ValueError, match=field_and_value) as info:
        make(**changes)
    assert allowed in str(info.value)


def test_se_width_checked_for_every_block_input() -> None:
    """Stage 2's first block sees width 64 (SE width 16), but its second block sees width 1,
    whose SE width round(0.25) = 0; the spec must be rejected, not crash the model builder."""
    with pytest.raises(ValueError, match=r"se_ratio: 0\.25 .* stage 2 .*input width 1"):
        AnyNetSpec(depths=[1, 2], widths=[64, 1], bottleneck_ratios=[1, 1],
                   group_widths=[1, 1], strides=[2, 2], se_ratio=0.25)
    # with a single block in that stage every block input is >= 64: accepted
    AnyNetSpec(depths=[1, 1], widths=[64, 1], bottleneck_ratios=[1, 1], group_widths=[1, 1],
               strides=[2, 2], se_ratio=0.25)


def test_from_dict_validates() -> None:
    d = make().to_dict()
    d["widths"] = [24, 56, 152, -368]
    with pytest.raises(ValueError, match=r"widths\[3\]: -368 "):
        AnyNetSpec.from_dict(d)


def test_from_dict_names_missing_fields():
    with pytest.raises(ValueError, match=r"spec: missing field\(s\) \['bottleneck_ratios', "
                                         r"'group_widths'\]; required: "):
        AnyNetSpec.from_dict({"depths": [1, 1], "widths": [8, 16]})
