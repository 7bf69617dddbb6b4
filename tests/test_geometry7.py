"""The geometry that keeps 7 px (conf/geometry/seven.yaml; issue 21) and the plan that compares
AnyNetX_C, D and E under it (conf/plan/geometry7.yaml, conf/study/geometry7.yaml,
conf/experiment/geometry7.yaml): stage maps, complexity against fvcore, the window, and a plan
sized by its committed power table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir

import conf
from analysis.plan import find_plan, load_plan
from analysis.power_analysis import plan_spaces
from analysis.study import load_study
from anynet import build_model, complexity
from anynet.measure import measured_complexity
from sampling import load_design_space

ROOT = Path(__file__).resolve().parents[1]
MNIST = ["design_space.resolution=28", "design_space.in_channels=1",
         "design_space.num_classes=10"]
SEVEN = ["geometry=seven", *MNIST]
WINDOW = (360e6 / 64, 400e6 / 64)  # the paper's 400MF window x (28/224)^2 (scale: input)


def stage_sizes(model, resolution: int) -> list[int]:
    """The side of each stage's output map, from a forward pass of the built model."""
    x = model.stem(torch.zeros(1, model.spec.in_channels, resolution, resolution))
    out = []
    for stage in model.stages:
        x = stage(x)
        out.append(int(x.shape[-1]))
    return out


def median_acts(space, n: int) -> float:
    """The median activations of a space's first `n` sampled models at 28 px."""
    return float(np.median([complexity(space.sample(i), 28)["acts"] for i in range(n)]))


@pytest.mark.parametrize("space", ["anynetx_c", "anynetx_d", "anynetx_e"])
def test_the_stages_run_at_28_28_14_and_7_px(space):
    s = load_design_space(space, SEVEN)
    spec = s.sample(0)
    assert (spec.stem_stride, spec.strides) == (1, (1, 1, 2, 2))
    with torch.no_grad():
        assert stage_sizes(build_model(spec), 28) == [28, 28, 14, 7]
    # the confirmatory window: only the geometry differs from the small-geometry instrument
    assert all(WINDOW[0] <= complexity(s.sample(i), 28)["flops"] <= WINDOW[1] for i in range(5))


def test_complexity_matches_fvcore_at_this_geometry():
    spec = load_design_space("anynetx_e", SEVEN).sample(1)
    torch.manual_seed(0)
    assert complexity(spec, 28) == measured_complexity(spec, 28)


def test_es_planned_models_have_fewer_activations_than_ds():
    """The plan's header: E's sampled models have fewer activations than D's at this geometry
    too (its reason for an activation-matched comparison), by their specs, before any run."""
    n = load_plan(find_plan("geometry7")).n_per_space
    d, e = (median_acts(load_design_space(space, SEVEN), n) for space in ("anynetx_d", "anynetx_e"))
    assert e < 0.9 * d


def test_the_plan_loads_and_its_n_is_the_first_powered_n_of_its_table():
    plan = load_plan(find_plan("geometry7"))
    assert [h.id for h in plan.hypotheses] == ["E_better_D_7px", "E_noworse_D_7px",
                                               "D_better_C_7px", "E_better_D_7px_acts"]
    assert {h.family for h in plan.hypotheses} == {"main"}
    power = pd.read_csv(ROOT / "results" / "paper" / "geometry7_power.csv")
    powered = power.groupby("n")["power"].min() >= power["target"].iloc[0]
    assert plan.n_per_space == powered[powered].index.min() == power["n"].max()
    study = load_study("geometry7")
    assert study.plan == "geometry7" and set(study.order) == set(plan_spaces(plan))
    assert set(study.power.pilots) == set(plan_spaces(plan))


def test_the_experiment_trains_the_plans_spaces_at_its_n():
    plan = load_plan(find_plan("geometry7"))
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        cfg = compose("config", overrides=["+experiment=geometry7"], return_hydra_config=True)
    assert cfg.hydra.runtime.choices["geometry"] == "seven"
    assert cfg.hydra.runtime.choices["hydra/launcher"] == "joblib"
    assert cfg.sweep.n == plan.n_per_space and cfg.sweep.dir == "runs/geometry7"
    params = cfg.hydra.sweeper.params
    assert list(params)[0] == "sample.index"  # the index varies slowest
    assert params.design_space.split(",") == sorted(plan_spaces(plan))
    study = yaml.safe_load((conf.path() / "study" / "geometry7.yaml").read_text())
    assert study["exports"]["geometry7"]["sweeps"] == [cfg.sweep.dir]


def _pop(medians: dict[str, float], n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Per space, n errors spread around its median (a fixed shape scaled to it)."""
    rng = np.random.default_rng(seed)
    shape = np.exp(rng.normal(0, 0.1, n))
    shape /= np.median(shape)
    return pd.DataFrame([{"design_space": s, "error": m * x, "status": "ok"}
                         for s, m in medians.items() for x in shape])


def test_the_gap_change_reads_smaller_only_when_its_interval_lies_below_zero():
    """The plan's descriptive reading: log(median E / median D) at 7 px minus at 2 px, with
    its bootstrap interval; a gap that vanishes reads smaller, a gap that stays does not."""
    from analysis.geometry7_tables import Inputs, block, gap_change

    small = _pop({"anynetx_c": 6.0, "anynetx_d": 4.0, "anynetx_e": 4.6}, seed=1)  # E 15 % worse
    same = _pop({"anynetx_c": 30.0, "anynetx_d": 3.0, "anynetx_e": 3.45}, seed=2)  # same ratio
    gone = _pop({"anynetx_c": 50.0, "anynetx_d": 3.0, "anynetx_e": 3.0}, seed=3)  # no gap
    value, low, high = gap_change(small, same)
    assert value == pytest.approx(0.0, abs=1e-12) and low < 0 < high
    value, low, high = gap_change(small, gone)
    assert value == pytest.approx(-np.log(4.6 / 4.0)) and high < 0
    verdicts = pd.DataFrame([{"id": "E_better_D_7px", "text": "t", "estimand": "e",
                              "estimate": 0.0, "low": -0.1, "high": 0.1, "n_a": 40, "n_b": 40,
                              "p": 0.5, "p_corrected": 1.0, "p_contra_corrected": 1.0,
                              "verdict": "not resolved"}])
    text = block(Inputs(verdicts, gone, small, "dse-train +experiment=geometry7"))
    assert "Median AnyNetX_E / median AnyNetX_D: 1.150 at the small geometry, 1.000 at 7 px" \
        in text
    # C at 50 %: above half of chance (45 %) for half its models, none below 20 %
    row = next(r for r in text.splitlines() if r.startswith("| seven") and "AnyNetX_C" in r)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:4] == ["40", "50.00"] and 0 < float(cells[4]) < 0.5 and cells[5] == "0.00"
    assert "smaller at 7 px: the interval lies below 0" in text
    assert "not shown smaller" in block(Inputs(verdicts, same, small, "x"))
    assert block(Inputs(None, None, small, "dse-train +experiment=geometry7")).startswith(
        "*Not run yet: `dse-train +experiment=geometry7`")
