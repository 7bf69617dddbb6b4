"""The generated tables and numbers of docs/REGIME.md, from committed results.

    python results/instrument_tables.py [--doc docs/REGIME.md] [--results results] [--check]

Reads results/fidelity.csv (the AnyNetX_A fidelity check of the earlier geometry, one row per
pairing of runs), results/instrument/small_geometry.csv (one row per run of the instrument study:
the proxy and the 4x reference under two training seeds, exported by ``results/export.py runs``)
results/instrument/screen.csv (the screened candidate regimes, same columns) and
results/instrument/timing.csv (runs timed on a quiet machine) and results/study.csv (the
stride-2 study at the paper's geometry), and rewrites the text between
the doc's ``<!-- generated: NAME -->`` markers (`analysis.docblocks`). The per-space fidelity
table is computed here with `analysis.fidelity.fidelity_by_space` (seeded bootstrap), so it is
exactly what ``dse-fidelity`` prints for the same runs. ``--check`` writes nothing and exits 1
when a block is stale. Bad input gets one line and exit status 2.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis import docblocks
from analysis.fidelity import Targets, check_targets, fidelity_by_space, split_by_seed
from analysis.trainability import chance_error, trained_mask

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORDER = ["anynetx_a", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]
PROXY, REFERENCE = "proxy", "proxy_long"
CLASSES = 10
CHANCE = chance_error(CLASSES)  # 90 %: "trained" below 45 %
N_BOOT, SEED = 2000, 0
N_MIN = Targets().min_models  # models per space with both reference seeds


@dataclass(frozen=True)
class Judged:
    """A regime's runs against the complete reference: `fidelity_by_space`'s tables and the
    fewest models per space with both of its seeds and both reference seeds."""

    name: str
    spaces: pd.DataFrame
    pairs: pd.DataFrame
    n: int


@dataclass(frozen=True)
class Inputs:
    history: pd.DataFrame
    study: pd.DataFrame  # results/study.csv: the stride-2 (paper geometry) study
    runs: pd.DataFrame
    timing: pd.DataFrame
    first: Judged  # the first candidate (the proxy) against the reference
    chosen: Judged | None  # the regime the screen's rule chose, when it is not the proxy
    screen: pd.DataFrame  # screen_summary: one row per screened regime, the proxy first
    screen_runs: pd.DataFrame  # results/instrument/screen.csv


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ValueError(f"results: {path} is missing; see the module docstring for its source")
    return pd.read_csv(path)


def load(results: Path) -> Inputs:
    runs = _read(results / "instrument" / "small_geometry.csv")
    screened = _read(results / "instrument" / "screen.csv")
    timing = _read(results / "instrument" / "timing.csv")
    summary = screen_summary(runs, screened)
    chosen, _ = screen_choice(summary, _regime_seconds(timing, summary["regime"]))
    return Inputs(history=_read(results / "fidelity.csv"), study=_read(results / "study.csv"),
                  runs=runs, timing=timing, first=judge(runs, runs, PROXY),
                  chosen=None if chosen in (None, PROXY) else judge(runs, screened, chosen),
                  screen=summary, screen_runs=screened)


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def _iv(v: float, lo: float, hi: float, digits: int = 2) -> str:
    if pd.isna(v):
        return "–"
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


NAMES = {"anynetx_a": "AnyNetX_A", "anynetx_b": "AnyNetX_B", "anynetx_c": "AnyNetX_C",
         "anynetx_d": "AnyNetX_D", "anynetx_e": "AnyNetX_E", "regnetx": "RegNetX",
         "pooled": "pooled"}


def _name(space: str) -> str:
    return NAMES.get(space, space)


# -- the earlier check (issue 7: AnyNetX_A, paper geometry) -------------------------------------
def history(inp: Inputs) -> str:
    rows = []
    for _, r in inp.history.iterrows():
        ref, other = (s.strip() for s in str(r["comparison"]).split(" vs "))
        rows.append([str(r["candidate"]), f"`{ref}`", f"`{other}`", str(int(r["n"])),
                     f"{r['trained_ref']:.2f}", f"{r['trained_other']:.2f}",
                     _iv(r["spearman"], r["spearman_low"], r["spearman_high"]),
                     f"{r['median_seconds_ref']:.1f}"])
    return _table(["candidate", "first runs", "second runs", "N", "trained (first)",
                   "trained (second)", "Spearman ρ [95 %]", "median s (first)"], rows)


# -- the instrument study -----------------------------------------------------------------------
def _regime(all_runs: pd.DataFrame, name: str) -> list[pd.DataFrame]:
    runs = all_runs[all_runs["regime_name"] == name]
    if runs.empty:
        raise ValueError(f"results: small_geometry.csv has no runs of regime {name!r}")
    return split_by_seed([runs.reset_index(drop=True)])


def _complete_reference(runs: pd.DataFrame) -> list[pd.DataFrame]:
    """The reference runs of models that have both seeds (the average needs both)."""
    seeds = _regime(runs, REFERENCE)
    keys = ["design_space", "index"]
    common = seeds[0][keys]
    for s in seeds[1:]:
        common = common.merge(s[keys], on=keys)
    return [s.merge(common, on=keys) for s in seeds]


def judge(runs: pd.DataFrame, source: pd.DataFrame, name: str) -> Judged:
    """Regime `name`'s runs in `source` against the complete reference of `runs`
    (`fidelity_by_space`, computed once, in `load`)."""
    seeds = _regime(source, name)
    reference = _complete_reference(runs)
    keys = ["design_space", "index"]
    both = reference[0][keys]
    for s in seeds:
        both = both.merge(s[keys], on=keys)
    n = int(both.groupby("design_space").size().reindex(ORDER).fillna(0).min())
    with warnings.catch_warnings():  # intervals over the few models of a partial reference
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        spaces, pairs = fidelity_by_space(seeds, reference, ORDER, chance_error=CHANCE,
                                          n_boot=N_BOOT, seed=SEED)
    return Judged(name=name, spaces=spaces, pairs=pairs, n=n)


def progress(inp: Inputs) -> str:
    ref = inp.runs[inp.runs["regime_name"] == REFERENCE]
    proxy = inp.runs[inp.runs["regime_name"] == PROXY]
    planned = N_MIN * len(ORDER) * 2  # two training seeds
    return (f"{len(proxy)} proxy runs and {len(ref)} reference runs of {planned} each; "
            f"{_models_with_reference(inp)} models per space have both reference seeds so far")


def _models_with_reference(inp: Inputs) -> int:
    """The fewest models with both reference seeds in any space."""
    per_space = _complete_reference(inp.runs)[0].groupby("design_space").size()
    return int(per_space.reindex(ORDER).fillna(0).min())


def _not_yet(j: Judged) -> str | None:
    if j.n >= N_MIN:
        return None
    return (f"*Not shown yet: {j.n} of {N_MIN} models per space have both seeds of "
            f"`{j.name}` and of the reference; intervals over fewer models say nothing.*")


def _spaces(j: Judged) -> str:
    if (wait := _not_yet(j)) is not None:
        return wait
    rows = []
    for _, r in j.spaces.iterrows():
        rows.append([_name(r["design_space"]), str(int(r["n"])),
                     f"{r['trained_s0']:.2f} / {r['trained_s1']:.2f} / {r['trained_ref']:.2f}",
                     _iv(r["rho_ref_s0"], r["rho_ref_s0_low"], r["rho_ref_s0_high"]),
                     _iv(r["rho_ref_s1"], r["rho_ref_s1_low"], r["rho_ref_s1_high"]),
                     _iv(r["rho_seeds"], r["rho_seeds_low"], r["rho_seeds_high"]),
                     _iv(r["rho_ref_seeds"], r["rho_ref_seeds_low"], r["rho_ref_seeds_high"])])
    return _table(["space", "N", "trained: s0 / s1 / reference", "ρ(s0, reference) [95 %]",
                   "ρ(s1, reference) [95 %]", "ρ(s0, s1) [95 %]",
                   "ρ(reference s0, reference s1) [95 %]"], rows)


def _pairs(j: Judged) -> str:
    if (wait := _not_yet(j)) is not None:
        return wait
    rows = []
    for _, r in j.pairs.iterrows():
        same = "–" if pd.isna(r["same_sign"]) or r["same_sign"] is None else (
            "yes" if bool(r["same_sign"]) else "**no**")
        rows.append([f"{_name(r['a'])} → {_name(r['b'])}",
                     _iv(r["diff_proxy"], r["diff_proxy_low"], r["diff_proxy_high"]),
                     _iv(r["diff_ref"], r["diff_ref_low"], r["diff_ref_high"]),
                     "yes" if r["resolved"] else "no", same])
    return _table(["pair (a → b)", f"median error b − a, `{j.name}` s0 [95 %]",
                   "the same, reference [95 %]", "reference resolves", "same sign"], rows)


def _targets(j: Judged, seconds: pd.Series) -> str:
    """`analysis.fidelity.check_targets` on `j`'s tables and its quiet-machine cost; the
    criteria that need the reference wait until every space has `N_MIN` models with it."""
    judged = check_targets(j.spaces, j.pairs, seconds, Targets(min_models=N_MIN))
    rows = []
    for r in judged.itertuples():
        if r.holds is None:
            rows.append([r.criterion, r.target, "–", f"not yet judged (N = {j.n} of {N_MIN})",
                         "–"])
            continue
        space = None if pd.isna(r.worst_space) else r.worst_space
        where = "" if space is None else f" ({_name(space)})"
        value = f"{r.worst:.0f}" if space is None else f"{r.worst:.2f}"
        rows.append([r.criterion, r.target, value + where, "yes" if r.holds else "**no**",
                     _missed(r.missed_by, r.criterion)])
    return _table(["criterion (worst space)", "target", "measured", "holds?", "missed by"],
                  rows)


def _missed(gap: float, criterion: str) -> str:
    """`check_targets`' ``missed_by`` as the table shows it."""
    if pd.isna(gap):
        return "–"
    if criterion.startswith("median seconds"):
        return f"{gap:.2f} ({100 * gap / Targets().seconds:.0f} % over)"
    return f"{gap:.0f} pairs" if criterion.startswith("consecutive") else f"{gap:.2f}"


