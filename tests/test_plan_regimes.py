"""Plans across two flop regimes (issue 25): `best_shift` (the best models' value moves up, down
or stays between two populations) and `best_exponent` (parameter ∝ flops^k between the two
populations' best models), on frames of real RegNet specs and chosen errors, and the power of
such hypotheses by resampling with a per-space column scale (`plan_power`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import fit_models, parse_plan, verdicts
from analysis.power_analysis import plan_power
from analysis.stats import best_values
from anynet import regnet_spec


def _h(hid: str, kind: str, **kw) -> dict:
    return {"id": hid, "text": f"claim {hid}", "kind": kind, **kw}


def _regnets(space: str, w0_best: int, seed: int, n: int = 16) -> pd.DataFrame:
    """n 4-stage RegNetX specs with w0 within 16 of `w0_best`; error lowest at `w0_best`
    (10 + 6·|log2(w0 / w0_best)| + N(0, 0.3)), so the best models' w0 is `w0_best`."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n:
        w0 = int(w0_best + 8 * rng.integers(-2, 3))
        spec = regnet_spec(int(rng.integers(10, 22)), w0, float(np.round(rng.uniform(16, 40), 1)),
                           float(np.round(rng.uniform(2, 3), 2)), 8, in_channels=1,
                           num_classes=10)
        if len(spec.depths) == 4:
            rows.append({"design_space": space, "status": "ok", "spec": spec.to_dict(),
                         "depth": spec.depth,
                         "error": 10 + 6 * abs(np.log2(w0 / w0_best)) + rng.normal(0, 0.3)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def regimes() -> tuple[pd.DataFrame, pd.DataFrame]:
    """lo and lo2: two draws whose best w0 is 32; hi: best w0 64. Unfitted, and fitted once
    (the fit of 48 specs is most of this file's time)."""
    raw = pd.concat([_regnets("lo", 32, 1), _regnets("lo2", 32, 2), _regnets("hi", 64, 3)],
                    ignore_index=True)
    return raw, fit_models(raw)


def test_best_shift_finds_growth_sameness_and_nothing(regimes):
    raw, df = regimes
    w0 = {"parameter": "fit_w0"}
    plan = {"n_boot": 500, "hypotheses": [
        _h("grows", "best_shift", a="lo", b="hi", direction="increase", **w0),
        _h("reverse", "best_shift", a="hi", b="lo", direction="increase", **w0),
        _h("shrinks", "best_shift", a="hi", b="lo", direction="decrease", **w0),
        _h("stays", "best_shift", a="lo", b="lo2", direction="same", margin=0.3, **w0),
        _h("no_growth", "best_shift", a="lo", b="lo2", direction="increase", **w0),
        _h("moved", "best_shift", a="lo", b="hi", direction="same", margin=0.3, **w0),
    ]}
    v = verdicts(df, plan).set_index("id")
    assert v["verdict"].to_dict() == {
        "grows": "supported", "reverse": "contradicted", "shrinks": "supported",
        "stays": "supported", "no_growth": "not resolved", "moved": "contradicted"}
    # the estimate: the median of (best w0 in b, seed + 1) - (best w0 in a, seed), drawn apart
    best = {s: df.loc[df["design_space"] == s] for s in ("lo", "hi")}
    w = (best_values(best["hi"]["fit_w0"], best["hi"]["error"], 0.25, 500, 1)
         - best_values(best["lo"]["fit_w0"], best["lo"]["error"], 0.25, 500, 0))
    assert v.loc["grows", "estimate"] == np.median(w) == 32
    assert v.loc["grows", "low"] > 0 and (v.loc["grows", "n_a"], v.loc["grows", "n_b"]) == (16, 16)
    assert v.loc["stays", "estimate"] == 0 and "same within ±9.6" in v.loc["stays", "estimand"]
    assert v.loc["no_growth", "p"] > 0.5 and v.loc["no_growth", "p_contra"] > 0.5
    # a table without fit columns is fitted per side, with the same verdict and numbers
    unfitted = verdicts(raw, {"n_boot": 500, "hypotheses": plan["hypotheses"][:1]}).iloc[0]
    assert unfitted[["estimate", "low", "high", "p"]].tolist() == \
        v.loc["grows", ["estimate", "low", "high", "p"]].tolist()


def _complexity(space: str, flops: float, seed: int, n: int = 40) -> pd.DataFrame:
    """n models within ±10 % of `flops`: acts = 100·flops^0.5 exactly, params = 0.05·flops
    with 3 % noise; errors unrelated to either."""
    rng = np.random.default_rng(seed)
    f = flops * rng.uniform(0.9, 1.1, n)
    return pd.DataFrame({"design_space": space, "status": "ok", "flops": f,
                         "acts": 100 * np.sqrt(f), "params": 0.05 * f * rng.lognormal(0, 0.03, n),
                         "error": rng.uniform(5, 15, n)})


def test_best_exponent_recovers_sqrt_and_linear():
    df = pd.concat([_complexity("x", 4e6, 1), _complexity("x[800MF]", 8e6, 2)],
                   ignore_index=True)
    sides = {"a": "x", "b": "x[800MF]"}
    plan = {"n_boot": 500, "hypotheses": [
        _h("acts_sqrt", "best_exponent", parameter="acts", range=[0.4, 0.6], **sides),
        _h("acts_linear", "best_exponent", parameter="acts", range=[0.9, 1.1], **sides),
        _h("params_linear", "best_exponent", parameter="params", range=[0.75, 1.25], **sides),
    ]}
    v = verdicts(df, plan).set_index("id")
    assert v["verdict"].to_dict() == {"acts_sqrt": "supported", "acts_linear": "contradicted",
                                      "params_linear": "supported"}
    assert v.loc["acts_sqrt", "estimate"] == pytest.approx(0.5, abs=1e-9)
    assert v.loc["acts_sqrt", "low"] == pytest.approx(0.5, abs=1e-9)
    assert 0.8 < v.loc["params_linear", "low"] < 1 < v.loc["params_linear", "high"] < 1.2
    assert (v.loc["acts_sqrt", "n_a"], v.loc["acts_sqrt", "n_b"]) == (40, 40)


@pytest.mark.parametrize("hyp, message", [
    (_h("x", "best_shift", a="s1", b="s2", parameter="depth", direction="up"),
     r"hypotheses\[0\]\.direction: 'up' is not allowed; use one of increase, decrease, same"),
    (_h("x", "best_shift", a="s1", b="s2", parameter="depth", direction="same"),
     r"hypotheses\[0\]: missing key 'margin' \(direction same needs a relative margin"),
    (_h("x", "best_shift", a="s1", b="s2", parameter="depth", direction="increase",
        margin=0.1), r"hypotheses\[0\]\.margin: 0.1 is not allowed; use no margin with "
                     "direction increase"),
    (_h("x", "best_shift", a="s1", b="s2", parameter="depth", direction="same", margin=1.5),
     r"hypotheses\[0\]\.margin: 1.5 is not allowed; use a relative margin in \(0, 1\)"),
    (_h("x", "best_exponent", a="s1", b="s2", parameter="acts", range=[0.6, 0.4]),
     r"hypotheses\[0\]\.range: \[0.6, 0.4\] is not allowed; use \[low, high\] with low < high"),
    (_h("x", "best_exponent", a="s1", b="s2", range=[0.4, 0.6]),
     r"hypotheses\[0\]: missing key 'parameter' \(kind best_exponent needs a, b, parameter, "
     "range\\)"),
])
def test_bad_regime_hypotheses(hyp, message):
    with pytest.raises(ValueError, match=message) as exc:
        parse_plan({"hypotheses": [hyp]})
    assert "\n" not in str(exc.value)


def test_missing_column_names_the_hypothesis_and_parameter():
    df = pd.concat([_complexity("x", 4e6, 1, n=6), _complexity("y", 8e6, 2, n=6)],
                   ignore_index=True)
    for kind, extra in (("best_shift", {"direction": "increase"}),
                        ("best_exponent", {"range": [0.4, 0.6]})):
        plan = {"hypotheses": [_h("lost", kind, a="x", b="y", parameter="fit_w0", **extra)]}
        with pytest.raises(ValueError, match=r"^hypothesis 'lost': parameter 'fit_w0' is not "
                                             "in the sweep table$"):
            verdicts(df, plan)
    no_flops = df.drop(columns="flops")
    plan = {"hypotheses": [_h("k", "best_exponent", a="x", b="y", parameter="acts",
                              range=[0.4, 0.6])]}
    with pytest.raises(ValueError, match=r"parameter 'flops' is not in the sweep table"):
        verdicts(no_flops, plan)


def test_plan_power_scales_columns_of_a_regime():
    """Both regimes resampled from one pilot: without a scale the growth is a false positive
    at most at alpha's rate; with flops x2, acts x sqrt(2), params x2 on the high side the
    exponents are found."""
    pilot = _complexity("x", 4e6, 3, n=48)
    plan = parse_plan({"n_boot": 300, "hypotheses": [
        _h("acts", "best_exponent", a="x", b="x[800MF]", parameter="acts", range=[0.35, 0.65]),
        _h("params", "best_exponent", a="x", b="x[800MF]", parameter="params",
           range=[0.75, 1.25]),
        _h("grows", "best_shift", a="x", b="x[800MF]", parameter="acts", direction="increase"),
    ]})
    pilots = {"x": pilot, "x[800MF]": pilot}
    scale = {"x[800MF]": {"flops": 2.0, "acts": 2 ** 0.5, "params": 2.0}}
    scaled = plan_power(plan, pilots, {}, n=24, reps=20, seed=0, n_boot=300, scale=scale)
    power = scaled.set_index("id")["power"]
    assert power["acts"] == 1 and power["params"] >= 0.9 and power["grows"] >= 0.9
    null = plan_power(plan, pilots, {}, n=24, reps=20, seed=0, n_boot=300).set_index("id")
    assert null.loc["grows", "power"] <= 0.15
    with pytest.raises(ValueError, match=r"scale\.x\[800MF\]\.nope: no such column"):
        plan_power(plan, pilots, {}, n=8, reps=1, scale={"x[800MF]": {"nope": 2.0}})
    with pytest.raises(ValueError, match=r"scale\.y: no pilot rows for 'y'"):
        plan_power(plan, pilots, {}, n=8, reps=1, scale={"y": {"acts": 2.0}})
