"""The power of a whole plan by resampling a pilot (analysis/power_analysis.py), on the committed
confirmatory study's RegNetX and AnyNetX_E errors (mnist5k, proxy regime)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.plan import parse_plan
from analysis.power_analysis import (
    median_effects,
    plan_power,
    plan_sample_size,
    plan_spaces,
    resample_study,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pilot() -> pd.DataFrame:
    d = pd.read_csv(ROOT / "results" / "confirmatory.csv").assign(num_classes=10)
    return d[d["design_space"].isin(["regnetx", "anynetx_e"])]


def _plan(*hyps: dict) -> object:
    return parse_plan({"name": "t", "n_boot": 1000, "hypotheses": list(hyps)})


BETTER = {"id": "y_better", "text": "y better", "kind": "better", "a": "y", "b": "x"}
EQUIV = {"id": "y_eq", "text": "y same", "kind": "equivalent", "a": "y", "b": "x",
         "margin": 0.10}


def test_power_tracks_the_planned_effect(pilot):
    rx = pilot[pilot["design_space"] == "regnetx"]
    plan = _plan(BETTER)
    null = plan_power(plan, {"y": rx, "x": rx}, {}, n=16, reps=120, seed=1)
    shifted = plan_power(plan, {"y": rx, "x": rx}, {"y": 0.7}, n=16, reps=120, seed=1)
    assert null["power"].iloc[0] <= 0.10          # the one-sided test's size at alpha 0.05
    assert shifted["power"].iloc[0] >= 0.90       # a 30 % shift is found at n = 16
    assert shifted["contradicted"].iloc[0] == 0


def test_equivalence_is_powered_only_without_a_difference(pilot):
    rx = pilot[pilot["design_space"] == "regnetx"]
    plan = _plan(EQUIV)
    same = plan_power(plan, {"y": rx, "x": rx}, {}, n=96, reps=60, seed=2)
    apart = plan_power(plan, {"y": rx, "x": rx}, {"y": 0.6}, n=96, reps=60, seed=2)
    assert same["claimed"].iloc[0] == "equivalent"
    assert same["power"].iloc[0] > 0.5
    assert apart["power"].iloc[0] == 0


def test_holm_over_the_family_lowers_each_power(pilot):
    rx = pilot[pilot["design_space"] == "regnetx"]
    one = plan_power(_plan(BETTER), {"y": rx, "x": rx}, {"y": 0.85}, n=24, reps=100, seed=3)
    others = [dict(BETTER, id=f"h{i}", a=f"z{i}") for i in range(2)]
    pilots = {"y": rx, "x": rx, **{f"z{i}": rx for i in range(2)}}
    three = plan_power(_plan(BETTER, *others), pilots, {"y": 0.85}, n=24, reps=100, seed=3)
    assert three["power"].iloc[0] < one["power"].iloc[0]


def test_sample_size_stops_at_the_first_powered_n(pilot):
    rx = pilot[pilot["design_space"] == "regnetx"]
    table = plan_sample_size(_plan(BETTER), {"y": rx, "x": rx}, {"y": 0.8}, [8, 16, 24, 32],
                             reps=60, seed=4)
    last = table["n"].max()
    assert (table.loc[table["n"] == last, "power"] >= 0.8).all()
    assert (table.loc[table["n"] < last, "power"] < 0.8).all()


def test_every_space_of_the_plan_needs_a_pilot(pilot):
    plan = _plan(BETTER)
    assert plan_spaces(plan) == ["y", "x"]
    with pytest.raises(ValueError, match=r"pilots: no pilot rows for \['x'\]"):
        plan_power(plan, {"y": pilot}, {}, n=8, reps=1)
    with pytest.raises(ValueError, match="n: 1 is not allowed"):
        plan_power(plan, {"y": pilot, "x": pilot}, {}, n=1, reps=1)


def test_median_effects_put_each_median_where_the_reading_states(pilot):
    """A chain x -> y -> z: y's median 0.8 of x's, z's 0.8 of y's (after y's effect), on the
    committed errors; a space named nowhere keeps its own median."""
    rx = pilot[pilot["design_space"] == "regnetx"]
    ae = pilot[pilot["design_space"] == "anynetx_e"]
    plan = _plan(BETTER, dict(BETTER, id="z_better", a="z", b="y"))
    pilots = {"x": rx, "y": ae, "z": rx}
    effects = median_effects(plan, pilots, {"y": ("x", 0.8), "z": ("y", 0.8)})
    med = {s: float(p["error"].median()) for s, p in pilots.items()}
    assert med["x"] != med["y"]
    assert set(effects) == {"y", "z"}
    assert effects["y"] * med["y"] == pytest.approx(0.8 * med["x"])
    assert effects["z"] * med["z"] == pytest.approx(0.64 * med["x"])
    # the simulated study then carries those medians: y's errors 0.8 of x's at the median
    scaled = resample_study(pilots, effects, 4000, np.random.default_rng(0))
    by = scaled.groupby("design_space")["error"].median()
    assert by["y"] / by["x"] == pytest.approx(0.8, rel=0.05)


def test_median_effects_name_the_bad_field(pilot):
    rx = pilot[pilot["design_space"] == "regnetx"]
    plan = _plan(BETTER)
    with pytest.raises(ValueError, match=r"medians\.y\.of: no pilot rows for 'w'"):
        median_effects(plan, {"y": rx, "x": rx}, {"y": ("w", 0.8)})
    with pytest.raises(ValueError, match=r"medians\.y: the chain y -> x -> y comes back"):
        median_effects(plan, {"y": rx, "x": rx}, {"y": ("x", 0.8), "x": ("y", 1.0)})
    with pytest.raises(ValueError, match=r"medians\.y\.factor: -1"):
        median_effects(plan, {"y": rx, "x": rx}, {"y": ("x", -1)})
