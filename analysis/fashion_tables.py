"""The Fashion-MNIST instrument's generated blocks of docs/REGIME.md (issue 21; ``conf/study/
fashion.yaml``, ``dse-study fashion docs``): the reference screen's stages 1, 2 and 3, each
judged by the rule committed before its runs (`analysis.reference_screen`) once all its runs are
in its export ``results/fashion/screen.csv`` (one row per run), and until then saying what is
missing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import reference_screen as rs
from .docblocks import read_csv, space_name, table
from .sequential_tables import core_hours

SCREEN = "fashion/screen.csv"
# Stage 1's candidates in cost order, and its runs per candidate (docs/REGIME.md, "Stage 1").
CANDIDATES = ("fm_t10k_e5", "fm_t10k_e10", "fm_t30k_e5")
SPACES = (*rs.REFEREED, "regnetx")
STAGE_ONE_INDICES = 12
SEEDS = (0, 1)
STAGE_ONE_RUNS = len(SPACES) * STAGE_ONE_INDICES * len(SEEDS)
# Stages 2 and 3: indices 0-23 (docs/REGIME.md, "Stage 2", "Stage 3").
STAGE_TWO_INDICES = 24
PROXIES = (rs.PROXY, rs.PROXY_T5K)
STAGE_THREE_RUNS = len(SPACES) * STAGE_TWO_INDICES * len(rs.PROXY_SEEDS)


@dataclass(frozen=True)
class Inputs:
    screen: pd.DataFrame


def load(results: Path) -> Inputs:
    return Inputs(read_csv(results / SCREEN, "dse-study fashion export screen"))


def _runs(screen: pd.DataFrame, regime: str, indices: int, seeds: Sequence[int]
          ) -> pd.DataFrame:
    """The runs of `regime` on indices below `indices` of the five spaces under `seeds`."""
    return screen[(screen["regime_name"] == regime) & screen["design_space"].isin(SPACES)
                  & (screen["index"] < indices) & screen["train_seed"].isin(list(seeds))]


def stage_one_runs(screen: pd.DataFrame, candidate: str) -> pd.DataFrame:
    """The candidate's stage-1 runs: indices below 12 of the five spaces under seeds 0, 1."""
    return _runs(screen, candidate, STAGE_ONE_INDICES, SEEDS)


def stage_one_tables(screen: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """`reference_screen.stage_one` of every candidate whose stage-1 runs are all recorded, in
    cost order."""
    out = {}
    for candidate in CANDIDATES:
        runs = stage_one_runs(screen, candidate)
        if len(runs) == STAGE_ONE_RUNS:
            out[candidate] = rs.stage_one(runs, SPACES)
    return out


@dataclass(frozen=True)
class Reference:
    """Stage 1's choice: the candidate, the seeds per model of stage 2 (k, at least 2) and
    whether it passed stage 1 (otherwise it misses the target and runs `rs.K_MAX` seeds, the
    most the rule allows)."""

    name: str
    k: int
    passed: bool

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.k))

    @property
    def runs(self) -> int:
        """Stage 2's runs: five spaces × 24 indices × k seeds."""
        return len(SPACES) * STAGE_TWO_INDICES * self.k


def reference(screen: pd.DataFrame) -> Reference | None:
    """The reference stage 1 has chosen (`rs.choose` on the complete candidates): the first
    that passes, or, once every candidate is complete and none passes, the one with the largest
    smallest ρ₁; None while neither is known."""
    tables = stage_one_tables(screen)
    if not tables:
        return None
    name, k, passed = rs.choose(tables)
    if passed:
        return Reference(name, max(int(k), 2), True)
    if len(tables) == len(CANDIDATES):
        return Reference(name, rs.K_MAX, False)
    return None


