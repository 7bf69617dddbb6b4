"""Power and sample size for comparing two design spaces, from a pilot sweep (issue 12).

The pilot's errors stand in for the population of one space. Each Monte Carlo trial draws
n errors for b and n for a from the pilot with replacement, and multiplies a's by
(1 − shift): a space whose every quantile, its median included, is `shift` (e.g. 20 %) lower.
The power is the fraction of trials in which the one-sided test (a lower) rejects at `alpha`;
with ``shift=0`` it is the test's size. For a plan of k hypotheses under Holm, pass
``family_size=k`` (tests at alpha/k, Holm's first and strictest step: a safe estimate). See
docs/ANALYSIS.md, "Power and sample size".

Usage from a pilot sweep::

    from analysis import load_sweep, pilot_errors, sample_size
    e = pilot_errors(load_sweep("runs/pilot"), "anynetx_e")
    print(sample_size(e, shift=0.2, target=0.8, family_size=10))

The power of a whole plan (`plan_power`, `plan_sample_size`): `power` sizes one two-space
comparison. A plan states several hypotheses of several kinds, equivalence included, judged
together under Holm, so its power is measured on the plan itself: each Monte Carlo replicate
draws n rows per space of the plan, with replacement, from that space's pilot rows (every column
kept, so parameters travel with their errors), multiplies the space's errors by its planned
`effects` factor (e.g. 0.8: a space 20 % better, every quantile; 1.0: no difference, the
situation an equivalence hypothesis claims), and runs `plan.verdicts` on the replicate: the same
tests, the same correction, the same verdict rule as the study will. A hypothesis's power is the
fraction of replicates whose verdict is the one the hypothesis claims (``supported``, or
``equivalent`` for kind ``equivalent``). Replicates use `n_boot` bootstrap resamples (fewer than
a study's, for speed; stated in the output).

Hypotheses about the best models' parameters across two regimes (`best_shift`, `best_exponent`)
need an effect on columns, not on errors: `scale` multiplies a space's pilot columns by stated
factors (e.g. the 800MF side's flops x2, acts x sqrt(2)); a fit column (fit_w0, fit_wa, ...)
that the plan or the scale reads is fitted once per pilot, from its ``spec`` column, before any
replicate. See docs/ANALYSIS.md, "Power of a plan".

A plan with a ``sequential:`` section (issue 24) is also judged, at its n_per_space and at every
larger n, on the same simulated studies, by its sequential design with its looks placed on that n
(`analysis.sequential.sequential_verdicts`, the verdicts its ``dse-study NAME verdicts``
reports): the power of the design it will be trained by, beside the fixed design's, the models
per space it trains, and so the n at which the sequential design too reaches the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .fit import fit_models
from .inference import finite
from .plan import FIT_COLUMNS, Plan, claimed, verdicts
from .sequential import models_trained, sequential_verdicts, spaces_of
from .shift_tests import shift_test_named
from .trainability import WORST_ERROR, metric_frame

DEFAULT_GRID = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 500, 750, 1000)


def pilot_errors(df: pd.DataFrame, space: str | None = None, metric: str = "all",
                 column: str = "error", num_classes: int | None = None,
                 worst: float = WORST_ERROR) -> np.ndarray:
    """The errors of one space (or of every row when `space` is None) as the plan's `metric`
    sees them: ``all`` (did-not-finish = `worst`) or ``trained`` (the trained core)."""
    rows = metric_frame(df, metric, column, num_classes, worst)
    if space is not None:
        rows = rows[rows["design_space"] == space]
    e = finite(rows[column])
    if e.size < 2:
        raise ValueError(f"space: {space!r} has {e.size} usable errors in the pilot; need >= 2")
    return e


def _rejections(a: np.ndarray, b: np.ndarray, test: str, alpha: float) -> np.ndarray:
    """Row-wise one-sided tests (a lower) of (trials, n) arrays with the registered `test`
    under its Monte Carlo options; True where p < alpha."""
    _, p = shift_test_named(test).pvalue(a, b, "less", axis=1, batch=True)
    return np.nan_to_num(np.asarray(p, dtype=float), nan=1.0) < alpha


def power(pilot, shift: float, n: int, alpha: float = 0.05, test: str = "mwu",
          n_sim: int = 2000, seed: int = 0, family_size: int = 1) -> float:
    """Monte Carlo power of the one-sided `test` (a name of `analysis.shift_tests.SHIFT_TESTS`:
    mwu, ks, welch) to find that a space with errors (1 − `shift`) times the `pilot`'s is
    better, with `n` models per space, at level ``alpha / family_size``; `n_sim` seeded
    trials."""
    e = finite(pilot)
    if e.size < 2:
        raise ValueError(f"pilot: {e.size} finite errors; need >= 2")
    if not 0 <= shift < 1:
        raise ValueError(f"shift: {shift!r} is not allowed; use a relative shift in [0, 1)")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n: {n!r} is not allowed; use an integer >= 2 models per space")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: {alpha!r} is not allowed; use a level in (0, 1)")
    shift_test_named(test)  # ValueError naming an unknown test
    if n_sim < 1 or family_size < 1:
        raise ValueError(f"n_sim, family_size: {n_sim!r}, {family_size!r} are not allowed; "
                         "use integers >= 1")
    rng = np.random.default_rng(seed)
    hits = 0
    per_chunk = max(1, 2_000_000 // n)
    for start in range(0, n_sim, per_chunk):
        k = min(per_chunk, n_sim - start)
        b = e[rng.integers(0, e.size, size=(k, n))]
        a = (1.0 - shift) * e[rng.integers(0, e.size, size=(k, n))]
        hits += int(_rejections(a, b, test, alpha / family_size).sum())
    return hits / n_sim


@dataclass(frozen=True)
class SampleSize:
    """The smallest `n` of the grid whose power reaches `target` (None if none does), and
    the power at every n tried."""

    n: int | None
    target: float
    powers: dict[int, float]


def sample_size(pilot, shift: float, target: float = 0.8, grid: Sequence[int] = DEFAULT_GRID,
                **kw) -> SampleSize:
    """Walk the ascending `grid` of models per space and stop at the first n whose `power`
    (same keywords: alpha, test, n_sim, seed, family_size) reaches `target`."""
    if not 0 < target < 1:
        raise ValueError(f"target: {target!r} is not allowed; use a power in (0, 1)")
    return first_powered(grid, target, lambda n: power(pilot, shift, n, **kw))


def first_powered(grid: Sequence[int], target: float, power_at: Callable[[int], float]
                  ) -> SampleSize:
    """The first n of the ascending `grid` whose `power_at(n)` reaches `target` (None when
    none does), with the power at every n tried (the grid is walked no further)."""
    powers: dict[int, float] = {}
    for n in sorted(int(x) for x in grid):
        powers[n] = power_at(n)
        if powers[n] >= target:
            return SampleSize(n, target, powers)
    return SampleSize(None, target, powers)


# -- the power of a whole plan (docs/ANALYSIS.md "Power of a plan") ---------------------------

def plan_spaces(plan: Plan) -> list[str]:
    """The design-space labels a plan's hypotheses read, in order of first use."""
    return list(dict.fromkeys(s for h in plan.hypotheses for s in spaces_of(h.params)))