def spaces(inp: Inputs) -> str:
    return _spaces(inp.first)


def pairs(inp: Inputs) -> str:
    return _pairs(inp.first)


def targets(inp: Inputs) -> str:
    return _targets(inp.first, _seconds(inp.timing, "input"))


def _chosen(render: Callable[[Inputs, Judged], str]) -> Callable[[Inputs], str]:
    """A block about the regime the screen chose: `render` of it, or why there is none."""
    def block(inp: Inputs) -> str:
        if inp.chosen is not None:
            return render(inp, inp.chosen)
        if "score" not in inp.screen:
            return "*Not chosen yet: the screen is still running.*"
        return "*The screen kept `proxy`: its tables are the ones above.*"
    return block


def chosen_name(inp: Inputs) -> str:
    if inp.chosen is not None:
        return f"`{inp.chosen.name}`"
    return "not chosen yet" if "score" not in inp.screen else f"`{PROXY}`"


def _seconds(timing: pd.DataFrame, scale: str, regime: str = PROXY) -> pd.Series:
    """Per space, the median quiet-machine seconds per model of `regime` under window rule
    `scale` (NaN where it was not timed)."""
    t = timing[(timing["scale"] == scale) & (timing["regime_name"] == regime)]
    return t.groupby("design_space")["wall_seconds"].median().reindex(ORDER)


