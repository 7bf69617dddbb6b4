"""Refactor regression: sampled populations, complexity integers, the RegNet rule and tiny CPU
trainings equal what the code produced before the "one home for each rule" refactor
(tests/golden/refactor_golden.json, written by tests/golden/make_golden.py). Training losses and
test errors are compared as float.hex strings, i.e. bit for bit."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

_PATH = Path(__file__).resolve().parent / "golden" / "make_golden.py"
_spec = importlib.util.spec_from_file_location("make_golden", _PATH)
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads(make_golden.GOLDEN.read_text())


def test_golden_covers_what_it_claims(golden: dict[str, Any]) -> None:
    assert len(golden["samples"]) == len(make_golden.SPACES) * 2 * 2
    assert all(len(rows) == 40 for rows in golden["samples"].values())
    assert len(golden["zoo"]) == 48
    assert len(golden["rule"]["regnet_spec"]) == 750 * 6
    assert len(golden["trainings"]) == 3


def test_sampled_populations_and_complexity(golden: dict[str, Any]) -> None:
    got = make_golden.canonical(make_golden._samples())
    assert sorted(got) == sorted(golden["samples"])
    for key, rows in golden["samples"].items():
        assert got[key] == rows, key


def test_zoo_complexity(golden: dict[str, Any]) -> None:
    assert make_golden.canonical(make_golden._zoo()) == golden["zoo"]


def test_edge_case_complexity(golden: dict[str, Any]) -> None:
    got = make_golden.canonical(make_golden._edge())
    assert sum(isinstance(r[1], list) for r in golden["edge"]) >= 40  # mostly valid specs
    for g, e in zip(got, golden["edge"], strict=True):
        assert g == e, e[0]


def test_regnet_rule(golden: dict[str, Any]) -> None:
    got = make_golden.canonical(make_golden._rule())
    for part in ("regnet_stages", "regnet_spec"):
        for key, value in golden["rule"][part].items():
            assert got[part][key] == value, (part, key)


def test_tiny_trainings_bit_identical(golden: dict[str, Any]) -> None:
    assert make_golden.canonical(make_golden._trainings()) == golden["trainings"]