def resample_study(pilots: Mapping[str, pd.DataFrame], effects: Mapping[str, float], n: int,
                   rng: np.random.Generator, column: str = "error") -> pd.DataFrame:
    """One simulated study: n rows per space drawn with replacement from its pilot rows, the
    space's `column` multiplied by its effect factor, labelled with the plan's space name and
    numbered 0 … n − 1 in draw order (``index``: the order a sequential sweep trains them)."""
    parts = []
    for space, pilot in pilots.items():
        rows = pilot.iloc[rng.integers(0, len(pilot), size=n)].copy()
        rows[column] = pd.to_numeric(rows[column], errors="coerce") * effects.get(space, 1.0)
        rows["design_space"] = space
        rows["index"] = np.arange(n)
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def median_effects(plan: Plan, pilots: Mapping[str, pd.DataFrame],
                   medians: Mapping[str, tuple[str, float]]) -> dict[str, float]:
    """The `effects` that put each space's median error where a stated reading of the claims
    puts it: ``medians[s] = (r, f)`` makes s's median f times r's (after r's own effect,
    so a chain C → D → E scales step by step); a space not named keeps its pilot's median
    (factor 1). Medians are the plan's errors (`pilot_errors`: its metric, column, classes and
    worst error) of each space's pilot rows; errors name ``medians.<space>``."""
    for space, (ref, factor) in medians.items():
        for name, where in ((space, f"medians.{space}"), (ref, f"medians.{space}.of")):
            if name not in pilots:
                raise ValueError(f"{where}: no pilot rows for {name!r}; name a space of the "
                                 f"pilots ({', '.join(pilots)})")
        if not (isinstance(factor, (int, float)) and 0 < factor and math.isfinite(factor)):
            raise ValueError(f"medians.{space}.factor: {factor!r} is not allowed; use a "
                             "factor > 0")

    named = {s for pair in medians.items() for s in (pair[0], pair[1][0])}
    median = {s: float(np.median(pilot_errors(pilots[s], None, plan.metric, plan.column,
                                              plan.num_classes, plan.worst))) for s in named}
    target: dict[str, float] = {}

    def target_of(space: str, seen: tuple[str, ...] = ()) -> float:
        if space in seen:
            raise ValueError(f"medians.{space}: the chain {' -> '.join((*seen, space))} comes "
                             "back to itself; end it at a space not named in medians")
        if space not in target:
            if space in medians:
                ref, factor = medians[space]
                target[space] = float(factor) * target_of(ref, (*seen, space))
            else:
                target[space] = median[space]
        return target[space]

    return {space: target_of(space) / median[space] for space in medians}


