"""fit_regnet: exact recovery of the rule's own widths (zoo and random), sensible fits of
AnyNet models, the interval of equally good w_m and its tie rule, and propose_regnet's
design-space YAML accepted by the sampling package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import block_widths_of, e_fit, fit_regnet, load_sweep, propose_regnet
from analysis.testing import random_anynet_spec, synthetic_population
from anynet import regnet_block_widths, zoo


@pytest.mark.parametrize("name", zoo.names())
def test_recovers_every_zoo_model_exactly(name):
    p = zoo.params(name)
    widths = regnet_block_widths(p["depth"], p["w0"], p["wa"], p["wm"])
    fit = fit_regnet(widths)
    assert fit.e_fit == 0.0 and list(fit.fitted_widths) == widths
    assert fit.depth == p["depth"] and fit.w0 == p["w0"]  # block 0 always has width w0
    assert regnet_block_widths(fit.depth, fit.w0, fit.wa, fit.wm) == widths


def test_block_widths_of_is_the_spec_rule():
    spec = zoo.get("RegNetX-200MF")
    widths = [24, 56] + [152] * 4 + [368] * 7  # PAPER.md §2.3 test vector (ws_all)
    assert block_widths_of(spec.to_dict()) == block_widths_of(spec) == widths
    bad = {**spec.to_dict(), "depths": [1, 0, 4, 7]}
    with pytest.raises(ValueError, match=r"depths\[1\]: 0 "):
        block_widths_of(bad)


def test_recovers_random_rule_outputs():
    rng = np.random.default_rng(7)
    for _ in range(12):
        d, w0 = int(rng.integers(6, 40)), 8 * int(rng.integers(1, 40))
        wa, wm = float(rng.uniform(8, 250)), float(rng.uniform(1.5, 3.0))
        widths = regnet_block_widths(d, w0, wa, wm)
        assert fit_regnet(widths).e_fit == 0.0, (d, w0, wa, wm)


def test_anynet_fits_are_good_but_not_exact():
    rng = np.random.default_rng(0)
    for _ in range(10):
        spec = random_anynet_spec(rng)
        fit = fit_regnet(spec.block_widths())
        assert fit.e_fit == pytest.approx(e_fit(fit.fitted_widths, spec.block_widths()))
        assert 0 <= fit.e_fit < 0.6 and len(fit.fitted_widths) == spec.depth
        assert fit.w0 % 8 == 0 and 0 < fit.wa <= 256 and 1.5 <= fit.wm <= 3.0
        assert 1.5 <= fit.wm_low <= fit.wm <= fit.wm_high <= 3.0
    # a single stage of constant width is fitted exactly
    assert fit_regnet([64] * 5).e_fit == 0.0
    with pytest.raises(ValueError, match="block_widths"):
        fit_regnet([])


def _wa_reproducing(widths, w0, wm):
    """Some wa on a 0.01 grid at which the rule gives exactly `widths` (None if none)."""
    for wa in np.arange(0.01, 20, 0.01):
        if regnet_block_widths(len(widths), w0, wa, wm) == widths:
            return wa
    return None


def test_equally_good_wm_interval_and_tie_rule():
    # 16·wm rounds to 32 for wm in [1.75, 2.25] and 16·wm² to 64 for wm² in [3.75, 4.25]
    # (q = 8, half to even): the same widths, e_fit 0, for every wm in [√3.75, √4.25]
    widths = [16] * 2 + [32] * 3 + [64] * 4
    assert _wa_reproducing(widths, 16, 1.95) and _wa_reproducing(widths, 16, 2.05)
    assert _wa_reproducing(widths, 16, 1.9364) is None  # just outside either end
    assert _wa_reproducing(widths, 16, 2.0616) is None
    fit = fit_regnet(widths)
    assert fit.e_fit == 0.0 and fit.w0 == 16
    assert fit.wm_low == pytest.approx(np.sqrt(3.75), abs=1e-6)
    assert fit.wm_high == pytest.approx(np.sqrt(4.25), abs=1e-6)
    assert fit.wm_low <= 1.95 < 2.05 <= fit.wm_high
    # tie rule: the log-space middle of the interval, 3 decimals; not the round 2.0
    assert fit.wm == round(float(np.sqrt(fit.wm_low * fit.wm_high)), 3) == 1.998
    assert regnet_block_widths(fit.depth, fit.w0, fit.wa, fit.wm) == widths
    # one stage: every wm fits, the interval is the search range
    flat = fit_regnet([64] * 5)
    assert (flat.wm_low, flat.wm_high, flat.wm) == (1.5, 3.0, 2.121)


def test_tie_scan_finds_the_optimum_the_grid_search_steps_over():
    # a committed RegNetX model (confirmatory study, index 93) whose best wm lies in a window
    # ~0.001 wide that the coarse-grid search missed (it reported e_fit 0.0458 at wm 1.9)
    widths = [16] * 3 + [32] * 7 + [56] * 13 + [128] * 12
    better = regnet_block_widths(len(widths), 16, 2.97, 1.9355)
    fit = fit_regnet(widths)
    assert fit.e_fit <= e_fit(better, widths) + 1e-12 < 0.0458
    assert fit.wm_low <= fit.wm <= fit.wm_high and fit.wm_high - fit.wm_low < 0.002


def test_committed_fits_are_what_fit_regnet_gives():
    """results/confirmatory/fits.csv (`dse-study confirmatory tables`): every interval holds its
    fit_wm, and refitting RegNetX models from the committed export gives its rows (index 41's
    equally good w_m reach across 2.0 on both sides)."""
    from analysis.study import load_study
    from analysis.study_tables import models_frame

    root = Path(__file__).resolve().parents[1] / "results"
    fits = pd.read_csv(root / "confirmatory" / "fits.csv")
    assert (fits.fit_wm_low <= fits.fit_wm).all() and (fits.fit_wm <= fits.fit_wm_high).all()
    models = models_frame(load_study("confirmatory"), root).set_index(["design_space", "index"])
    fits = fits.set_index(["design_space", "index"])
    for key in (("regnetx", 41), ("regnetx", 93), ("anynetx_e", 24)):
        fit = fit_regnet(block_widths_of(models.loc[key, "spec"]))
        row = fits.loc[key]
        got = [fit.w0, fit.wa, fit.wm, fit.wm_low, fit.wm_high, fit.e_fit]
        want = row[["fit_w0", "fit_wa", "fit_wm", "fit_wm_low", "fit_wm_high", "e_fit"]]
        assert got == pytest.approx(list(want), rel=1e-5, abs=1e-9), key
    assert fits.loc[("regnetx", 41), "fit_wm_low"] < 2 < fits.loc[("regnetx", 41), "fit_wm_high"]


def _compose_proposed(conf_dir, name):
    """Compose the written file the way dse-train would (config group design_space), with the
    file's folder added to Hydra's search path, and build it with the sampling package."""
    sampling_config = pytest.importorskip("sampling.config")
    cfg = sampling_config.compose("space", [f"design_space={name}",
                                             f"hydra.searchpath=[file://{conf_dir}]"])
    return sampling_config.space_from_config(cfg.design_space)


def test_propose_regnet_writes_a_space_the_sampler_accepts(tmp_path):
    sweep = tmp_path / "sweep"
    synthetic_population(sweep, "anynetx_e", 120, seed=11, noise=0.5)
    df = load_sweep(sweep)
    out = tmp_path / "conf" / "design_space" / "regnet_test_proposed.yaml"
    proposed = propose_regnet(df, top=60, name="regnet_test_proposed", path=out, n=2000)
    assert proposed.path == out and out.read_text() == proposed.yaml()
    assert "- regnetx" in out.read_text() and "name: regnet_test_proposed" in out.read_text()
    d = proposed.domains
    assert d["depth"]["low"] <= proposed.intervals["depth"][1] <= d["depth"]["high"]
    assert d["w0"]["low"] % 8 == 0 and d["w0"]["high"] % 8 == 0
    assert 1.5 <= d["wm"]["low"] <= d["wm"]["high"] <= 3.0
    assert set(d["group_width"]["values"]) <= set(df.g)
    space = _compose_proposed(tmp_path / "conf", "regnet_test_proposed")
    assert space.name == "regnet_test_proposed"
    assert space.config["domains"]["depth"]["high"] == d["depth"]["high"]
