"""Search efficiency ([DDS] Fig. 9 right; analysis.search_efficiency, ``dse-study search``): P_k
is the exact chance that k random models contain a good one, its bootstrap interval holds the
estimate, the verdict rule reads the interval against the threshold, the study step writes and
checks its two CSVs, and bad config values are one line."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import search_tables, study_cli
from analysis.instrument import seed_noise, seed_pairs
from analysis.search_efficiency import (
    good_count,
    likely_verdict,
    p_good,
    p_good_table,
    parse_search,
    search_rows,
    smallest_k,
)
from analysis.study import load_study

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def test_p_k_is_the_brute_force_chance_over_every_draw():
    """Every k-subset of 7 models, 2 of them good: the share of subsets holding one."""
    good = [True, False, True, False, False, False, False]
    for k in range(1, 8):
        draws = list(itertools.combinations(good, k))
        share = sum(any(d) for d in draws) / len(draws)
        assert p_good(7, 2, k) == pytest.approx(share, abs=1e-15)
    assert p_good(7, 2, 1) == pytest.approx(2 / 7)
    assert p_good(7, 2, 6) == 1.0  # 6 draws leave out at most 1 of the 2 good ones


def test_p_k_grows_with_k_and_is_one_with_every_model():
    table = p_good_table(96, range(1, 97))
    assert np.all(table[0] == 0)  # no good model: never found
    assert np.all(np.diff(table[1:], axis=1) >= 0)  # more draws never hurt
    assert np.all(np.diff(table[:, 31]) >= 0)  # nor more good models
    assert np.all(table[1:, -1] == 1.0)  # all n models hold the good ones
    # drawn one by one: 32 draws all among the 80 not good
    assert table[16, 31] == pytest.approx(1 - np.prod([(80 - i) / (96 - i) for i in range(32)]),
                                          rel=1e-12)


def test_good_counts_ties_at_best_plus_delta_and_never_a_missing_error():
    errors = np.array([3.88, 4.28, 4.28, 4.32, np.nan])
    # the median of two-decimal differences lands just under 0.40 in floating point
    assert good_count(errors, 0.39999999999999947) == 3
    assert good_count(errors, 0.0) == 1
    assert good_count(errors, 10.0) == 4  # the missing error is not good
    both = np.array([[1.0, 2.0, 3.0], [5.0, 5.5, 9.0]])
    assert list(good_count(both, 1.0)) == [2, 2]


def test_the_bootstrap_interval_holds_the_estimate_at_every_k():
    errors = np.array([4.0, 4.1, 4.3, 4.8, 5.0, 5.2, 5.6, 6.0, 6.4, 7.0, 7.5, 9.0])
    rows = search_rows("s", "noise", errors, 0.4, k_max=64, n_boot=2000, seed=0, ci=95)
    assert [r.k for r in rows] == list(range(1, 13))  # k stops at n
    assert {r.g for r in rows} == {3}
    for r in rows:
        assert r.p_k == pytest.approx(p_good(12, 3, r.k))
        assert r.low <= r.p_k <= r.high
    assert (rows[-1].p_k, rows[-1].low, rows[-1].high) == (1.0, 1.0, 1.0)
    again = search_rows("s", "noise", errors, 0.4, k_max=64, n_boot=2000, seed=0, ci=95)
    assert again == rows  # seeded
    assert rows[0].high - rows[0].low > 0.1  # 12 models say little about P_1


@pytest.mark.parametrize("low, high, verdict", [
    (0.6, 0.99, "supported"), (0.5, 0.7, "supported"), (0.1, 0.49, "contradicted"),
    (0.3, 0.5, "not resolved"), (0.49, 0.9, "not resolved")])
def test_the_verdict_reads_the_interval_against_the_threshold(low, high, verdict):
    assert likely_verdict(low, high, 0.5) == verdict


def test_smallest_k_reaching_a_level():
    assert smallest_k([1, 2, 3, 4], [0.2, 0.5, 0.9, 0.95], 0.9) == 3
    assert smallest_k([1, 2], [0.2, 0.5], 0.9) is None


def test_seed_noise_is_the_median_absolute_difference_of_ok_models():
    rows = []
    for i, (e0, e1, status) in enumerate([(4.0, 4.4, "ok"), (5.0, 4.0, "ok"),
                                          (6.0, 6.2, "ok"), (3.0, 9.0, "failed")]):
        for seed, e in ((0, e0), (1, e1)):
            rows.append({"regime_name": "proxy", "train_seed": seed, "design_space": "regnetx",
                         "index": i, "status": status if seed else "ok", "error": e})
    pairs = seed_pairs(pd.DataFrame(rows), "proxy")
    assert len(pairs) == 3
    assert seed_noise(pairs) == pytest.approx(0.4)


def _results(tmp_path: Path) -> Path:
    """A results folder: 40 models of RegNetX and AnyNetX_A (the committed export's specs, new
    errors) and a two-seed proxy run table with one RegNetX model's noise 0.5."""
    results = tmp_path / "results"
    (results / "instrument").mkdir(parents=True)
    models = pd.read_csv(RESULTS / "confirmatory.csv")
    parts = []
    for space, errors in (("regnetx", 4.0 + 0.1 * np.arange(40)),
                          ("anynetx_a", 4.0 + 0.5 * np.arange(40))):
        part = models[models["design_space"] == space].head(40).copy()
        part["error"] = np.round(errors, 2)
        parts.append(part)
    pd.concat(parts).to_csv(results / "confirmatory.csv", index=False)
    runs = [{"regime_name": "proxy", "train_seed": s, "design_space": "regnetx", "index": i,
             "status": "ok", "error": 5.0 + s * d} for i, d in enumerate([0.4, 0.5, 0.6])
            for s in (0, 1)]
    pd.DataFrame(runs).to_csv(results / "instrument" / "small_geometry.csv", index=False)
    pd.DataFrame(columns=list(runs[0])).to_csv(results / "instrument" / "screen.csv",
                                               index=False)  # no proxy runs, as committed
    return results