def _fit_columns(plan: Plan, scale: Mapping[str, Mapping[str, float]]) -> dict[str, set]:
    """Per space: the fit columns (`plan.FIT_COLUMNS`) its hypotheses or its scale read."""
    out: dict[str, set] = {}
    for h in plan.hypotheses:
        p = h.params
        if p.get("parameter") in FIT_COLUMNS:
            for name in [p[k].space for k in ("a", "b") if k in p] + (
                    [p["space"]] if "space" in p else []):
                out.setdefault(name, set()).add(p["parameter"])
    for space, cols in scale.items():
        out.setdefault(space, set()).update(c for c in cols if c in FIT_COLUMNS)
    return out


def scaled_pilots(plan: Plan, pilots: Mapping[str, pd.DataFrame],
                  scale: Mapping[str, Mapping[str, float]] | None = None
                  ) -> dict[str, pd.DataFrame]:
    """The pilots with the fit columns the plan or `scale` reads (fitted once from ``spec``)
    and each space's `scale` columns multiplied by their factors (``{space: {column:
    factor}}``); errors name ``scale.<space>.<column>``."""
    scale = dict(scale or {})
    for space, cols in scale.items():  # checked before any fit
        if space not in pilots:
            raise ValueError(f"scale.{space}: no pilot rows for {space!r}; scale a space of "
                             "the pilots")
        if not isinstance(cols, Mapping):
            raise ValueError(f"scale.{space}: {cols!r} is not allowed; use a mapping of "
                             "columns to factors")
        for col, factor in cols.items():
            where = f"scale.{space}.{col}"
            if col == plan.column:
                raise ValueError(f"{where}: the plan's error column is scaled by effects, not "
                                 "by scale")
            if col not in pilots[space].columns and col not in FIT_COLUMNS:
                raise ValueError(f"{where}: no such column in the pilot")
            if (isinstance(factor, bool) or not isinstance(factor, (int, float))
                    or not math.isfinite(factor) or factor <= 0):
                raise ValueError(f"{where}: {factor!r} is not allowed; use a factor > 0")
    out = dict(pilots)
    for space, cols in _fit_columns(plan, scale).items():
        pilot = out.get(space)
        if pilot is None or all(c in pilot.columns for c in cols):
            continue
        if "spec" not in pilot.columns:
            raise ValueError(f"pilots.{space}: the plan reads {', '.join(sorted(cols))}, fitted "
                             "from the models' specs, but the pilot has no 'spec' column")
        out[space] = fit_models(pilot)
    for space, cols in scale.items():
        rows = out[space].copy()
        for col, factor in cols.items():
            rows[col] = pd.to_numeric(rows[col], errors="coerce") * float(factor)
        out[space] = rows
    return out