def timing(inp: Inputs) -> str:
    rows = []
    for (regime, scale), t in inp.timing.groupby(["regime_name", "scale"], sort=False):
        by = t.groupby("design_space")
        cells = []
        for space in ORDER:
            if space not in by.groups:
                cells.append("–")
                continue
            g = by.get_group(space)
            cells.append(f"{g['wall_seconds'].median():.1f} (n={len(g)}, "
                         f"{g['flops'].median() / 1e6:.1f} MF)")
        rows.append([f"`{regime}`", f"`{scale}`", *cells, f"{t['wall_seconds'].median():.1f}"])
    return _table(["regime", "window rule", *(_name(s) for s in ORDER), "all"], rows)


def seed_spread(inp: Inputs) -> str:
    """Per space: the spread of the seed-averaged proxy errors across models (interquartile
    range) against one model's seed-to-seed difference (median absolute), robust to the few
    models that train slowly; what bounds ρ between seeds."""
    p = _regime(inp.runs, PROXY)
    both = p[0].merge(p[1], on=["design_space", "index"], suffixes=("_0", "_1"))
    rho = inp.first.spaces.set_index("design_space")
    rows = []
    for space in ORDER:
        g = both[(both["design_space"] == space) & (both["status_0"] == "ok")
                 & (both["status_1"] == "ok")]
        mean = (g["error_0"] + g["error_1"]) / 2
        spread = float(np.subtract(*np.percentile(mean, [75, 25])))
        noise = float(np.median(np.abs(g["error_0"] - g["error_1"])))
        r = rho.loc[space]
        rows.append([_name(space), str(len(g)), f"{spread:.2f}", f"{noise:.2f}",
                     f"{spread / noise:.1f}",
                     _iv(r["rho_seeds"], r["rho_seeds_low"], r["rho_seeds_high"])])
    return _table(["space", "N", "IQR across models of the seed-mean error (points)",
                   "median absolute seed 0 − seed 1 difference of one model (points)", "ratio",
                   "ρ(proxy s0, proxy s1) [95 %]"], rows)


