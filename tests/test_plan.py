"""Plans and verdicts: the refinement plan loads, bad plans fail in one line, and verdicts
match the truth on synthetic sweeps (real records, chosen errors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import holm, load_plan, load_sweep, parse_plan, verdicts
from analysis.pairs import pair_table
from analysis.plan import KINDS, PLAN_KINDS, VERDICTS, Plan, find_plan
from analysis.shift_tests import SHIFT_TESTS
from analysis.testing import random_anynet_spec, synthetic_population, write_sweep
from anynet import regnet_spec

ROOT = Path(__file__).resolve().parents[1]
REFINEMENT = ROOT / "conf" / "plan" / "refinement.yaml"


def _h(hid: str, kind: str, **kw) -> dict:
    return {"id": hid, "text": f"claim {hid}", "kind": kind, **kw}


def test_refinement_plan_loads_and_names_real_spaces():
    plan = load_plan(REFINEMENT)
    assert isinstance(plan, Plan) and plan.alpha == 0.05 and plan.correction == "holm"
    assert plan.n_per_space == 96 and plan.metric == "all"
    ids = [h.id for h in plan.hypotheses]
    assert ids == ["A_eq_B", "B_eq_C", "D_better_C", "E_better_D", "RegNetX_better_E",
                   "RegNetX_best_as_good_E", "b1_best", "g_gt1_best", "wm_2p5", "depth_20"]
    kinds = {h.id: h.kind for h in plan.hypotheses}
    assert kinds["A_eq_B"] == kinds["B_eq_C"] == "equivalent"
    assert kinds["wm_2p5"] == kinds["depth_20"] == "best_value"
    by_id = {h.id: h.params for h in plan.hypotheses}
    assert by_id["A_eq_B"]["margin"] == 0.1 and by_id["depth_20"]["range"] == (15.0, 25.0)
    assert by_id["wm_2p5"]["range"] == (2.0, 3.0)
    assert str(by_id["g_gt1_best"]["a"]) == "regnetx[g > 1]"
    spaces = {p.stem for p in (ROOT / "conf" / "design_space").glob("*.yaml")}
    named = set()
    for p in by_id.values():
        named |= {str(p[k].space) for k in ("a", "b") if k in p}
        named |= set(p.get("spaces", ())) | ({p["space"]} if "space" in p else set())
    assert named <= spaces


@pytest.mark.parametrize("change, message", [
    ({"alhpa": 0.05}, "plan: unknown key 'alhpa'; allowed: name, description, alpha"),
    ({"alpha": 1.5}, r"plan: alpha: 1.5 is not allowed; use a level in \(0, 0.5\]"),
    ({"correction": "bonferroni"}, "plan: correction: 'bonferroni' is not allowed; use one "
                                   "of holm, none"),
    ({"metric": "best"}, "plan: metric: 'best' is not allowed"),
    ({"n_per_space": 1}, "plan: n_per_space: 1 is not allowed; use an integer >= 2 or null"),
    ({"hypotheses": []}, "plan: hypotheses: .* use a non-empty list"),
])
def test_bad_plan_fields(change, message):
    data = {"hypotheses": [_h("x", "better", a="s1", b="s2")], **change}
    with pytest.raises(ValueError, match=message) as exc:
        parse_plan(data)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("hyp, message", [
    (_h("x", "bigger", a="s1", b="s2"), r"hypotheses\[0\]\.kind: 'bigger' is not allowed; "
                                        "use one of better, equivalent"),
    ({"id": "x", "text": "t", "a": "s1"}, r"hypotheses\[0\]: missing key 'kind'"),
    (_h("x", "better", a="s1", b="s2", marign=0.1), r"hypotheses\[0\]: unknown key 'marign'"),
    (_h("x", "equivalent", a="s1", b="s2", margin=-0.1),
     r"hypotheses\[0\]\.margin: -0.1 is not allowed; use a relative margin in \(0, 1\)"),
    (_h("x", "equivalent", a="s1", b="s2", margin=1.5),
     r"hypotheses\[0\]\.margin: 1.5 is not allowed"),
    (_h("x", "equivalent", a="s1", b="s2"), r"hypotheses\[0\]: missing key 'margin'"),
    (_h("x", "equivalent", a="s1", b="s2", margin=2, method="welch", extra=1),
     "unknown key 'extra'"),
    (_h("x", "better", a="s1", b="s2", test="t"), r"\.test: 't' is not allowed"),
    (_h("x", "better", a={"space": "s1", "where": "g >> 1"}, b="s2"),
     r"hypotheses\[0\]\.a\.where: 'g >> 1' is not allowed"),
    (_h("x", "better", a={"spaces": "s1"}, b="s2"), r"hypotheses\[0\]\.a: unknown key"),
    (_h("x", "trend", parameter="b", sign="up"), r"\.sign: 'up' is not allowed"),
    (_h("x", "trend", parameter="b", sign="positive", spaces=3), r"\.spaces: 3 is not"),
    (_h("x", "best_value", space="s", parameter="depth", range=[25, 15]),
     r"\.range: \[25, 15\] is not allowed; use \[low, high\] with low < high"),
    (_h("x", "best_as_good", a="s1", b="s2", margin=0.1, quantile=0.9), r"\.quantile: 0.9"),
    (_h("x", "better", a="s1", b="s2", metric="some"), r"\.metric: 'some' is not allowed"),
])
def test_bad_hypotheses(hyp, message):
    with pytest.raises(ValueError, match=message) as exc:
        parse_plan({"hypotheses": [hyp]})
    assert "\n" not in str(exc.value)


def test_duplicate_ids_and_unreadable_files(tmp_path):
    with pytest.raises(ValueError, match=r"hypotheses\[1\]\.id: 'x' is not allowed"):
        parse_plan({"hypotheses": [_h("x", "better", a="a", b="b"),
                                   _h("x", "better", a="b", b="a")]})
    bad = tmp_path / "bad.yaml"
    bad.write_text("alpha: [0.05\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        load_plan(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_plan(tmp_path / "missing.yaml")
    bad.write_text("alpha: 0.05\nhypotheses:\n  - {id: x, text: t, kind: better, a: s}\n")
    with pytest.raises(ValueError, match=rf"{bad}: hypotheses\[0\]: missing key 'b'"):
        load_plan(bad)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """good and same: two draws of one population (300 each); bad: 3 error points worse;
    tiny_a, tiny_b: 5 models each of one population."""
    d = tmp_path_factory.mktemp("sweep")
    synthetic_population(d, "good", 300, seed=1, noise=0.5)
    synthetic_population(d, "same", 300, seed=2, noise=0.5)
    synthetic_population(d, "bad", 300, seed=3, shift=3.0, noise=0.5)
    synthetic_population(d, "tiny_a", 5, seed=4, noise=0.5)
    synthetic_population(d, "tiny_b", 5, seed=5, shift=0.5, noise=0.5)
    return load_sweep(d)


def test_find_plan_by_name_user_folder_or_path(tmp_path, monkeypatch):
    """A name is conf/plan/<name>.yaml, a $ANYNET_DSE_CONF folder's plan/ first; else a path."""
    import conf

    assert find_plan("refinement") == conf.path() / "plan" / "refinement.yaml"
    mine = tmp_path / "user" / "plan" / "refinement.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("name: mine\n")
    monkeypatch.setenv("ANYNET_DSE_CONF", str(tmp_path / "user"))
    assert find_plan("refinement") == mine.resolve()
    assert find_plan(str(mine)) == mine
    for bad in ("nonesuch", str(tmp_path / "user"), "", 3):
        with pytest.raises(ValueError, match=r"^plan: .* is (neither|not allowed)") as err:
            find_plan(bad)
        assert "\n" not in str(err.value)