def plan_power(plan: Plan, pilots: Mapping[str, pd.DataFrame], effects: Mapping[str, float],
               n: int, reps: int = 200, seed: int = 0, n_boot: int = 1000,
               scale: Mapping[str, Mapping[str, float]] | None = None) -> pd.DataFrame:
    """Per hypothesis: the fraction of `reps` simulated studies of `n` models per space in
    which `verdicts` gives the claimed verdict, and the fraction that contradict it. `scale`
    (``{space: {column: factor}}``) multiplies columns of a space's pilot rows
    (`scaled_pilots`): the effect a `best_shift` or `best_exponent` hypothesis claims.

    A plan with a ``sequential:`` section is also judged at its own n and at any larger `n`, on
    the same simulated studies, by its design with the looks placed on `n`
    (`analysis.sequential.sequential_verdicts`): ``power_sequential`` and
    ``contradicted_sequential`` are the same fractions under the sequential verdicts, and
    ``models_sequential`` the mean models per space the sequential design trains
    (`analysis.sequential.models_trained`, averaged over the plan's spaces and the studies);
    below the plan's n these columns are empty (the plan is not run there)."""
    missing = [s for s in plan_spaces(plan) if s not in pilots]
    if missing:
        raise ValueError(f"pilots: no pilot rows for {missing}; give one frame per space of "
                         "the plan")
    for space, pilot in pilots.items():
        if len(pilot) < 2:
            raise ValueError(f"pilots.{space}: {len(pilot)} rows; need >= 2")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n: {n!r} is not allowed; use an integer >= 2 models per space")
    pilots = scaled_pilots(plan, pilots, scale)
    quick = replace(plan, n_boot=int(n_boot))
    design = plan.sequential
    judged = design is not None and int(n) >= plan.n_per_space
    rng = np.random.default_rng(seed)
    ids = [h.id for h in plan.hypotheses]
    hits, contra = dict.fromkeys(ids, 0), dict.fromkeys(ids, 0)
    hits_s, contra_s = dict.fromkeys(ids, 0), dict.fromkeys(ids, 0)
    models = 0.0
    for _ in range(int(reps)):
        study = resample_study(pilots, effects, int(n), rng, plan.column)
        _tally(plan, verdicts(study, quick)["verdict"], hits, contra)
        if judged:
            seq = sequential_verdicts(study, quick, design, int(n))
            _tally(plan, seq["verdict"], hits_s, contra_s)
            decided = dict(zip(ids, seq["look"], strict=True))
            trained = models_trained(quick, design, int(n), decided)
            models += float(np.mean(list(trained.values())))
    rows = []
    for h in plan.hypotheses:
        row = {"id": h.id, "kind": h.kind, "claimed": claimed(h.kind), "n": int(n),
               "reps": int(reps), "n_boot": int(n_boot), "power": hits[h.id] / reps,
               "contradicted": contra[h.id] / reps}
        if design is not None:
            row.update({"power_sequential": hits_s[h.id] / reps if judged else math.nan,
                        "contradicted_sequential": contra_s[h.id] / reps if judged
                        else math.nan,
                        "models_sequential": models / reps if judged else math.nan})
        rows.append(row)
    return pd.DataFrame(rows)


def _tally(plan: Plan, verdict: Sequence[str], hits: dict[str, int],
           contra: dict[str, int]) -> None:
    """Count, per hypothesis, a verdict that is the claimed one and one that contradicts it."""
    for h, v in zip(plan.hypotheses, verdict, strict=True):
        hits[h.id] += v == claimed(h.kind)
        contra[h.id] += v == "contradicted"


def plan_sample_size(plan: Plan, pilots: Mapping[str, pd.DataFrame],
                     effects: Mapping[str, float], grid: Sequence[int], target: float = 0.8,
                     **kw) -> pd.DataFrame:
    """`plan_power` at each n of the ascending `grid`, stopping at the first n where every
    hypothesis reaches `target` (the fixed design's power) and, for a plan with a
    ``sequential:`` section, that is also at least its n_per_space and where the sequential
    design's power reaches `target` too, so that the table holds the sequential design's power
    at the plan's n and the n it needs (an n_per_space that the grid does not hold is walked as
    one more n of it); one row per (n, hypothesis). The pilots are fitted and scaled once
    (`scaled_pilots`, keyword `scale`), not at every n."""
    if not 0 < target < 1:
        raise ValueError(f"target: {target!r} is not allowed; use a power in (0, 1)")
    kw = dict(kw)
    pilots = scaled_pilots(plan, pilots, kw.pop("scale", None))
    least = plan.n_per_space if plan.sequential is not None else None
    out = []
    ns = sorted(int(x) for x in grid)
    if least is not None and least not in ns:
        ns = sorted([*ns, least])
    for n in ns:
        table = plan_power(plan, pilots, effects, n, **kw)
        out.append(table)
        done = (table["power"] >= target).all()
        if least is not None:
            done = done and n >= least and bool((table["power_sequential"] >= target).all())
        if done:
            break
    return pd.concat(out, ignore_index=True)
