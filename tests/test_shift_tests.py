"""The registry of shift tests (analysis.shift_tests): each entry is scipy's test in the "less
means a's errors are lower" convention, one at a time and row-wise; inference, plans and power
read the registry, and an unknown test is an error naming the allowed ones (never a silent KS).

Adding a test: one entry of SHIFT_TESTS, a case in `SCIPY` below and its row in
docs/ANALYSIS.md ("Shift tests")."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis import parse_plan, power, shift_test
from analysis.inference import shift_pvalue
from analysis.shift_tests import ALTERNATIVES, SHIFT_TESTS, shift_test_named

# Each registered test as scipy computes it for "a lower" (less), "a higher" (greater).
SCIPY = {
    "mwu": lambda a, b, alt, **kw: stats.mannwhitneyu(a, b, alternative=alt, **kw),
    "ks": lambda a, b, alt, **kw: stats.ks_2samp(
        a, b, alternative={"less": "greater", "greater": "less"}.get(alt, alt), **kw),
    "welch": lambda a, b, alt, **kw: stats.ttest_ind(a, b, equal_var=False, alternative=alt,
                                                     **kw),
}


def test_every_registered_test_has_a_scipy_reference():
    assert set(SHIFT_TESTS) == set(SCIPY)
    assert all(SHIFT_TESTS[name].name == name and SHIFT_TESTS[name].summary
               for name in SHIFT_TESTS)


@pytest.mark.parametrize("name", sorted(SCIPY))
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_entry_is_scipys_test_in_our_direction(name, alternative):
    rng = np.random.default_rng(0)
    a, b = rng.normal(30, 2, 23), rng.normal(31.5, 2, 31)
    ref = SCIPY[name](a, b, alternative)
    assert shift_pvalue(a, b, name, alternative) == (float(ref.statistic), float(ref.pvalue))
    assert shift_test(a, b, alternative, name, n_boot=50).pvalue == float(ref.pvalue)


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_lower_errors_are_less(name):
    rng = np.random.default_rng(1)
    low, high = rng.normal(28, 1, 60), rng.normal(30, 1, 60)
    assert shift_pvalue(low, high, name, "less")[1] < 1e-4
    assert shift_pvalue(low, high, name, "greater")[1] > 0.5


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_row_wise_batch_is_each_row_under_the_batch_options(name):
    """What the power's Monte Carlo runs: one call over (trials, n) arrays equals the test of
    each trial under the entry's batch_options (mwu: the asymptotic p)."""
    rng = np.random.default_rng(2)
    a, b = rng.gamma(2, 3, (7, 12)), rng.gamma(2, 3, (7, 12)) + 1
    entry = SHIFT_TESTS[name]
    _, p = entry.pvalue(a, b, "less", axis=1, batch=True)
    each = [SCIPY[name](x, y, "less", **entry.batch_options).pvalue
            for x, y in zip(a, b, strict=True)]
    assert np.allclose(p, each, rtol=1e-12, atol=0)


def test_unknown_test_is_an_error_everywhere():
    allowed = "use one of mwu, ks, welch"
    with pytest.raises(ValueError, match=f"^test: 'kolmogorov' is not allowed; {allowed}$"):
        shift_test_named("kolmogorov")
    with pytest.raises(ValueError, match=f"^test: 't' is not allowed; {allowed}$"):
        shift_test(np.arange(5.0), np.arange(5.0), test="t")
    with pytest.raises(ValueError, match=f"^test: 't' is not allowed; {allowed}$"):
        power(np.arange(1.0, 20.0), 0.2, 10, test="t")
    with pytest.raises(ValueError, match=rf"hypotheses\[0\]\.test: 't' is not allowed; "
                                         f"{allowed}$"):
        parse_plan({"hypotheses": [{"id": "x", "text": "t", "kind": "better", "a": "s1",
                                    "b": "s2", "test": "t"}]})
    with pytest.raises(ValueError, match="^alternative: 'lower' is not allowed"):
        shift_pvalue(np.arange(5.0), np.arange(5.0), "mwu", "lower")


def test_every_registered_test_runs_in_every_consumer():
    rng = np.random.default_rng(3)
    pilot = rng.gamma(2, 3, 300) + 5
    for name in SHIFT_TESTS:
        assert 0 <= power(pilot, 0.3, 20, test=name, n_sim=50) <= 1
        plan = parse_plan({"hypotheses": [{"id": "x", "text": "t", "kind": "better",
                                           "a": "s1", "b": "s2", "test": name}]})
        assert plan.hypotheses[0].params["test"] == name


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        SHIFT_TESTS["t"] = SHIFT_TESTS["mwu"]  # type: ignore[index]