def _space_order(space: str) -> tuple[bool, str]:
    return space == "regnetx", space


def geometry(inp: Inputs) -> str:
    """Per space, the trained fraction under the proxy at the paper's geometry (the stride-2
    study, one seed) and at the small-image geometry (the instrument study, each seed)."""
    paper = inp.study.assign(trained=trained_mask(inp.study, CLASSES)).groupby(
        "design_space")["trained"]
    small = inp.runs[inp.runs["regime_name"] == PROXY]
    small = small.assign(trained=trained_mask(small, CLASSES)).groupby(
        ["design_space", "train_seed"])["trained"]
    rows = []
    for space in sorted(set(ORDER) | set(inp.study["design_space"]), key=_space_order):
        p = paper.get_group(space) if space in paper.groups else pd.Series(dtype=bool)
        cells = [f"{p.mean():.2f} (n={len(p)})" if len(p) else "–"]
        for seed in (0, 1):
            key = (space, seed)
            g = small.get_group(key) if key in small.groups else pd.Series(dtype=bool)
            cells.append(f"{g.mean():.2f} (n={len(g)})" if len(g) else "–")
        rows.append([_name(space), *cells])
    return _table(["space", "paper geometry (stride-2 stem), seed 0",
                   "small geometry (stride-1 stem), seed 0", "small geometry, seed 1"], rows)


# -- the screen ----------------------------------------------------------------------------------
SCREEN = {"proxy_e4": "`regime.epochs=4`", "proxy_lr0.2": "`regime.lr=0.2`",
          "proxy_wu0": "`regime.warmup_epochs=0`"}
SCREEN_MODELS = 12  # indices 0-11 of each space
MARGIN = 0.05  # the rule's tolerance on the score and on rho between seeds (docs/REGIME.md)


def screen_summary(runs: pd.DataFrame, screened: pd.DataFrame) -> pd.DataFrame:
    """One row per regime (the proxy, then each of `SCREEN`), all on the same models: the first
    `SCREEN_MODELS` of each space, under both seeds of every regime and of the reference (until
    all are there, only each regime's count of them). Per space, ρ(regime, reference)
    averaged over the regime's two seeds (``rho_<space>``) and ρ between its seeds
    (``seeds_<space>``); ``score`` and ``seeds_mean`` average those over the spaces
    (docs/REGIME.md, "The screen"); ``trained_min`` is the least trained fraction of any
    space and seed."""
    keys = ["design_space", "index"]
    regimes = {PROXY: _regime(runs, PROXY)}
    for name in SCREEN:
        part = screened[screened["regime_name"] == name].reset_index(drop=True)
        regimes[name] = split_by_seed([part]) if len(part) else []
    reference = _complete_reference(runs)
    screened_models = reference[0][keys]
    screened_models = screened_models[screened_models["index"] < SCREEN_MODELS]
    done = {}  # per regime, the screened models it has under both seeds
    for name, seeds in regimes.items():
        have = screened_models if len(seeds) >= 2 else screened_models.iloc[:0]
        for s in seeds:
            have = have.merge(s[keys], on=keys)
        done[name] = have
    common = screened_models
    for have in done.values():
        common = common.merge(have, on=keys)
    if len(common) < SCREEN_MODELS * len(ORDER):  # shown once every regime has every model
        return pd.DataFrame({"regime": list(done), "models": [len(h) for h in done.values()]})
    reference = [r.merge(common, on=keys) for r in reference]
    rows = []
    for name, seeds in regimes.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            table, _ = fidelity_by_space([s.merge(common, on=keys) for s in seeds], reference,
                                         chance_error=CHANCE, n_boot=N_BOOT, seed=SEED)
        per = table[table["design_space"] != "pooled"].set_index("design_space")
        row: dict[str, object] = {"regime": name, "models": len(common)}
        for space in ORDER:
            row[f"rho_{space}"] = float(per.loc[space, ["rho_ref_s0", "rho_ref_s1"]].mean())
            row[f"seeds_{space}"] = float(per.loc[space, "rho_seeds"])
        row["score"] = float(np.mean([row[f"rho_{sp}"] for sp in ORDER]))
        row["seeds_mean"] = float(np.mean([row[f"seeds_{sp}"] for sp in ORDER]))
        row["trained_min"] = float(per[["trained_s0", "trained_s1"]].min().min())
        rows.append(row)
    return pd.DataFrame(rows)