def test_verdicts_recover_the_truth(sweep):
    plan = {"alpha": 0.05, "n_boot": 4000, "hypotheses": [
        _h("shift", "better", a="good", b="bad"),
        _h("reversed", "better", a="bad", b="good"),
        _h("ks", "better", a="good", b="bad", test="ks"),
        _h("identical", "equivalent", a="good", b="same", margin=0.05),
        _h("beyond", "equivalent", a="good", b="bad", margin=0.03),
        _h("best_same", "best_as_good", a="good", b="same", margin=0.05),
        _h("best_worse", "best_as_good", a="bad", b="good", margin=0.03),
        _h("depth_20", "best_value", space="good", parameter="depth", range=[12, 30]),
        _h("depth_50", "best_value", space="good", parameter="depth", range=[40, 64]),
        _h("tiny_better", "better", a="tiny_a", b="tiny_b"),
        _h("tiny_equal", "equivalent", a="tiny_a", b="tiny_b", margin=0.05),
    ]}
    v = verdicts(sweep, plan).set_index("id")
    assert v["verdict"].to_dict() == {
        "shift": "supported", "reversed": "contradicted", "ks": "supported",
        "identical": "equivalent", "beyond": "contradicted", "best_same": "supported",
        "best_worse": "contradicted", "depth_20": "supported", "depth_50": "contradicted",
        "tiny_better": "not resolved", "tiny_equal": "not resolved"}
    assert set(v["verdict"]) <= set(VERDICTS)
    # the estimate: bad's median error is 3 points (about 8 %) above good's
    good = sweep.loc[sweep["design_space"] == "good", "error"]
    bad = sweep.loc[sweep["design_space"] == "bad", "error"]
    assert v.loc["shift", "estimate"] == pytest.approx(good.median() / bad.median() - 1)
    assert v.loc["shift", "low"] < v.loc["shift", "estimate"] < v.loc["shift", "high"] < 0
    assert (v.loc["shift", "n_a"], v.loc["shift", "n_b"]) == (300, 300)
    assert v.loc["depth_20", "low"] >= 12 and v.loc["depth_20", "high"] <= 30
    # Holm over the one family, on both the claims' and the opposite p-values
    assert np.allclose(v["p_corrected"], holm(v["p"]))
    assert np.allclose(v["p_contra_corrected"], holm(v["p_contra"]))


