"""Known answers for analysis.fidelity on synthetic sweeps (analysis.testing, no training)."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis import load_sweep
from analysis.fidelity import fidelity, fidelity_by_space, mean_over_seeds
from analysis.fidelity_cli import main
from analysis.testing import random_anynet_spec, write_sweep


def _specs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [random_anynet_spec(rng) for _ in range(n)]


def test_identical_errors_give_rho_one_and_exact_trained_fraction(tmp_path):
    specs = _specs(20)
    errors = [10.0 + i for i in range(16)] + [80.0, 85.0, 88.0, 90.0]  # 4 above 45 = chance/2
    write_sweep(tmp_path / "a", "anynetx_a", specs, errors)
    write_sweep(tmp_path / "b", "anynetx_a", specs, errors, seed=1)
    f = fidelity(load_sweep(tmp_path / "a"), load_sweep(tmp_path / "b"), n_boot=200)
    assert f.n == 20
    assert f.spearman.value == pytest.approx(1.0)
    assert f.spearman.low == pytest.approx(1.0) and f.spearman.high == pytest.approx(1.0)
    assert f.trained_ref.value == pytest.approx(16 / 20)
    assert f.trained_other.value == pytest.approx(16 / 20)
    assert f.trained_ref.low <= 0.8 <= f.trained_ref.high


def test_reversed_order_gives_rho_minus_one_and_unpaired_models_are_dropped(tmp_path):
    specs = _specs(12)
    errors = [5.0 + i for i in range(12)]
    write_sweep(tmp_path / "a", "anynetx_a", specs, errors)
    write_sweep(tmp_path / "b", "anynetx_a", specs[:10], errors[:10][::-1])
    f = fidelity(load_sweep(tmp_path / "a"), load_sweep(tmp_path / "b"), n_boot=200)
    assert f.n == 10
    assert f.spearman.value == pytest.approx(-1.0)
    assert f.trained_ref.value == 1.0


def test_diverged_model_counts_as_not_trained(tmp_path, capsys):
    specs = _specs(6)
    errors = [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    write_sweep(tmp_path / "a", "anynetx_a", specs, errors)
    paths = write_sweep(tmp_path / "b", "anynetx_a", specs, errors)
    record = json.loads(paths[5].read_text())
    record.update(status="diverged", error=None)
    paths[5].write_text(json.dumps(record))
    f = fidelity(load_sweep(tmp_path / "a"), load_sweep(tmp_path / "b"), n_boot=100)
    assert f.n == 6
    assert f.trained_ref.value == 1.0
    assert f.trained_other.value == pytest.approx(5 / 6)
    assert f.spearman.value == pytest.approx(1.0)


def test_mean_over_seeds_averages_errors_and_needs_every_seed(tmp_path, capsys):
    specs = _specs(5)
    write_sweep(tmp_path / "s0", "anynetx_a", specs, [10.0, 20.0, 30.0, 40.0, 50.0])
    paths = write_sweep(tmp_path / "s1", "anynetx_a", specs, [14.0, 18.0, 36.0, 40.0, 60.0],
                        seed=1)
    record = json.loads(paths[4].read_text())
    record.update(status="diverged", error=None)
    paths[4].write_text(json.dumps(record))
    runs = [load_sweep(tmp_path / "s0"), load_sweep(tmp_path / "s1")]
    m = mean_over_seeds(runs).sort_values("index")
    assert m["error"].tolist()[:4] == [12.0, 19.0, 33.0, 40.0]
    assert np.isnan(m["error"].iloc[4]) and m["status"].tolist() == ["ok"] * 4 + ["diverged"]
    # averaged runs compare like any other: the same ranking gives rho 1 over finished models
    f = fidelity(m, runs[0], n_boot=50)
    assert f.spearman.value == pytest.approx(1.0) and f.trained_ref.value == pytest.approx(0.8)
    with pytest.raises(ValueError, match="at least one"):
        mean_over_seeds([])


def test_spearman_interval_is_scipys_paired_percentile_bootstrap():
    """The vectorized rank correlation equals scipy's spearmanr (ties included), and the
    interval is `scipy.stats.bootstrap(paired=True, method="percentile")` of spearmanr."""
    from scipy import stats

    from analysis.fidelity import _bootstrap, spearman_rho

    rng = np.random.default_rng(3)
    a = rng.integers(0, 8, (5, 30)).astype(float)  # many ties
    b = a + rng.normal(0, 2, (5, 30))
    for x, y in zip(a, b, strict=True):
        assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert np.allclose(spearman_rho(a, b), [stats.spearmanr(x, y).statistic
                                         for x, y in zip(a, b, strict=True)])
    ref = stats.bootstrap((a[0], b[0]), lambda x, y: stats.spearmanr(x, y).statistic,
                          paired=True, vectorized=False, n_resamples=300, method="percentile",
                          rng=np.random.default_rng(9)).confidence_interval
    assert np.allclose(_bootstrap((a[0], b[0]), spearman_rho, 300, 9, 95), ref)


def test_fidelity_in_every_space_and_verdict_fidelity(tmp_path, capsys):
    """Two spaces of 8 models; C is better than A by 10 points under every run; the proxy seeds
    and the reference rank models alike within A but reverse them within C."""
    specs = _specs(8)
    base = np.arange(8, dtype=float)
    for name, shift in {"p0": 0.0, "p1": 0.5, "r0": 0.0, "r1": 1.0}.items():
        reverse = name.startswith("r")
        write_sweep(tmp_path / name, "anynetx_a", specs, list(30 + base + shift),
                    seed=int(name[1]))
        c = (20 + (7 - base) + shift) if reverse else (20 + base + shift)
        write_sweep(tmp_path / name, "anynetx_c", specs, list(c),
                    seed=int(name[1]))
    proxy = [load_sweep(tmp_path / "p0"), load_sweep(tmp_path / "p1")]
    ref = [load_sweep(tmp_path / "r0"), load_sweep(tmp_path / "r1")]
    spaces, pairs = fidelity_by_space(proxy, ref, ["anynetx_a", "anynetx_c"], n_boot=200)
    a = spaces.set_index("design_space")
    assert a.loc["anynetx_a", "rho_ref_s0"] == pytest.approx(1.0)
    assert a.loc["anynetx_c", "rho_ref_s0"] == pytest.approx(-1.0)
    assert a.loc["anynetx_c", "rho_seeds"] == pytest.approx(1.0)
    assert a.loc["anynetx_c", "rho_ref_seeds"] == pytest.approx(1.0)
    # the reference's own reproducibility: runs that reverse each other within C give -1
    write_sweep(tmp_path / "r2", "anynetx_a", specs, list(30 + 2 * base), seed=1)
    write_sweep(tmp_path / "r2", "anynetx_c", specs, list(20 + 2 * base), seed=1)
    odd = fidelity_by_space(proxy, [ref[0], load_sweep(tmp_path / "r2")], n_boot=50)[0]
    odd = odd.set_index("design_space")
    assert odd.loc["anynetx_c", "rho_ref_seeds"] == pytest.approx(-1.0)
    assert odd.loc["anynetx_a", "rho_ref_seeds"] == pytest.approx(1.0)
    assert "rho_ref_seeds" not in fidelity_by_space(proxy, ref[:1], n_boot=50)[0]
    assert a.loc["anynetx_a", "n"] == 8 and a.loc["pooled", "n"] == 16
    assert a.loc["anynetx_a", "trained_s0"] == 1.0 and a.loc["pooled", "trained_ref"] == 1.0
    (pair,) = pairs.to_dict("records")
    assert pair["diff_ref"] == pytest.approx(-10.0) and pair["diff_proxy"] == pytest.approx(-10.0)
    assert pair["resolved"] and pair["same_sign"]
    out = tmp_path / "out"
    main([f"proxy=[{tmp_path / 'p0'},{tmp_path / 'p1'}]",
          f"reference=[{tmp_path / 'r0'},{tmp_path / 'r1'}]", "order=[anynetx_a,anynetx_c]",
          "n_boot=100", f"out={out}"])
    printed = capsys.readouterr().out
    assert "rho_ref_s0" in printed and "same_sign" in printed
    assert (out / "fidelity_spaces.csv").read_text().startswith("design_space,")
    with pytest.raises(SystemExit) as err:
        main([f"proxy=[{tmp_path / 'p0'}]", "reference=[/nowhere]"])
    assert err.value.code == 2
    assert capsys.readouterr().err.strip() == ("dse-fidelity: error: reference: '/nowhere' is "
                                               "not a folder; give sweep folders")


def test_one_folder_holding_both_seeds_gives_the_same_tables(tmp_path, capsys):
    """``train.seed=0,1`` into one sweep.dir: dse-fidelity splits the runs by training seed and
    prints exactly what it prints for one folder per seed."""
    specs = _specs(10)
    rng = np.random.default_rng(3)
    for name in ("p0", "p1", "r0", "r1"):
        errors = list(10 + np.arange(10) + rng.normal(0, 2, 10))
        for folder in (tmp_path / name, tmp_path / name[0]):  # per seed, and both in one
            write_sweep(folder, "anynetx_a", specs, errors, seed=int(name[1]))
    main([f"proxy=[{tmp_path / 'p0'},{tmp_path / 'p1'}]",
          f"reference=[{tmp_path / 'r0'},{tmp_path / 'r1'}]", "n_boot=100"])
    per_seed = capsys.readouterr().out
    main([f"proxy={tmp_path / 'p'}", f"reference={tmp_path / 'r'}", "n_boot=100"])
    one_folder = capsys.readouterr().out
    assert one_folder == per_seed and "rho_seeds" in per_seed
    with pytest.raises(SystemExit) as err:  # the same seed's runs given twice
        main([f"proxy=[{tmp_path / 'p'},{tmp_path / 'p0'}]", f"reference={tmp_path / 'r'}"])
    assert err.value.code == 2
    assert "seed 0 appears twice" in capsys.readouterr().err


def test_targets_are_judged_from_the_tables_and_wait_for_enough_models(tmp_path, capsys):
    """Within AnyNetX_C the reference reverses the proxy's order: ρ(proxy, reference) = −1
    there, every model trains, the proxy seeds agree (ρ = 1) and C − A has the same sign."""
    from analysis.fidelity import Targets, check_targets

    specs = _specs(8)
    base = np.arange(8, dtype=float)
    for name, shift in {"p0": 0.0, "p1": 0.5, "r0": 0.0, "r1": 1.0}.items():
        write_sweep(tmp_path / name, "anynetx_a", specs, list(30 + base + shift),
                    seed=int(name[1]))
        c = (20 + (7 - base) + shift) if name.startswith("r") else (20 + base + shift)
        write_sweep(tmp_path / name, "anynetx_c", specs, list(c), seed=int(name[1]))
    proxy = [load_sweep(tmp_path / "p0"), load_sweep(tmp_path / "p1")]
    ref = [load_sweep(tmp_path / "r0"), load_sweep(tmp_path / "r1")]
    spaces, pairs = fidelity_by_space(proxy, ref, ["anynetx_a", "anynetx_c"], n_boot=200)
    seconds = pd.Series({"anynetx_a": 12.0, "anynetx_c": 25.0})
    t = check_targets(spaces, pairs, seconds, Targets(min_models=8)).set_index("criterion")
    rho = t.loc["single-run rho(proxy, reference), each proxy seed"]
    assert rho["worst_space"] == "anynetx_c" and rho["worst"] == pytest.approx(-1.0)
    assert rho["holds"] is not None and not bool(rho["holds"])
    # the reference's own seed-to-seed rho is not a proxy seed's (a value no rho can take)
    odd = check_targets(spaces.assign(rho_ref_seeds=-2.0), pairs, seconds, Targets(min_models=8))
    assert odd.set_index("criterion").loc[rho.name, "worst"] == pytest.approx(-1.0)
    assert bool(t.loc["trained fraction, each proxy seed", "holds"])
    assert bool(t.loc["rho(proxy seed 0, proxy seed 1)", "holds"])
    sec = t.loc["median seconds per model"]
    assert sec["worst_space"] == "anynetx_c" and not bool(sec["holds"])
    assert sec["missed_by"] == pytest.approx(5.0) and rho["missed_by"] == pytest.approx(1.75)
    assert np.isnan(t.loc["trained fraction, each proxy seed", "missed_by"])  # it holds
    assert bool(t.iloc[-1]["holds"]) and t.iloc[-1]["worst"] == 0  # the pair agrees
    # Fewer than min_models per space: the reference criteria wait, the others do not.
    waiting = check_targets(spaces, pairs, None, Targets()).set_index("criterion")
    assert waiting.loc["single-run rho(proxy, reference), each proxy seed", "holds"] is None
    assert waiting.iloc[-1]["holds"] is None
    assert bool(waiting.loc["rho(proxy seed 0, proxy seed 1)", "holds"])
    assert waiting.loc["median seconds per model", "holds"] is None  # no timing given
    # The command prints the targets; a bad target is one line.
    main([f"proxy=[{tmp_path / 'p0'},{tmp_path / 'p1'}]",
          f"reference=[{tmp_path / 'r0'},{tmp_path / 'r1'}]", "n_boot=50",
          "targets.min_models=8"])
    assert "single-run rho(proxy, reference)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as err:
        main([f"proxy={tmp_path / 'p0'}", f"reference={tmp_path / 'r0'}", "+targets.speed=1"])
    assert err.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "dse-fidelity: error: targets: unknown key(s) ['speed']; allowed: ['trained', "
        "'rho_ref', 'rho_seeds', 'seconds', 'min_models']")