def _regime_seconds(timing: pd.DataFrame, names: pd.Series) -> dict[str, float]:
    """Per regime, the cost the target judges: the largest per-space median of quiet-machine
    seconds per model (window rule `input`), NaN when it was not timed."""
    return {name: float(_seconds(timing, "input", name).max()) for name in names}


def screen_choice(summary: pd.DataFrame, seconds: dict[str, float],
                  target_seconds: float = Targets().seconds) -> tuple[str | None, dict[str, str]]:
    """The rule of docs/REGIME.md, "The screen": the chosen regime (None until every regime
    has all its screened models) and, per candidate, why it does or does not qualify."""
    if "score" not in summary:
        return None, {}
    rows = summary.set_index("regime")
    base = rows.loc[PROXY]
    base_slow = not seconds.get(PROXY, np.inf) <= target_seconds
    reasons, qualified = {}, {}
    for name in SCREEN:
        r = rows.loc[name]
        fast = seconds.get(name, np.inf) <= target_seconds
        if r["trained_min"] < Targets().trained:
            reasons[name] = f"a space trains {r['trained_min']:.2f} < {Targets().trained}"
        elif r["seeds_mean"] < base["seeds_mean"] - MARGIN:
            reasons[name] = (f"ρ between seeds {r['seeds_mean']:.2f}, more than {MARGIN} below "
                             f"the proxy's {base['seeds_mean']:.2f}")
        elif r["score"] > base["score"] + MARGIN:
            reasons[name], qualified[name] = "qualifies: a higher score", r["score"]
        elif r["score"] >= base["score"] - MARGIN and fast and base_slow:
            reasons[name] = "qualifies: as good a score, and meets the cost target"
            qualified[name] = r["score"]
        elif r["score"] >= base["score"] - MARGIN:
            reasons[name] = ("a score within the margin, without the cost target that would "
                             "break the tie" + ("" if np.isfinite(seconds.get(name, np.nan))
                                                else " (not timed)"))
        else:
            reasons[name] = (f"score {r['score']:.2f}, more than {MARGIN} below the proxy's "
                             f"{base['score']:.2f}")
    chosen = max(qualified, key=qualified.get) if qualified else PROXY
    return chosen, reasons


def screen(inp: Inputs) -> str:
    summary = inp.screen
    planned = SCREEN_MODELS * len(ORDER)
    seconds = _regime_seconds(inp.timing, summary["regime"])
    chosen, reasons = screen_choice(summary, seconds)
    rows = []
    for r in summary.to_dict("records"):
        name = r["regime"]
        if "score" not in summary:
            rows.append([f"`{name}`", SCREEN.get(name, "–"), f"{r['models']} of {planned}",
                         *["–"] * (len(ORDER) + 5)])
            continue
        secs = seconds[name]
        rows.append([f"`{name}`", SCREEN.get(name, "(the proxy)"), str(r["models"]),
                     *(f"{r[f'rho_{sp}']:.2f}" for sp in ORDER), f"**{r['score']:.2f}**",
                     f"{r['seeds_mean']:.2f}", f"{r['trained_min']:.2f}",
                     "not timed" if np.isnan(secs) else f"{secs:.1f}",
                     "–" if name == PROXY else reasons.get(name, "–")])
    table = _table(["regime", "change", "models",
                    *(f"ρ(·, ref.) {_name(sp)}" for sp in ORDER), "score",
                    "mean ρ(s0, s1)", "trained (least)", "median s, idle (worst space)",
                    "rule"], rows)
    verdict = ("*Not decided yet: the screen is still running.*" if chosen is None else
               f"**Chosen by the rule: `{chosen}`.**")
    return f"{table}\n\n{verdict}"


