"""Group-sequential boundaries (analysis.sequential) against published tables, to the digits the
tables give (issue 24 acceptance 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from analysis.sequential import (
    SPENDING,
    Design,
    constant_bound,
    efficacy_bounds,
    parse_design,
    sequential_holm,
)


def _equal(k: int) -> list[float]:
    return [(i + 1) / k for i in range(k)]


# Jennison & Turnbull (2000), Tables 2.1 and 2.3: the constants of Pocock's (1977) and
# O'Brien & Fleming's (1979) two-sided tests at alpha 0.05, K equally spaced looks.
POCOCK_C = {2: 2.178, 3: 2.289, 4: 2.361, 5: 2.413}
OBF_C = {2: 1.977, 3: 2.004, 4: 2.024, 5: 2.040}


@pytest.mark.parametrize("k", sorted(POCOCK_C))
def test_classical_constants_match_the_published_tables(k):
    assert round(constant_bound(_equal(k), 0.05, "pocock"), 3) == POCOCK_C[k]
    assert round(constant_bound(_equal(k), 0.05, "obf"), 3) == OBF_C[k]


def test_lan_demets_two_sided_bounds_match_the_published_table():
    """DeMets & Lan (1994), five equally spaced looks, two-sided alpha 0.05 (the ld98 program's
    example): O'Brien-Fleming-like and Pocock-like spending."""
    obf = efficacy_bounds(_equal(5), 0.05, "obf", sides=2)
    assert [round(z, 3) for z in obf.z] == [4.877, 3.357, 2.680, 2.290, 2.031]
    pocock = efficacy_bounds(_equal(5), 0.05, "pocock", sides=2)
    assert [round(z, 3) for z in pocock.z] == [2.438, 2.427, 2.410, 2.397, 2.386]


def test_lan_demets_one_sided_bounds_match_gsdesign():
    """gsDesign's default one-sided design (alpha 0.025, sfLDOF, 4 equally spaced looks) prints
    the upper bounds 4.33, 2.96, 2.36, 2.01."""
    b = efficacy_bounds(_equal(4), 0.025, "obf")
    assert [round(z, 2) for z in b.z] == [4.33, 2.96, 2.36, 2.01]


def test_spent_error_is_the_spending_function_and_sums_to_alpha():
    for name in SPENDING:
        b = efficacy_bounds([0.25, 0.5, 0.75, 1.0], 0.05, name)
        assert b.spent[-1] == 0.05
        assert all(x < y for x, y in zip(b.spent, b.spent[1:], strict=False))
        # one look: the fixed design's bound
        assert efficacy_bounds([1.0], 0.05, name).z[0] == pytest.approx(norm.isf(0.05), abs=1e-8)


def test_obf_spends_less_early_and_ends_nearer_the_fixed_bound_than_pocock():
    obf = efficacy_bounds(_equal(4), 0.05, "obf")
    pocock = efficacy_bounds(_equal(4), 0.05, "pocock")
    assert obf.z[0] > pocock.z[0] and obf.z[-1] < pocock.z[-1]
    assert norm.isf(0.05) < obf.z[-1]
    assert obf.nominal_p[-1] == pytest.approx(norm.sf(obf.z[-1]))


@pytest.mark.parametrize("looks", [[0.5, 0.25, 1.0], [0.25, 0.5], [0.0, 1.0], [0.5, 0.5, 1.0],
                                   [0.5, 1.5], [], [0.5, math.nan, 1.0], ["a", 1.0]])
def test_malformed_look_schedules_are_refused_by_name(looks):
    pattern = r"^looks: .* increasing fractions in \(0, 1\] ending at 1"
    with pytest.raises(ValueError, match=pattern):
        efficacy_bounds(looks, 0.05)


def test_unknown_spending_function_and_bad_alpha_are_refused():
    with pytest.raises(ValueError, match="^spending: 'linear' is not a spending function; "
                                         "allowed: obf, pocock"):
        efficacy_bounds([0.5, 1.0], 0.05, "linear")
    with pytest.raises(ValueError, match="^alpha: 1.5 is not allowed"):
        efficacy_bounds([0.5, 1.0], 1.5)