def test_better_reports_its_tests_effect_from_the_one_engine(sweep):
    """A `better` verdict's estimate and interval are its registered test's effect: for mwu
    and ks the relative median difference of the pair table (same draws, same seed), for
    welch the mean difference with Welch's interval."""
    hyps = [_h(t, "better", a="good", b="bad", test=t) for t in SHIFT_TESTS]
    v = verdicts(sweep, {"n_boot": 700, "seed": 3, "ci": 90, "hypotheses": hyps}).set_index("id")
    row = pair_table(sweep, ["good", "bad"], n_boot=700, ci=90, seed=3).iloc[0]
    for t in ("mwu", "ks"):
        assert v.loc[t, "estimand"] == "median(a)/median(b) - 1"
        assert (v.loc[t, "estimate"], v.loc[t, "low"], v.loc[t, "high"]) == (
            row.relative_median_diff, row.relative_median_diff_low,
            row.relative_median_diff_high)
    good = sweep.loc[sweep["design_space"] == "good", "error"].to_numpy(float)
    bad = sweep.loc[sweep["design_space"] == "bad", "error"].to_numpy(float)
    assert v.loc["welch", "estimand"] == "mean(a) - mean(b)"
    assert v.loc["welch", "estimate"] == pytest.approx(row.mean_diff)
    welch = stats.ttest_ind(good, bad, equal_var=False)
    assert v.loc["welch", "p"] == pytest.approx(welch.pvalue / 2)  # one-sided, a lower
    assert (v.loc["welch", "low"], v.loc["welch", "high"]) == tuple(
        welch.confidence_interval(0.9))


def test_plan_kinds_are_one_registry():
    """Parsing, validation and verdicts read `PLAN_KINDS`: its names are the kinds, its keys a
    kind's keys (required ones named when missing), and each kind has its row in the docs."""
    assert KINDS == tuple(PLAN_KINDS) == ("better", "equivalent", "best_as_good", "trend",
                                          "best_value", "best_shift", "best_exponent",
                                          "adjusted")
    docs = (ROOT / "docs" / "ANALYSIS.md").read_text()
    for name, kind in PLAN_KINDS.items():
        assert kind.name == name and f"| `{name}` |" in docs, name
        required = [k for k, v in kind.keys.items() if v is None]
        with pytest.raises(ValueError, match=rf"missing key '{required[0]}' \(kind {name} "
                                             rf"needs {', '.join(required)}\)"):
            parse_plan({"hypotheses": [_h("x", name)]})
    with pytest.raises(TypeError):
        PLAN_KINDS["better"].keys["test"] = "ks"  # type: ignore[index]


def test_families_and_no_correction(sweep):
    hyps = [_h("a", "better", a="tiny_a", b="tiny_b"),
            _h("b", "better", a="good", b="same"),
            _h("c", "better", a="good", b="bad", family="secondary")]
    v = verdicts(sweep, {"n_boot": 500, "hypotheses": hyps}).set_index("id")
    assert np.allclose(v.loc[["a", "b"], "p_corrected"], holm(v.loc[["a", "b"], "p"]))
    assert v.loc["c", "p_corrected"] == v.loc["c", "p"]  # a family of one
    raw = verdicts(sweep, {"n_boot": 500, "correction": "none", "hypotheses": hyps})
    assert (raw["p_corrected"] == raw["p"]).all()


def test_verdicts_take_a_path_a_plan_or_a_mapping(sweep, tmp_path):
    text = ("n_boot: 500\nhypotheses:\n"
            "  - {id: s, text: t, kind: better, a: good, b: bad}\n")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    a = verdicts(sweep, path)
    b = verdicts(sweep, str(path))
    c = verdicts(sweep, load_plan(path))
    assert a.equals(b) and a.equals(c) and a["verdict"].tolist() == ["supported"]


