"""Exactness: vectorized complexity and RegNet rule equal the scalar references, every sample
satisfies every constraint, and the sampler matches brute-force enumeration (chi-square)."""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from anynet import AnyNetSpec, adjust_compatibility, complexity, regnet_spec, regnet_stages
from sampling import load_design_space
from sampling.batch_complexity import FixedFields, batch_complexity
from sampling.constraints import NAMED, StageArrays
from sampling.distributions import make_distribution
from sampling.exact import draw_categorical, first_at_least
from sampling.regnet_space import PARAMS

SPACES = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx",
          "regnetx_refined", "regnety"]


def test_log_uniform_pmf_is_pycls_ceil_quantized():
    d = make_distribution("d", {"dist": "log_uniform", "low": 1, "high": 16, "q": 1})
    assert d.values.tolist() == list(range(1, 17))
    cells = [math.log(2)] + [math.log(v / (v - 1)) for v in range(2, 17)]
    assert np.allclose(d.probs, np.array(cells) / math.log(16 / 0.5))
    w = make_distribution("w", {"dist": "log_uniform", "low": 8, "high": 1024, "q": 8})
    assert len(w) == 128 and math.isclose(w.probs[0] / w.probs[1], 1.0)  # both ln 2 cells
    rng = np.random.default_rng(0)  # matches continuous log-uniform then ceil
    f = np.exp(rng.uniform(np.log(4), np.log(1024), 400_000))
    emp = np.bincount((np.ceil(f / 8) * 8).astype(int) // 8 - 1, minlength=128) / len(f)
    assert np.abs(emp - w.probs).max() < 3e-3
    wa = make_distribution("wa", {"dist": "log_uniform", "low": 0.1, "high": 255.9, "q": 0.1})
    assert len(wa) == 2559 and wa.values[364] == 36.5


def test_batch_complexity_equals_anynet():
    rng = np.random.default_rng(1)
    for se, res, cin, nc in [(0.0, 224, 3, 1000), (0.25, 28, 1, 10), (0.25, 37, 3, 7)]:
        specs = []
        while len(specs) < 150:
            n = 4
            b = rng.choice([1, 2, 4], n).astype(float)
            g = rng.choice([1, 2, 4, 8, 16, 32], n)
            w = rng.integers(1, 129, n) * 8
            w, g = adjust_compatibility(list(w), list(b), list(g))
            specs.append(AnyNetSpec(depths=rng.integers(1, 17, n), widths=w,
                                    bottleneck_ratios=b, group_widths=g, se_ratio=se,
                                    in_channels=cin, num_classes=nc))
        a = StageArrays.from_specs(specs)
        got = batch_complexity(a.depths, a.widths, a.ratios, a.groups, (2, 2, 2, 2),
                               FixedFields(res, cin, nc, se_ratio=se))
        for i, s in enumerate(specs):
            assert {k: int(v[i]) for k, v in got.items()} == complexity(s, res)


def test_vectorized_regnet_rule_equals_anynet():
    sp = load_design_space("regnetx", ["design_space.complexity.flops=[0,0]"])
    u = 1.0 - np.random.default_rng(2).random((4000, len(PARAMS)))
    cand = sp._candidates(u)
    valid = cand.masks["regnet_stages"]
    for row in range(len(u)):
        p = {k: v[row].item() for k, v in cand.params.items()}
        st = regnet_stages(p["depth"], p["w0"], p["wa"], p["wm"])
        assert valid[row] == (st.num_stages == 4 and not st.skipped_stage)
        if valid[row]:
            ref = regnet_spec(p["depth"], p["w0"], p["wa"], p["wm"], p["group_width"],
                              p["bottleneck_ratio"])
            assert sp._spec(cand, row) == ref
    assert 0.02 < valid.mean() < 0.5


@pytest.mark.parametrize("name", SPACES)
def test_every_sample_satisfies_every_constraint(name):
    sp = load_design_space(name)
    pop = sp.sample_many(range(1000), seed=3).samples
    lo, hi = 360e6, 400e6
    for s in pop:
        spec = s.spec
        assert lo <= complexity(spec)["flops"] <= hi and s.complexity == complexity(spec)
        assert spec.num_stages == 4 and spec.strides == (2, 2, 2, 2)
        assert set(spec.bottleneck_ratios) <= {1.0, 2.0, 4.0}
        assert all(w % 8 == 0 for w in spec.widths) or 4.0 in spec.bottleneck_ratios
        for w, b, g in zip(spec.widths, spec.bottleneck_ratios, spec.group_widths, strict=True):
            # App. D: g is a listed value, or clipped to the bottleneck width
            assert g in (1, 2, 4, 8, 16, 32) or g == w // b
        for c in sp.named:
            assert NAMED[c].check(spec)
        if name.startswith("anynet"):
            assert all(1 <= d <= 16 for d in spec.depths)
            assert all(8 <= w <= 1024 and w % 8 == 0 for w in spec.widths)
        else:
            p = s.params
            st = regnet_stages(p["depth"], p["w0"], p["wa"], p["wm"])
            assert st.num_stages == 4 and not st.skipped_stage
            assert regnet_spec(p["depth"], p["w0"], p["wa"], p["wm"], p["group_width"],
                               p["bottleneck_ratio"], se_ratio=spec.se_ratio) == spec
            assert p["depth"] < 64 and p["w0"] < 256 and p["wa"] < 256 and 1.5 <= p["wm"] <= 3
            if name == "regnetx_refined":
                assert p["bottleneck_ratio"] == 1 and p["wm"] >= 2 and p["depth"] <= 40
    assert len({s.spec for s in pop}) > 900  # distinct grid points may build one network
    for s in pop[:: 50 if name.startswith("anynet") else 250]:
        assert sp.contains(s.spec)
    for c in ("shared_bottleneck_ratio", "shared_group_width", "increasing_widths",
              "increasing_depths"):
        on = c in sp.named
        frac = np.mean([NAMED[c].check(s.spec) for s in pop])
        assert frac == 1.0 if on else frac < 1.0 or name.startswith("regnet")


# -- chi-square against brute-force enumeration of a small discrete space --------------------

SMALL = ["design_space.stages=3", "design_space.domains.depth.high=3",
         "design_space.domains.width.high=24", "design_space.domains.bottleneck_ratio.values=[1,2]",
         "design_space.domains.group_width.values=[1,16]", "design_space.resolution=32"]
P_D = np.array([math.log(2), math.log(2), math.log(1.5)]) / math.log(6)  # log-uniform 1..3
P_W = np.array([math.log(2), math.log(2), math.log(1.5)]) / math.log(6)  # 8..24, q=8


@functools.lru_cache
def _enumerate(shared_b: bool, shared_g: bool):
    """Target weights of built specs: raw tuples under the sharing model, App. D applied."""
    stage = list(itertools.product(range(3), range(3), (1, 2), (1, 16)))
    out = Counter()
    for combo in itertools.product(stage, repeat=3):
        di, wi, bs, gs = zip(*combo, strict=True)
        if (shared_b and len(set(bs)) > 1) or (shared_g and len(set(gs)) > 1):
            continue
        p = np.prod(P_D[list(di)]) * np.prod(P_W[list(wi)])
        p *= 0.5 ** (1 if shared_b else 3) * 0.5 ** (1 if shared_g else 3)
        ws, g2 = adjust_compatibility([8 * (i + 1) for i in wi], [float(b) for b in bs],
                                      list(gs))
        out[(tuple(d + 1 for d in di), tuple(ws), tuple(float(b) for b in bs), tuple(g2))] += p
    return out


def _key(spec: AnyNetSpec):
    return spec.depths, spec.widths, spec.bottleneck_ratios, spec.group_widths


def _project(target: dict, proj) -> dict:
    out = Counter()
    for k, p in target.items():
        out[proj(k)] += p
    return dict(out)


def _chi2(counts: Counter, target: dict, n: int) -> float:
    """Chi-square p-value; cells expecting < 5 are pooled into one."""
    keys = sorted(target, key=lambda k: -target[k])
    total = sum(target.values())
    exp = np.array([target[k] / total * n for k in keys])
    obs = np.array([counts.get(k, 0) for k in keys], dtype=float)
    assert sum(counts.values()) == obs.sum()  # nothing outside the target support
    big = exp >= 5
    if (~big).any():
        exp, obs = np.append(exp[big], exp[~big].sum()), np.append(obs[big], obs[~big].sum())
    return chisquare(obs, exp).pvalue


def _flops(key) -> int:
    d, w, b, g = key
    return complexity(AnyNetSpec(depths=d, widths=w, bottleneck_ratios=b, group_widths=g,
                                 strides=[2] * 3), 32)["flops"]


D, W, B, G = 0, 1, 2, 3
CASES = {  # name: (overrides, shared_b, shared_g, filter on built spec, projection tested)
    "none": ([], False, False, None, (W, G)),
    "shared_b": (["design_space.constraints.shared_bottleneck_ratio=true"], True, False, None,
                 (W, B)),
    "shared_g": (["design_space.constraints.shared_group_width=true"], False, True, None,
                 (W, G)),
    "widths": (["design_space.constraints.increasing_widths=true"], False, False,
               lambda k: list(k[W]) == sorted(k[W]), (W, G)),
    "depths": (["design_space.constraints.increasing_depths=true"], False, False,
               lambda k: list(k[D]) == sorted(k[D]), (D,)),
    "window": (["design_space.complexity.flops=[300000,500000]"], False, False,
               lambda k: 300000 <= _flops(k) <= 500000, (D, W)),
}
N = 12000


@pytest.mark.parametrize("case", list(CASES))
def test_chi_square_against_enumeration(case):
    """Sampler vs exact target on a projection of the built spec small enough for N draws."""
    ov, sb, sg, keep, cols = CASES[case]
    window = [] if case == "window" else ["design_space.complexity.flops=[0,0]"]
    sp = load_design_space("anynetx_a", SMALL + window + ov)
    target = {k: p for k, p in _enumerate(sb, sg).items() if keep is None or keep(k)}

    def proj(k):
        return tuple(k[c] for c in cols)

    counts = Counter(proj(_key(s.spec)) for s in sp.sample_many(range(N), seed=11).samples)
    assert _chi2(counts, _project(target, proj), N) > 1e-3
    if case == "depths":  # power: sorting i.i.d. depth draws is NOT this distribution
        free = load_design_space("anynetx_a", SMALL + window).sample_many(range(N), seed=11)
        sorted_counts = Counter((tuple(sorted(s.spec.depths)),) for s in free.samples)
        assert _chi2(sorted_counts, _project(target, proj), N) < 1e-6
    if case == "widths":  # power: the unconstrained sampler fails this target
        free = load_design_space("anynetx_a", SMALL + window).sample_many(range(N), seed=11)
        mono = Counter(proj(_key(s.spec)) for s in free.samples
                       if list(s.spec.widths) == sorted(s.spec.widths))
        scale = sum(mono.values())
        assert _chi2(mono, _project(target, proj), scale) > 1e-3  # rejection = same target
        assert _chi2(counts, _project(_enumerate(False, False), proj), N) < 1e-6


def test_chi_square_all_constraints_and_window():
    ov = ["design_space.constraints.shared_bottleneck_ratio=true",
          "design_space.constraints.shared_group_width=true",
          "design_space.constraints.increasing_widths=true",
          "design_space.constraints.increasing_depths=true",
          "design_space.complexity.flops=[250000,450000]"]
    sp = load_design_space("anynetx_a", SMALL + ov)
    target = {k: p for k, p in _enumerate(True, True).items()
              if list(k[0]) == sorted(k[0]) and list(k[1]) == sorted(k[1])
              and 250000 <= _flops(k) <= 450000}
    counts = Counter(_key(s.spec) for s in sp.sample_many(range(N), seed=5).samples)
    assert _chi2(counts, target, N) > 1e-3
    assert all(sp.contains(AnyNetSpec(depths=k[0], widths=k[1], bottleneck_ratios=k[2],
                                      group_widths=k[3], strides=[2] * 3)) for k in target)


@pytest.mark.parametrize("probs", [
    [1.0], [0.5, 0.5], [0.0, 1.0, 0.0, 2.0, 0.0], [1e-12, 1.0, 1e-12],
    np.full(2559, 1.0 / 2559), np.geomspace(1.0, 1e-6, 300), [0.0] * 50 + [1.0] + [0.0] * 50])
def test_first_at_least_is_searchsorted_element_for_element(probs):
    """The bucketed search equals np.searchsorted on random uniforms and on the awkward ones:
    1, the smallest, bucket edges k/m and the cells' own edges cum[i] / cum[-1]."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    m = 4 * len(cum)
    rng = np.random.default_rng(0)
    u = np.concatenate([1.0 - rng.random(20000), [1.0, np.nextafter(0, 1), 1e-300],
                        np.arange(1, m + 1) / m, cum / cum[-1],
                        np.nextafter(cum / cum[-1], 0), np.nextafter(cum / cum[-1], 2)])
    u = u[(u > 0) & (u <= 1)]
    want = np.searchsorted(cum, u * cum[-1], side="left")
    np.testing.assert_array_equal(first_at_least(cum, u), want)
    np.testing.assert_array_equal(draw_categorical(cum, u[::7]), want[::7])  # strided view too
    assert (np.asarray(probs)[want] > 0).all()  # zero-mass cells never drawn


def test_first_at_least_is_exact_even_where_rounding_swallows_the_bucket_margin():
    """A subnormal total: the bucket edges round past the answer, which is searched again."""
    for cum in (np.array([0.0, 3e-323]), np.cumsum(np.full(5, 1e-323))):
        u = np.concatenate([[1.0], 1.0 - np.random.default_rng(1).random(500)])
        np.testing.assert_array_equal(first_at_least(cum, u),
                                      np.searchsorted(cum, u * cum[-1], side="left"))