def _simulate(drifts, reps: int, seed: int = 0, alpha: float = 0.05):
    """Canonical accumulating Z statistics (Brownian increments) of len(drifts) hypotheses
    judged by `sequential_holm`; per hypothesis, the fraction of replicates it was rejected in,
    and the fraction in which some true null was rejected."""
    design = Design((0.25, 0.5, 0.75, 1.0))
    rng = np.random.default_rng(seed)
    t = np.array(design.looks)
    step = np.diff(np.r_[0.0, t])
    drifts = np.asarray(drifts, dtype=float)
    rejected = np.zeros(len(drifts))
    any_null = 0
    for _ in range(reps):
        w = np.cumsum(rng.standard_normal((len(drifts), 4)) * np.sqrt(step)
                      + np.outer(drifts, step), axis=1)
        p = norm.sf(w / np.sqrt(t))
        rows = sequential_holm({f"h{i}": list(p[i]) for i in range(len(drifts))}, alpha, design)
        hit = {row["id"] for row in rows if row["decision"] == "rejected"}
        flags = np.array([f"h{i}" in hit for i in range(len(drifts))])
        rejected += flags
        any_null += bool(flags[drifts == 0].any())
    return rejected / reps, any_null / reps


def test_family_wise_error_is_held_under_the_global_null():
    _, fwer = _simulate([0.0, 0.0, 0.0, 0.0], reps=600)
    assert fwer <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 600)


def test_power_at_the_planned_drift_is_near_the_fixed_design():
    planned = float(norm.isf(0.05 / 4) + norm.ppf(0.8))  # the fixed design's 80 % at alpha/4
    power, _ = _simulate([planned, 0.0, 0.0, 0.0], reps=600, seed=1)
    assert power[0] >= 0.8 - 0.05 - 2 * math.sqrt(0.8 * 0.2 / 600)
    assert power[1:].max() < 0.05


def test_a_decided_hypothesis_is_decided_once_and_futility_stops_early():
    design = Design((0.25, 0.5, 0.75, 1.0))
    rows = sequential_holm({"strong": [1e-9] * 4, "wrong_way": [0.9, 0.95, 0.99, 0.99],
                            "weak": [0.2, 0.1, 0.05, 0.03]}, 0.05, design)
    by = {(r["id"], r["look"]): r["decision"] for r in rows}
    assert by[("strong", 1)] == "rejected" and ("strong", 2) not in by
    assert by[("wrong_way", 1)] == "futile" and ("wrong_way", 2) not in by
    assert [by[("weak", k)] for k in (1, 2, 3, 4)] == ["continue", "continue", "continue",
                                                        "not rejected"]


@pytest.mark.parametrize(("section", "message"), [
    ({"looks": [0.5, 0.25, 1]}, r"^sequential.looks: \[0.5, 0.25, 1.0\] is not allowed"),
    ({"looks": [0.01, 1]}, r"^sequential.looks: .* with n_per_space 96: it gives \[1, 96\]"),
    ({"spending": "linear"}, r"^sequential.spending: 'linear' is not a spending function"),
    ({"futility": "binding"}, r"^sequential.futility: 'binding' is not allowed"),
    ({"power": 1.5}, r"^sequential.power: 1.5 is not allowed"),
    ({"wave": 3}, r"^sequential.wave: is not a key"),
])
def test_malformed_sequential_sections_name_the_field(section, message):
    with pytest.raises(ValueError, match=message):
        parse_design(section, 96)


def test_a_design_places_its_looks_on_the_plan_n():
    assert parse_design({"looks": [0.25, 0.5, 0.75, 1]}, 96).sizes(96) == (24, 48, 72, 96)


@pytest.mark.slow
def test_the_committed_replay_and_simulation_regenerate_byte_for_byte():
    """``dse-study sequential check``: results/sequential/*.csv and docs/ANALYSIS.md's blocks."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    exe = Path(sys.executable).with_name("dse-study")
    out = subprocess.run([str(exe), "sequential", "check"], cwd=root, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("up to date") == 4
