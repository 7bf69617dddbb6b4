"""The power of every hypothesis of a plan at n models per space, by resampling a pilot.

`power` (power_analysis.py) sizes one two-space comparison. A plan states several hypotheses of
several kinds, equivalence included, judged together under Holm, so its power is measured on the
plan itself: each Monte Carlo replicate draws n rows per space of the plan, with replacement,
from that space's pilot rows (every column kept, so parameters travel with their errors),
multiplies the space's errors by its planned `effects` factor (e.g. 0.8: a space 20 % better,
every quantile; 1.0: no difference, the situation an equivalence hypothesis claims), and runs
`plan.verdicts` on the replicate: the same tests, the same correction, the same verdict rule as
the study will. A hypothesis's power is the fraction of replicates whose verdict is the one the
hypothesis claims (``supported``, or ``equivalent`` for kind ``equivalent``). Replicates use
`n_boot` bootstrap resamples (fewer than a study's, for speed; stated in the output).
See docs/ANALYSIS.md, "Power of a plan".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .plan import Plan, verdicts


def plan_spaces(plan: Plan) -> list[str]:
    """The design-space labels a plan's hypotheses read, in order of first use."""
    out: list[str] = []
    for h in plan.hypotheses:
        p = h.params
        names = [p[k].space for k in ("a", "b") if k in p]
        names += [p["space"]] if "space" in p else []
        names += list(p.get("spaces") or ())
        out += [s for s in names if s not in out]
    return out


def claimed(kind: str) -> str:
    """The verdict a hypothesis of `kind` claims."""
    return "equivalent" if kind == "equivalent" else "supported"


def resample_study(pilots: Mapping[str, pd.DataFrame], effects: Mapping[str, float], n: int,
                   rng: np.random.Generator, column: str = "error") -> pd.DataFrame:
    """One simulated study: n rows per space drawn with replacement from its pilot rows, the
    space's `column` multiplied by its effect factor, labelled with the plan's space name."""
    parts = []
    for space, pilot in pilots.items():
        rows = pilot.iloc[rng.integers(0, len(pilot), size=n)].copy()
        rows[column] = pd.to_numeric(rows[column], errors="coerce") * effects.get(space, 1.0)
        rows["design_space"] = space
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def plan_power(plan: Plan, pilots: Mapping[str, pd.DataFrame], effects: Mapping[str, float],
               n: int, reps: int = 200, seed: int = 0, n_boot: int = 1000) -> pd.DataFrame:
    """Per hypothesis: the fraction of `reps` simulated studies of `n` models per space in
    which `verdicts` gives the claimed verdict, and the fraction that contradict it."""
    missing = [s for s in plan_spaces(plan) if s not in pilots]
    if missing:
        raise ValueError(f"pilots: no pilot rows for {missing}; give one frame per space of "
                         "the plan")
    for space, pilot in pilots.items():
        if len(pilot) < 2:
            raise ValueError(f"pilots.{space}: {len(pilot)} rows; need >= 2")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n: {n!r} is not allowed; use an integer >= 2 models per space")
    quick = replace(plan, n_boot=int(n_boot))
    rng = np.random.default_rng(seed)
    hits = {h.id: 0 for h in plan.hypotheses}
    contra = dict(hits)
    for _ in range(int(reps)):
        v = verdicts(resample_study(pilots, effects, int(n), rng, plan.column), quick)
        for h, verdict in zip(plan.hypotheses, v["verdict"], strict=True):
            hits[h.id] += verdict == claimed(h.kind)
            contra[h.id] += verdict == "contradicted"
    return pd.DataFrame([{"id": h.id, "kind": h.kind, "claimed": claimed(h.kind), "n": int(n),
                          "reps": int(reps), "n_boot": int(n_boot),
                          "power": hits[h.id] / reps, "contradicted": contra[h.id] / reps}
                         for h in plan.hypotheses])


def plan_sample_size(plan: Plan, pilots: Mapping[str, pd.DataFrame],
                     effects: Mapping[str, float], grid: Sequence[int], target: float = 0.8,
                     **kw) -> pd.DataFrame:
    """`plan_power` at each n of the ascending `grid`, stopping at the first n where every
    hypothesis reaches `target`; one row per (n, hypothesis)."""
    if not 0 < target < 1:
        raise ValueError(f"target: {target!r} is not allowed; use a power in (0, 1)")
    out = []
    for n in sorted(int(x) for x in grid):
        table = plan_power(plan, pilots, effects, n, **kw)
        out.append(table)
        if (table["power"] >= target).all():
            break
    return pd.concat(out, ignore_index=True)