def stage_two_runs(screen: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """The reference's stage-2 runs: indices 0-23 of the five spaces under seeds 0 … k − 1."""
    return _runs(screen, ref.name, STAGE_TWO_INDICES, ref.seeds)


def stage_three_runs(screen: pd.DataFrame, candidate: str) -> pd.DataFrame:
    """A proxy candidate's runs: indices 0-23 of the five spaces under seeds 0, 1."""
    return _runs(screen, candidate, STAGE_TWO_INDICES, rs.PROXY_SEEDS)


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if np.isfinite(x) else "–"


def _cost(candidate: str, runs: pd.DataFrame) -> str:
    """The candidate's machine time: the sum of its runs' own wall seconds (one core each), and
    the median run."""
    wall = pd.to_numeric(runs["wall_seconds"], errors="coerce")
    return (f"`{candidate}` cost: {len(runs)} runs, {core_hours(runs):.2f} core-hours (the sum "
            f"of the runs' own wall times), median {wall.median():.1f} s per run.")


def stage_one(inp: Inputs) -> str:
    """Per candidate and space: models, trained fractions, ρ₁, k and the k-seed reliability;
    for RegNetX the spread-to-noise ratio; then the rule's decision."""
    rows, lines = [], []
    tables: dict[str, pd.DataFrame] = {}  # the complete candidates' stage-1 tables, cost order
    for candidate in CANDIDATES:
        runs = stage_one_runs(inp.screen, candidate)
        if runs.empty:
            continue
        if len(runs) < STAGE_ONE_RUNS:
            lines.append(f"`{candidate}`: {len(runs)} of {STAGE_ONE_RUNS} runs recorded; "
                         "not judged until all are.")
            continue
        tables[candidate] = rs.stage_one(runs, SPACES)
        lines.append(_cost(candidate, runs))
        for r in tables[candidate].itertuples():
            extra = ""
            if r.space not in rs.REFEREED:
                s = rs.spread_to_noise(runs, r.space)
                extra = f"spread/noise {_num(s['ratio'])} (IQR {_num(s['iqr'])}, noise " \
                        f"{_num(s['noise'])} points)"
            rows.append([f"`{candidate}`", space_name(r.space), str(r.models),
                         _num(r.trained_s0), _num(r.trained_s1), _num(r.rho1),
                         str(int(r.k)) if pd.notna(r.k) else "> 4",
                         _num(r.reliability_k), extra])
    if tables:
        name, k, passed = rs.choose(tables)
        if passed:
            lines.append(f"**Decision:** `{name}` passes stage 1 (every refereed space trains "
                         f"≥ {rs.TRAINED_MIN:g} under both seeds and reaches "
                         f"{rs.TARGET:g} with k ≤ {rs.K_MAX}): it is the reference, with "
                         f"k = {k} seeds per model.")
        elif len(tables) == len(CANDIDATES):
            lines.append(f"**Decision:** no candidate passes; the reference is `{name}`, the "
                         "one whose smallest refereed ρ₁ is largest, and it misses the "
                         f"{rs.TARGET:g} target.")
        else:
            failed = ", ".join(f"`{c}`" for c in tables)
            lines.append(f"**Decision so far:** {failed} fails stage 1; the next candidate "
                         "in cost order runs.")
    head = ["candidate", "space", "models", "trained s0", "trained s1", "ρ₁", "k",
            "reliability (k seeds)", "RegNetX"]
    parts = [table(head, rows)] if rows else []
    return "\n\n".join([*parts, *lines]) or "No stage-1 candidate has runs yet."


def _iv(iv_value: float, low: float, high: float, digits: int = 2, sign: bool = False) -> str:
    """A value with its interval, e.g. ``+1.20 [+0.31, +2.05]``; "–" when undefined."""
    if not np.isfinite(iv_value):
        return "–"
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f"{f.format(iv_value)} [{f.format(low)}, {f.format(high)}]"


def _pair_name(a: str, b: str) -> str:
    return f"{space_name(a)} → {space_name(b)}"


def _names(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(_pair_name(a, b) for a, b in pairs)


def _stage_two_state(screen: pd.DataFrame) -> tuple[Reference | None, pd.DataFrame, str | None]:
    """(the reference, its stage-2 runs, why stage 2 is not judged yet, None once it is)."""
    ref = reference(screen)
    if ref is None:
        return None, screen.iloc[:0], "Stage 1 has not chosen a reference yet."
    runs = stage_two_runs(screen, ref)
    if len(runs) < ref.runs:
        return ref, runs, (f"`{ref.name}` (the reference, k = {ref.k}): {len(runs)} of "
                           f"{ref.runs} stage-2 runs recorded ({len(SPACES)} spaces × "
                           f"{STAGE_TWO_INDICES} indices × {ref.k} seeds); not judged until "
                           "all are.")
    return ref, runs, None


def _regnetx_report(runs: pd.DataFrame, ref: Reference, rho: float) -> str:
    """Spread-to-noise on the k seeds and the k the 0.85 target would need."""
    s = rs.spread_to_noise(runs, "regnetx", ref.seeds)
    need = rs.seeds_needed(rho, k_max=rs.K_REPORT_MAX)
    return (f"spread/noise {_num(s['ratio'])} (IQR {_num(s['iqr'])}, noise {_num(s['noise'])} "
            f"points); k for {rs.TARGET:g}: "
            + (str(need) if need else f"none ≤ {rs.K_REPORT_MAX}"))


def _resolving(means: pd.DataFrame, a: str, b: str, k: int, seconds: float) -> list[str]:
    """The cells of an unresolved pair: the N per space that would resolve it
    (`rs.resolving_n` on each space's k-seed means), the cost of a reference study of that
    size in core-hours at `seconds` per run, and whether it is affordable."""
    size = rs.resolving_n(*(means.loc[means["design_space"] == s, "error"].to_numpy(float)
                            for s in (a, b)))
    if size.n is None:
        return [f"> {max(rs.POWER_GRID)}", "–", "no"]
    hours = rs.study_core_hours(size.n, len(SPACES), k, seconds)
    return [str(size.n), f"{hours:.1f}", "yes" if rs.affordable(hours) else "no"]


def stage_two(inp: Inputs) -> str:
    """The reference on 24 models: per space its k-seed reliability (with the lower bound of its
    interval) and, for RegNetX, spread-to-noise and the k it would need; per refereed pair the
    difference of medians, whether it is resolved and, if not, the N that would resolve it."""
    ref, runs, wait = _stage_two_state(inp.screen)
    if wait is not None:
        return wait
    table_ = rs.stage_two(runs, SPACES, ref.seeds)
    rows = []
    for r in table_.itertuples():
        refereed = r.space in rs.REFEREED
        rows.append([space_name(r.space), str(r.models), str(r.trained), _num(r.rho),
                     (f"{_num(r.reliability)} ({_num(r.low)})"
                      if np.isfinite(r.reliability) else "–"),
                     ("yes" if r.reproduces else "**no**") if refereed else "(not refereed)",
                     "" if refereed else _regnetx_report(runs, ref, r.rho)])
    seconds = float(pd.to_numeric(runs["wall_seconds"], errors="coerce").median())
    means = rs.seed_means(runs, ref.seeds)
    pairs = rs.pair_table(means)
    prow = []
    for p in pairs.itertuples():
        extra = (["–", "–", "–"] if p.resolved
                 else _resolving(means, p.a, p.b, ref.k, seconds))
        prow.append([_pair_name(p.a, p.b), _iv(p.diff, p.low, p.high, sign=True),
                     "yes" if p.resolved else "no", *extra])
    lead = (f"`{ref.name}` is the reference, k = {ref.k} seeds per model"
            + ("" if ref.passed else " (it missed stage 1's target; k is the most the rule "
               "allows)") + f": {len(runs)} runs, median {seconds:.1f} s per run, so about "
            f"{ref.k * seconds:.0f} s per model; {core_hours(runs):.2f} core-hours in all (the "
            "sum of the runs' own wall times).")
    misses = table_[table_["space"].isin(rs.REFEREED) & ~table_["reproduces"]]
    verdict = ("**Reproduces itself** in every refereed space (reliability of the "
               f"{ref.k}-seed mean ≥ {rs.TARGET:g})." if misses.empty else
               "**Does not reproduce itself** in " + ", ".join(
                   f"{space_name(m.space)} ({_num(m.reliability)})"
                   for m in misses.itertuples())
               + f": there it misses the {rs.TARGET:g} target.")
    done = [(p.a, p.b) for p in pairs.itertuples() if p.resolved]
    open_ = [(p.a, p.b) for p in pairs.itertuples() if not p.resolved]
    verdict_pairs = ("**Pairs:** resolved at 24 models: " + (_names(done) or "none") + "; not "
                     "resolved: " + (_names(open_) or "none")
                     + (" (never counted as agreement)." if open_ else "."))
    rules = (f"Reliability: the mean pairwise seed ρ over the models trained under all {ref.k} "
             f"seeds, Spearman–Brown for {ref.k}; in brackets the lower end of its 95 % "
             f"percentile-bootstrap interval ({rs.N_BOOT} resamples of models, seed {rs.SEED}). "
             "Pairs: the difference of median k-seed-mean errors (a model that did not finish "
             "under some seed counts as 100 %), each space's models resampled independently "
             f"({rs.N_BOOT} resamples, seed {rs.SEED}). N: the first of "
             f"{', '.join(map(str, rs.POWER_GRID))} models per space at which "
             f"{rs.POWER_TARGET:g} of {rs.POWER_REPS} simulated studies (each space's k-seed "
             f"means drawn with replacement; intervals of {rs.POWER_BOOT} resamples) exclude "
             f"0; its cost N × {len(SPACES)} spaces × {ref.k} seeds × {seconds:.1f} s, "
             f"affordable at ≤ {rs.AFFORDABLE_CORE_HOURS:g} core-hours.")
    head = ["space", f"models ({ref.k} seeds)", "trained under all", "mean pairwise ρ",
            f"reliability, {ref.k}-seed mean (lower 95 % bound)",
            f"reproduces (≥ {rs.TARGET:g})", "RegNetX"]
    phead = ["pair (a → b)", "median error b − a, points [95 %]", "resolved",
             f"N per space to resolve ({rs.POWER_TARGET:g} power)", "cost at N, core-hours",
             f"affordable (≤ {rs.AFFORDABLE_CORE_HOURS:g})"]
    return "\n\n".join([lead, table(head, rows), table(phead, prow), verdict, verdict_pairs,
                         rules])


def stage_three(inp: Inputs) -> str:
    """The two proxy candidates against the reference: per space trained fractions, single-run
    ρ(proxy seed, reference), ρ between proxy seeds and seconds per model; per refereed pair
    the differences under proxy and reference with their ratio; the rule's choice and the pairs
    the chosen proxy orders otherwise than the reference."""
    ref, ref_runs, wait = _stage_two_state(inp.screen)
    runs = {c: stage_three_runs(inp.screen, c) for c in PROXIES}
    missing = [f"`{c}`: {len(r)} of {STAGE_THREE_RUNS} runs recorded."
               for c, r in runs.items() if len(r) < STAGE_THREE_RUNS]
    if wait is not None or missing:
        parts = ([] if wait is None else [wait if ref is None
                                          else f"Stage 2 is not complete: {wait}"]) + missing
        return " ".join([*parts, "Stage 3 is not judged until both candidates' runs and stage "
                         "2 are all recorded."])
    judged = {c: rs.judge_proxy(c, r, ref_runs, ref.seeds, SPACES) for c, r in runs.items()}
    rows, prow, lines = [], [], []
    for c, j in judged.items():
        for r in j.spaces.itertuples():
            rows.append([f"`{c}`", space_name(r.design_space), str(int(r.n)),
                         f"{_num(r.trained_s0)} / {_num(r.trained_s1)}",
                         _iv(r.rho_ref_s0, r.rho_ref_s0_low, r.rho_ref_s0_high),
                         _iv(r.rho_ref_s1, r.rho_ref_s1_low, r.rho_ref_s1_high),
                         _iv(r.rho_seeds, r.rho_seeds_low, r.rho_seeds_high),
                         _num(r.median_seconds, 1)])
        for p in j.pairs.itertuples():
            order = {"alike": "alike", "other way": "**the other way: contradiction**",
                     "tied": "tied (not ordered)"}.get(p.order, "– (not resolved)")
            prow.append([f"`{c}`", _pair_name(p.a, p.b),
                         _iv(p.proxy, p.proxy_low, p.proxy_high, sign=True),
                         _iv(p.ref, p.ref_low, p.ref_high, sign=True), _num(p.inflation),
                         "yes" if p.resolved else "no", order])
        lines.append(f"`{c}`: score {_num(j.score, 3)} (mean single-run ρ(proxy, reference) "
                     f"over {len(SPACES)} spaces × {len(rs.PROXY_SEEDS)} seeds), least trained "
                     f"fraction {_num(j.trained_min)}.")
        lines.append(_cost(c, runs[c]))
    chosen = rs.choose_proxy(judged)
    base, alt = judged[rs.PROXY], judged[rs.PROXY_T5K]
    why = (f"`{rs.PROXY_T5K}` trains ≥ {rs.TRAINED_MIN:g} in every space and scores "
           f"{alt.score - base.score:+.3f} against `{rs.PROXY}`, more than {rs.SCORE_MARGIN:g}"
           if chosen == rs.PROXY_T5K else
           f"`{rs.PROXY_T5K}` scores {alt.score - base.score:+.3f} against it and trains at "
           f"least {_num(alt.trained_min)}; it would need more than {rs.SCORE_MARGIN:g} and "
           f"≥ {rs.TRAINED_MIN:g}")
    lines.append(f"**Chosen proxy: `{chosen}`** ({why}).")
    j = judged[chosen]
    refereed = j.pairs[j.pairs["resolved"]]
    bad = rs.contradictions(j)
    tied = [(p.a, p.b) for p in refereed.itertuples() if p.order == "tied"]
    if refereed.empty:
        lines.append("The reference resolves none of the pairs, so none is ordered by it; "
                     "an unresolved pair is not agreement.")
    elif not bad and not tied:
        both = [(p.a, p.b) for p in refereed.itertuples()]
        lines.append(f"Every pair the reference resolves ({_names(both)}) is ordered alike "
                     f"by `{chosen}`.")
    if bad:
        lines.append(f"**Contradiction between the instruments:** `{chosen}` orders "
                     f"{_names(bad)} the other way from the reference.")
    if tied:
        lines.append(f"`{chosen}` does not order {_names(tied)}, which the reference "
                     "resolves: not ordered alike.")
    head = ["candidate", "space", "models", "trained s0 / s1", "ρ(s0, reference) [95 %]",
            "ρ(s1, reference) [95 %]", "ρ(s0, s1) [95 %]", "median s per model"]
    phead = ["candidate", "pair (a → b)", "b − a, proxy (two-seed mean) [95 %]",
             f"b − a, reference ({ref.k}-seed mean) [95 %]",
             "gap inflation (proxy / reference)", "reference resolves", "proxy orders it"]
    return "\n\n".join([table(head, rows), table(phead, prow), *lines])


BLOCKS: dict[str, Callable[[Inputs], str]] = {"fashion-stage1": stage_one,
                                              "fashion-stage2": stage_two,
                                              "fashion-stage3": stage_three}