def test_missing_space_names_the_hypothesis(sweep):
    plan = {"hypotheses": [_h("lost", "better", a="good", b="regnetx")]}
    with pytest.raises(ValueError, match=r"hypothesis 'lost': regnetx: 0 usable models"):
        verdicts(sweep, plan)


def test_trend_where_and_trained_core(tmp_path):
    """Errors rise with b (+2 points per doubling) in two spaces with a 5-point shift; g = 1
    models are 3 points worse. 'flaky' trains like 'solid' but 30 % of its models stay near
    chance (85 %): worse on all models, equivalent on the trained core."""
    rng = np.random.default_rng(6)
    for k, space in enumerate(("s1", "s2")):
        specs = [random_anynet_spec(rng) for _ in range(150)]
        noise = rng.normal(0, 1, 150)
        write_sweep(tmp_path, space, specs,
                    lambda s, i, k=k, noise=noise: 20 + 5 * k + 2 * np.log2(s.bottleneck_ratios[0])
                    + 3 * (s.group_widths[0] == 1) + noise[i])
    solid = 10 + rng.gamma(2, 2, 200)
    flaky = np.concatenate([10 + rng.gamma(2, 2, 200), np.full(90, 85.0)])
    write_sweep(tmp_path, "solid", [random_anynet_spec(rng) for _ in range(200)], solid)
    write_sweep(tmp_path, "flaky", [random_anynet_spec(rng) for _ in range(290)], flaky)
    df = load_sweep(tmp_path)
    plan = {"n_boot": 4000, "hypotheses": [
        _h("b_up", "trend", parameter="b", sign="positive", spaces=["s1", "s2"]),
        _h("b_down", "trend", parameter="b", sign="negative"),
        _h("g_gt1", "better", a={"space": "s1", "where": "g > 1"},
           b={"space": "s1", "where": "g == 1"}),
        _h("solid_all", "better", a="solid", b="flaky"),
        _h("solid_core", "equivalent", a="solid", b="flaky", margin=0.1, metric="trained"),
    ]}
    v = verdicts(df, plan).set_index("id")
    assert v["verdict"].to_dict() == {"b_up": "supported", "b_down": "contradicted",
                                      "g_gt1": "supported", "solid_all": "supported",
                                      "solid_core": "equivalent"}
    assert v.loc["b_up", "estimate"] > 0.4 and v.loc["b_up", "n_a"] == 300
    assert v.loc["b_down", "n_a"] == 790  # every space in which b varies
    s1 = df[df["design_space"] == "s1"]
    assert v.loc["g_gt1", "n_a"] == (s1["g"] > 1).sum() and v.loc["g_gt1", "n_b"] == (
        s1["g"] == 1).sum()
    assert (v.loc["solid_core", "n_a"], v.loc["solid_core", "n_b"]) == (200, 200)
    assert v.loc["solid_core", "metric"] == "trained" and v.loc["solid_all", "metric"] == "all"


def test_best_value_fits_wm_when_missing(tmp_path):
    """RegNet specs whose error is lowest at w_m = 2.5: the best models' fitted w_m lies in
    [2.2, 2.8] (the fit is computed because the table has no fit_wm column)."""
    rng = np.random.default_rng(7)
    specs, wms = [], []
    while len(specs) < 30:
        wm = float(np.round(rng.uniform(1.5, 3.0), 3))
        spec = regnet_spec(int(rng.integers(8, 24)), int(8 * rng.integers(2, 8)),
                           float(np.round(rng.uniform(8, 40), 1)), wm, 8, in_channels=3,
                           num_classes=10)
        if len(spec.depths) == 4:
            specs.append(spec)
            wms.append(wm)
    errors = 20 + 30 * np.abs(np.log2(np.array(wms) / 2.5)) + rng.normal(0, 0.3, 30)
    write_sweep(tmp_path, "regnetx", specs, errors)
    df = load_sweep(tmp_path)
    assert "fit_wm" not in df.columns
    plan = {"n_boot": 2000, "hypotheses": [
        _h("wm", "best_value", space="regnetx", parameter="fit_wm", range=[2.2, 2.8])]}
    row = verdicts(df, plan).iloc[0]
    assert row["verdict"] == "supported" and 2.2 <= row["low"] <= row["high"] <= 2.8


