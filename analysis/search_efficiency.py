"""Search efficiency ([DDS] Fig. 9 right; docs/ANALYSIS.md "Search efficiency"): how likely k
models drawn at random from a design space's population contain a good one.

A model is *good* when its error is at most e_best + delta, e_best the population's lowest
error (scale-free: delta is stated in error points, e.g. one model's seed-to-seed noise). With g
good models among n, k models drawn without replacement contain one with probability

    P_k = 1 - C(n - g, k) / C(n, k)        (hypergeometric, exact)

The interval is the bootstrap over models through the one engine (`analysis.bootstrap`): the n
errors resampled with replacement, e_best, g and every P_k recomputed on each resample, the
percentile interval read per k. A claim that k models are *likely* to suffice is judged by its
interval against a threshold (`likely_verdict`). `parse_search` validates the study key
``search`` (``conf/study/search.yaml``); bad input is a one-line ValueError naming the field,
the value and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bootstrap import bootstrap_distribution, percentile_interval
from .study import _bad, _file, _mapping, _number, _space, _text, _texts

TOL = 1e-9  # floating-point noise in e_best + delta (errors are recorded to 0.01 points)
NOISE = "noise"  # a delta measured as one model's seed-to-seed noise (`analysis.instrument`)
VERDICTS = ("supported", "contradicted", "not resolved")
_KEYS = ("out", "verdicts", "spaces", "noise", "deltas", "k_max", "n_boot", "seed", "ci",
         "sure", "claim")
_NOISE_KEYS = ("runs", "regime", "space")
_CLAIM_KEYS = ("id", "space", "delta", "k", "likely")
_NAME = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class SearchRow:
    """P_k of one population under one meaning of good, with its bootstrap interval: a row of
    ``search_efficiency.csv``."""

    space: str
    delta_name: str
    delta: float
    n: int
    g: int
    k: int
    p_k: float
    low: float
    high: float


@dataclass(frozen=True)
class Noise:
    """Where delta ``noise`` comes from: the two-seed runs of `regime` in the `runs` exports
    (under the results folder), models of `space` (`analysis.instrument.seed_noise`)."""

    runs: tuple[str, ...]
    regime: str
    space: str


@dataclass(frozen=True)
class Claim:
    """The judged claim: `k` models of `space` under delta `delta` contain a good one with a
    chance of at least `likely`."""

    id: str
    space: str
    delta: str
    k: int
    likely: float


@dataclass(frozen=True)
class Search:
    """The study key ``search``: files (under the results folder), the populations, the deltas
    by name (None: measured as `noise`), the k, bootstrap and verdict settings."""

    out: str
    verdicts: str
    spaces: tuple[str, ...]
    noise: Noise | None
    deltas: Mapping[str, float | None]
    k_max: int
    n_boot: int
    seed: int
    ci: float
    sure: float
    claim: Claim


# -- P_k ------------------------------------------------------------------------------------------
def p_good(n: int, g: int, k: int) -> float:
    """The chance that `k` of `n` models drawn without replacement include one of `g` good ones:
    1 - C(n - g, k) / C(n, k) ([DDS] Fig. 9 right), exact (integer binomials)."""
    if not 0 <= g <= n or not 0 <= k <= n:
        raise ValueError(f"p_good: n={n!r}, g={g!r}, k={k!r} is not allowed; use "
                         "0 <= g <= n and 0 <= k <= n")
    return 1.0 - math.comb(n - g, k) / math.comb(n, k)


def p_good_table(n: int, ks: Sequence[int]) -> np.ndarray:
    """`p_good` for every g = 0..n (rows) and each of `ks` (columns)."""
    return np.array([[p_good(n, g, k) for k in ks] for g in range(n + 1)])


def good_count(errors: np.ndarray, delta: float, axis: int = -1) -> np.ndarray:
    """The good models along `axis`: errors at most the lowest one plus `delta` (`TOL` absorbs
    floating-point noise). A model without an error (NaN: no finished run) is never good."""
    e = np.where(np.isnan(errors), np.inf, errors)
    best = np.min(e, axis=axis, keepdims=True)
    return np.sum(e <= best + delta + TOL, axis=axis)


def ks_for(n: int, k_max: int) -> list[int]:
    """The k reported for a population of `n`: 1..min(k_max, n)."""
    return list(range(1, min(k_max, n) + 1))


def search_rows(space: str, delta_name: str, errors: Sequence[float], delta: float, k_max: int,
                n_boot: int, seed: int, ci: float) -> list[SearchRow]:
    """P_k of one population for k = 1..min(`k_max`, n), each with the `ci`% percentile
    interval of the bootstrap over models (`n_boot` resamples, `seed`; e_best, g and P_k
    recomputed on every resample)."""
    e = np.asarray(errors, dtype=float)
    if e.size < 2 or np.isnan(e).all():
        raise ValueError(f"search.spaces: {space!r} has {int(np.isfinite(e).sum())} models with "
                         "an error; give a population of at least 2")
    ks = ks_for(e.size, k_max)
    table = p_good_table(e.size, ks)

    def statistic(sample: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.moveaxis(table[good_count(sample, delta, axis)], -1, 0)

    dist = bootstrap_distribution((e,), statistic, n_boot, seed)
    g = int(good_count(e, delta))
    rows = []
    for i, k in enumerate(ks):
        low, high = percentile_interval(dist[i], ci)
        rows.append(SearchRow(space, delta_name, float(delta), int(e.size), g, k,
                              float(table[g, i]), low, high))
    return rows


def smallest_k(ks: Sequence[int], p: Sequence[float], sure: float) -> int | None:
    """The smallest k whose P_k reaches `sure` (None: none of `ks` does)."""
    for k, v in sorted(zip(ks, p, strict=True)):
        if v >= sure:
            return int(k)
    return None


def likely_verdict(low: float, high: float, likely: float) -> str:
    """"k models are likely to contain a good one": *supported* when the interval's lower
    bound of P_k is at least `likely`, *contradicted* when its upper bound is below it,
    otherwise *not resolved*."""
    if low >= likely:
        return "supported"
    if high < likely:
        return "contradicted"
    return "not resolved"


# -- the study key ``search`` ---------------------------------------------------------------------
def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise _bad(where, value, "give a name (letters, digits, _)")
    return value


def _deltas(value: Any) -> dict[str, float | None]:
    if not isinstance(value, Mapping) or not value:
        raise _bad("search.deltas", value, f"give a mapping of names to {NOISE!r} or a number "
                   "of error points")
    out: dict[str, float | None] = {}
    for name, v in value.items():
        where = f"search.deltas.{_name('search.deltas', name)}"
        if isinstance(v, str) and v != NOISE:
            raise _bad(where, v, f"give {NOISE!r} or a number of error points in [0, 100]")
        out[name] = None if v == NOISE else float(_number(where, v, 0, 100))
    return out


def _noise(value: Any) -> Noise:
    n = _mapping("search.noise", value, _NOISE_KEYS)
    runs = _texts("search.noise.runs", n.get("runs"))
    if not runs:
        raise _bad("search.noise.runs", n.get("runs"), "give at least one export of runs")
    return Noise(runs=tuple(_file(f"search.noise.runs[{i}]", r, optional=False)
                            for i, r in enumerate(runs)),
                 regime=_text("search.noise.regime", n.get("regime")),
                 space=_text("search.noise.space", n.get("space")))


def parse_search(value: Any, order: Sequence[str]) -> Search:
    """The study key ``search`` validated; its spaces are spaces of the study's `order`."""
    s = _mapping("search", value, _KEYS)
    spaces = _texts("search.spaces", s.get("spaces"))
    if not spaces or len(set(spaces)) != len(spaces):
        raise _bad("search.spaces", s.get("spaces"), "give each space of order at most once, "
                   "at least one")
    spaces = tuple(_space(f"search.spaces[{i}]", x, order) for i, x in enumerate(spaces))
    deltas = _deltas(s.get("deltas"))
    noise = None
    if any(v is None for v in deltas.values()) or s.get("noise") is not None:
        noise = _noise(s.get("noise"))
    k_max = _number("search.k_max", s.get("k_max"), 1, 10**6, integer=True)
    c = _mapping("search.claim", s.get("claim"), _CLAIM_KEYS)
    delta = c.get("delta")
    if delta not in deltas:
        raise _bad("search.claim.delta", delta, "give a delta of search.deltas: "
                   + ", ".join(deltas))
    claim = Claim(id=_name("search.claim.id", c.get("id")),
                  space=_space("search.claim.space", c.get("space"), spaces), delta=delta,
                  k=_number("search.claim.k", c.get("k"), 1, k_max, integer=True),
                  likely=float(_number("search.claim.likely", c.get("likely"), 1e-9, 1)))
    return Search(out=_file("search.out", s.get("out"), optional=False),
                  verdicts=_file("search.verdicts", s.get("verdicts"), optional=False),
                  spaces=spaces, noise=noise, deltas=deltas, k_max=k_max,
                  n_boot=_number("search.n_boot", s.get("n_boot"), 1, 10**7, integer=True),
                  seed=_number("search.seed", s.get("seed", 0), 0, 2**63 - 1, integer=True),
                  ci=float(_number("search.ci", s.get("ci", 95), 1e-9, 100 - 1e-9)),
                  sure=float(_number("search.sure", s.get("sure"), 1e-9, 1)), claim=claim)