def test_the_study_step_writes_and_checks_its_csvs(tmp_path, capsys):
    results = _results(tmp_path)
    argv = ["search", "search", "search.n_boot=500", "--results", str(results)]
    assert study_cli.run(argv) == 0
    table = pd.read_csv(results / "paper" / "search_efficiency.csv")
    assert list(table.columns) == ["space", "delta_name", "delta", "n", "g", "k", "p_k", "low",
                                   "high"]
    assert len(table) == 2 * 2 * 40  # spaces x deltas x k = 1..n
    g = table.groupby(["space", "delta_name"])["g"].first().to_dict()
    # delta 0.5: RegNetX 4.0..4.5 (6 models), AnyNetX_A 4.0, 4.5 (2); delta 1: 11 and 3
    assert g == {("regnetx", "noise"): 6, ("regnetx", "one_point"): 11,
                 ("anynetx_a", "noise"): 2, ("anynetx_a", "one_point"): 3}
    assert set(table["delta"]) == {0.5, 1.0}
    verdict = pd.read_csv(results / "paper" / "search_verdicts.csv").iloc[0]
    assert (verdict["id"], verdict["space"], verdict["delta_name"], verdict["k"]) == (
        "k32_suffices", "regnetx", "noise", 32)
    assert verdict["estimate"] == pytest.approx(p_good(40, 6, 32), rel=1e-5)
    assert verdict["verdict"] == likely_verdict(verdict["low"], verdict["high"], 0.5)
    assert study_cli.run([*argv, "--check"]) == 0
    block = search_tables.efficiency_block(search_tables.load(results))
    assert "| RegNetX | 0.50 (noise) | 40 | 6 |" in block
    assert f"**{verdict['verdict']}** (`k32_suffices`)" in block
    (results / "paper" / "search_verdicts.csv").write_text("id\n")
    assert study_cli.run([*argv, "--check"]) == 1
    assert "search_verdicts.csv: out of date" in capsys.readouterr().err


def test_the_committed_csvs_are_the_step_on_the_committed_study():
    files = study_cli.outputs(load_study("search"), "search", RESULTS)
    assert {p.name for p in files} == {"search_efficiency.csv", "search_verdicts.csv"}
    for path, text in files.items():
        assert path.read_bytes() == text.encode(), path


@pytest.mark.parametrize("override, names", [
    ("search.claim.k=100", ["search.claim.k", "100", "[1, 64]"]),
    ("search.deltas.noise=nois", ["search.deltas.noise", "'nois'", "'noise'"]),
    ("search.spaces=[regnetx,nope]", ["search.spaces[1]", "'nope'"]),
    ("search.claim.likely=2", ["search.claim.likely", "2"]),
    ("search.claim.delta=half", ["search.claim.delta", "'half'", "noise, one_point"]),
    ("search.bogus=1", ["search.bogus"]),
    ("search.noise.regime=nope", ["search.noise.regime", "'nope'", "proxy"]),
])
def test_bad_config_values_are_one_line(override, names, tmp_path, capsys, monkeypatch):
    results = _results(tmp_path)
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        study_cli.main(["search", "search", override, "--results", str(results)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dse-study: error: "), err
    for name in names:
        assert name in err, (name, err)


def test_a_missing_export_or_a_claim_beyond_the_population_is_one_line(tmp_path):
    results = _results(tmp_path)
    shutil.rmtree(results / "instrument")
    with pytest.raises(ValueError, match="small_geometry.csv"):
        study_cli.run(["search", "search", "--results", str(results)])
    with pytest.raises(ValueError, match=r"search.claim.k: 50 is more than"):
        study_cli.run(["search", "search", "search.claim.k=50", "search.n_boot=100",
                       "--results", str(_results(tmp_path / "b"))])
    with pytest.raises(ValueError, match="search.spaces"):
        parse_search({"spaces": []}, ["regnetx"])