@pytest.fixture(scope="module")
def by_acts(tmp_path_factory):
    """Three spaces whose error follows one law of activations, log(error) = 3 - 0.3 log(acts
    in M) + noise: ``low`` samples small models (few acts, so higher errors), ``high`` large
    ones, and ``better`` the large ones 10 % lower at every activation count."""
    from anynet import complexity

    d = tmp_path_factory.mktemp("acts")
    rng = np.random.default_rng(7)
    for space, (lo, hi), factor in (("low", (8, 96), 1.0), ("high", (96, 1024), 1.0),
                                    ("better", (96, 1024), 0.9)):
        specs = []
        for _ in range(60):
            s = random_anynet_spec(rng)
            w = np.clip(np.asarray(s.widths), lo, hi) // (s.bottleneck_ratios[0]
                                                         * s.group_widths[0])
            step = int(s.bottleneck_ratios[0] * s.group_widths[0])
            specs.append(s.__class__(**{**s.to_dict(), "widths": [int(max(x, 1) * step)
                                                                   for x in w]}))
        noise = rng.normal(0, 0.03, len(specs))

        def err(spec, i, factor=factor, noise=noise):
            acts = complexity(spec, resolution=28)["acts"] / 1e6
            return float(factor * np.exp(3 - 0.3 * np.log(acts) + noise[i]))

        write_sweep(d, space, specs, err, data={"name": "digits", "resolution": 28})
    return load_sweep(d)


def test_adjusted_compares_at_equal_activations(by_acts):
    """The raw comparison credits ``high`` for its larger models; at equal activations it is
    no better than ``low`` (not resolved), and ``better``'s 10 % is recovered with its
    interval; the estimate is the closed-form OLS of the common-slope fit."""
    from analysis.adjusted import adjusted_comparison

    plan = {"n_boot": 2000, "hypotheses": [
        _h("raw", "better", a="high", b="low"),
        _h("same_law", "adjusted", a="high", b="low"),
        _h("ten_pct", "adjusted", a="better", b="high", covariate="acts"),
        _h("reversed", "adjusted", a="high", b="better"),
    ]}
    v = verdicts(by_acts, plan).set_index("id")
    assert v["verdict"].to_dict() == {"raw": "supported", "same_law": "not resolved",
                                      "ten_pct": "supported", "reversed": "contradicted"}
    assert v.loc["ten_pct", "low"] < -0.1 + 0.02 and v.loc["ten_pct", "high"] > -0.1 - 0.02
    assert v.loc["ten_pct", "estimate"] == pytest.approx(-0.1, abs=0.02)
    assert v.loc["ten_pct", "estimand"] == ("exp(delta) - 1: a's error relative to b's at "
                                            "equal log(acts)")
    # the estimate is ordinary least squares on [1, log acts, 1{a}]
    rows = by_acts[by_acts["design_space"].isin(["better", "high"])]
    X = np.column_stack([np.ones(len(rows)), np.log(rows["acts"].to_numpy(float)),
                         (rows["design_space"] == "better").to_numpy(float)])
    beta = np.linalg.lstsq(X, np.log(rows["error"].to_numpy(float)), rcond=None)[0]
    assert v.loc["ten_pct", "estimate"] == pytest.approx(np.expm1(beta[2]), rel=1e-9)
    r = adjusted_comparison([2.0, 3.0, 4.0], [3.0, 2.0, 1.0], [4.0, 6.0], [3.0, 1.0])
    assert r.n_a == 3 and r.n_b == 2 and r.p_contra <= 1


@pytest.mark.parametrize("hyp, message", [
    (_h("x", "adjusted", a="s1", b="s2", covariate="log acts"),
     r"hypotheses\[0\]\.covariate: 'log acts' is not allowed; use a column name"),
    (_h("x", "adjusted", a="s1", b="s2", covariate=3), r"\.covariate: 3 is not allowed"),
])
def test_bad_adjusted(hyp, message):
    with pytest.raises(ValueError, match=message) as err:
        parse_plan({"hypotheses": [hyp]})
    assert "\n" not in str(err.value)


def test_adjusted_refuses_what_it_cannot_fit(by_acts):
    from analysis.adjusted import adjusted_comparison

    with pytest.raises(ValueError, match="does not vary within the spaces"):
        adjusted_comparison([1.0, 2.0], [5.0, 5.0], [1.0, 3.0], [2.0, 2.0])
    with pytest.raises(ValueError, match="acts of b: needs positive values"):
        adjusted_comparison([1.0, 2.0], [5.0, 6.0], [1.0, 3.0], [0.0, 2.0])
    plan = {"hypotheses": [_h("x", "adjusted", a="high", b="low", covariate="nothing")]}
    with pytest.raises(ValueError, match="column 'nothing' is not in the sweep table"):
        verdicts(by_acts, plan)