def _ceiling(j: Judged) -> str:
    """Per space, how far the reproducibility of the two regimes bounds ρ(proxy, reference):
    a run correlates with another measurement of the same ranking at most about
    √(reliability × reliability) (Spearman's correction for attenuation, applied to rank
    correlations as an approximation). A proxy run's reliability is ρ between proxy seeds; the
    two-seed reference mean's is 2r/(1 + r) with r = ρ between reference seeds (Spearman–Brown)."""
    if (wait := _not_yet(j)) is not None:
        return wait
    rows = []
    for r in j.spaces.to_dict("records"):
        proxy_rel, ref_r = r["rho_seeds"], r["rho_ref_seeds"]
        ref_rel, bound = _bound(proxy_rel, ref_r)
        seen = (r["rho_ref_s0"] + r["rho_ref_s1"]) / 2
        rows.append([_name(r["design_space"]), f"{proxy_rel:.2f}", f"{ref_r:.2f}",
                     "–" if np.isnan(ref_rel) else f"{ref_rel:.2f}",
                     "–" if np.isnan(bound) else f"{bound:.2f}", f"{seen:.2f}"])
    return _table(["space", "ρ(proxy s0, s1)", "ρ(reference s0, s1)",
                   "reliability of the two-seed reference mean", "ceiling of ρ(proxy, reference)",
                   "measured ρ(proxy, reference), mean of the two proxy seeds"], rows)


def ceiling(inp: Inputs) -> str:
    return _ceiling(inp.first)


def _bound(proxy_rel: float, ref_r: float) -> tuple[float, float]:
    """(reliability of the two-seed reference mean, ceiling of ρ(proxy run, reference mean))
    for proxy seeds agreeing at `proxy_rel` and reference seeds at `ref_r` (`_ceiling`); NaN
    where a reliability is not positive."""
    ref_rel = 2 * ref_r / (1 + ref_r) if ref_r > 0 else float("nan")
    ok = proxy_rel > 0 and ref_rel > 0
    return ref_rel, float(np.sqrt(proxy_rel * ref_rel)) if ok else float("nan")


def _ceilings(j: Judged) -> pd.Series:
    """Per space (not pooled), the ceiling of `_bound`."""
    per = j.spaces[j.spaces["design_space"] != "pooled"].set_index("design_space")
    return pd.Series({sp: _bound(r["rho_seeds"], r["rho_ref_seeds"])[1]
                      for sp, r in per.iterrows()})


def ceiling_below(inp: Inputs) -> str:
    """The spaces whose ceiling is below the ρ(proxy, reference) target."""
    if (wait := _not_yet(inp.first)) is not None:
        return wait.strip("*")
    bound = _ceilings(inp.first)
    low = [_name(sp) for sp in ORDER if not bound.get(sp, np.nan) >= Targets().rho_ref]
    return ", ".join(low) if low else "none"


def determinism(inp: Inputs) -> str:
    """The quiet timing runs repeat runs of the instrument study and of the screen under
    training seed 0 (same config and seeds, other code version, other load): how many errors
    agree exactly."""
    t = inp.timing[inp.timing["scale"] == "input"]
    r = pd.concat([inp.runs, inp.screen_runs], ignore_index=True)
    r = r[r["train_seed"] == 0]
    m = t.merge(r, on=["regime_name", "design_space", "index"], suffixes=("_t", "_r"))
    return (f"{int((m['error_t'] == m['error_r']).sum())} of {len(m)} errors are identical "
            "to the digit")


BLOCKS: dict[str, Callable[[Inputs], str]] = {
    "history": history, "instrument-progress": progress, "instrument-spaces": spaces,
    "instrument-pairs": pairs, "instrument-targets": targets, "instrument-timing": timing,
    "instrument-spread": seed_spread, "determinism": determinism, "screen": screen,
    "geometry": geometry,
    "chosen-spaces": _chosen(lambda inp, j: _spaces(j)),
    "chosen-pairs": _chosen(lambda inp, j: _pairs(j)),
    "chosen-targets": _chosen(lambda inp, j: _targets(j, _seconds(inp.timing, "input", j.name))),
    "chosen-name": chosen_name, "instrument-ceiling": ceiling,
    "ceiling-below": ceiling_below}


def main(argv: list[str] | None = None) -> int:
    return docblocks.cli(argv, prog="instrument_tables.py", description=__doc__.split("\n\n")[0],
                         doc=ROOT / "docs" / "REGIME.md", results=HERE, load=load, blocks=BLOCKS)


if __name__ == "__main__":
    sys.exit(main())
