"""Verdicts across two datasets (issue 21, item 4; ``conf/study/robustness.yaml``): the
references' files (`files`, written by ``dse-study robustness references``) and the generated
block ``robustness`` of docs/RESULTS.md that reads them back with the datasets' verdicts
(`load`, `BLOCKS`).

- ``<reference>_models.csv``: the reference's pilot models, one row per model (the mean error
  over its seeds, `analysis.robustness.pilot_models`); ``%.6g``;
- ``<reference>_verdicts.csv``: the configured plans judged on them
  (`analysis.robustness.reference_verdicts`); ``%.4g``.

A reference is judged once its pilot's runs are all in its export; the Fashion-MNIST reference
is the candidate that the screen's stage 1 chooses (docs/REGIME.md, "Stage 1"), with its k seeds
(at least 2; `reference_screen.K_MAX` where no candidate passes). A dataset's cell is "not run
yet" until its study's verdicts CSV exists. The rule is `analysis.robustness.reading`.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import fashion_tables as ft
from .claims import verdict_row
from .cost_tables import PartCost, cost_block, cost_frame, costs
from .docblocks import read_csv, space_name, table
from .plan import find_plan, load_plan
from .robustness import (
    NOT_JUDGED,
    Cell,
    Reference,
    Robustness,
    Row,
    expected_runs,
    pilot_models,
    pilot_runs,
    reading,
    reference_verdicts,
    select,
)
from .study import StudyConfig, load_study, study_names
from .study_export import study_frame

STUDY = "robustness"  # conf/study/robustness.yaml
NOT_RUN = "not run yet"
FALSE_POSITIVE = 0.05  # a plan power no higher than this at every n: no effect to find


# -- where a reference stands ---------------------------------------------------------------------
@dataclass(frozen=True)
class State:
    """A reference's regime and seeds (None: stage 1 has not chosen yet), its pilot's runs
    recorded and expected, and how its status reads while it cannot be judged."""

    reference: Reference
    regime: str | None
    seeds: tuple[int, ...]
    recorded: int
    expected: int
    passed: bool = True  # a stage-1 choice that passed the rule (else it misses the target)

    @property
    def complete(self) -> bool:
        return self.regime is not None and self.recorded == self.expected

    def status(self) -> str:
        if self.regime is None:
            return "not chosen yet (docs/REGIME.md, \"Stage 1, judged\")"
        return (f"`{self.regime}` under seeds {_seeds(self.seeds)}: {self.recorded} of "
                f"{self.expected} runs recorded")


def _seeds(seeds: tuple[int, ...]) -> str:
    return ", ".join(map(str, seeds))


def _runs(ref: Reference, results: Path) -> pd.DataFrame:
    return read_csv(results / ref.runs, f"export it first (the runs of {ref.title})")


def state(ref: Reference, runs: pd.DataFrame) -> State:
    """Where `ref` stands on its runs export `runs`."""
    regime, seeds, passed = ref.regime, ref.seeds, True
    if ref.chosen_by is not None:
        chosen = ft.reference(runs)  # stage 1's choice (docs/REGIME.md "Stage 1")
        if chosen is None:
            return State(ref, None, (), 0, 0)
        regime, seeds, passed = chosen.name, chosen.seeds, chosen.passed
    recorded = pilot_runs(runs, regime, seeds, ref.spaces, ref.indices)
    n = len(recorded.drop_duplicates(["design_space", "index", "train_seed"]))
    return State(ref, regime, seeds, n, expected_runs(ref, seeds), passed)


# -- the references' files ------------------------------------------------------------------------
def _judged_frame(models_csv: str, ref: Reference) -> pd.DataFrame:
    """The pilot's models CSV read back as a models export (`study_export.study_frame`, the one
    reader: specs, shared b and g, the data's classes)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pilot.csv"
        path.write_text(models_csv)
        return study_frame(path, ref.data)


def _plans(cfg: Robustness) -> dict[str, Any]:
    return {p.plan: select(load_plan(find_plan(p.plan)), p.ids) for p in cfg.plans}


def files(study: StudyConfig, results: Path) -> dict[str, str]:
    """``dse-study robustness references``: per reference whose pilot is complete, its models
    and its verdicts, by path under the results folder (a reference still running has none),
    and the machine time's parts (``cost.csv``, `analysis.cost_tables.cost_frame`)."""
    cfg: Robustness = study.robustness
    plans = _plans(cfg)
    out = {}
    for name, ref in cfg.references.items():
        runs = _runs(ref, results)
        st = state(ref, runs)
        if not st.complete:
            continue
        picked = pilot_runs(runs, st.regime, st.seeds, ref.spaces, ref.indices)
        models = pilot_models(picked, st.seeds, ref.spaces).to_csv(index=False,
                                                                   float_format="%.6g")
        judged = reference_verdicts(_judged_frame(models, ref), plans)
        _check_reference_ids(cfg, judged)
        out[f"{cfg.folder}/{name}_models.csv"] = models
        out[f"{cfg.folder}/{name}_verdicts.csv"] = judged.to_csv(index=False,
                                                                 float_format="%.4g")
    if cfg.cost:  # the parts of the machine time, one row each (issue 21, item 6)
        out[f"{cfg.folder}/cost.csv"] = cost_frame(costs(cfg.cost, results)).to_csv(
            index=False, float_format="%.4f")
    return out


def _check_reference_ids(cfg: Robustness, judged: pd.DataFrame) -> None:
    have = list(judged["id"])
    for i, row in enumerate(cfg.rows):
        if row.reference is not None and row.reference not in have:
            raise ValueError(f"robustness.rows[{i}].reference: {row.reference!r} is not "
                             "allowed; give a hypothesis of robustness.plans: "
                             + ", ".join(have))


# -- the datasets' cells --------------------------------------------------------------------------
@dataclass(frozen=True)
class Judged:
    """One cell: its verdict (None: none yet), how it reads, and for a claim its study left
    unresolved, what its plan's power said (`power_note`; None: no power analysis)."""

    verdict: str | None
    text: str
    power: str | None = None
    posthoc: bool = False


def _num(v: Any) -> str:
    return "–" if pd.isna(v) else f"{float(v):.2g}".replace("-", "−")


def _judged(row: Mapping[str, Any], posthoc: bool = False) -> Judged:
    """A verdicts CSV's row: the verdict (bold where decided) and the estimate with its
    interval."""
    v = str(row["verdict"])
    word = v if v == "not resolved" else f"**{v}**"
    text = f"{word}: {_num(row['estimate'])} [{_num(row['low'])}, {_num(row['high'])}]"
    return Judged(v, text + (" (post hoc)" if posthoc else ""), posthoc=posthoc)


def dataset_cell(cell: Cell | None, cfg: Robustness, studies: Mapping[str, StudyConfig],
                 results: Path, where: str) -> Judged:
    """A dataset's verdict of one claim: the row of its study's verdicts CSV; "not run yet"
    while the CSV (or, for a study of `cfg.placeholders`, its config) does not exist."""
    if cell is None:
        return Judged(None, "not planned")
    study = studies.get(cell.study)
    if study is None:
        if cell.study in cfg.placeholders:
            return Judged(None, NOT_RUN)
        raise ValueError(f"{where}.study: {cell.study!r} is not allowed; give a study of "
                         f"conf/study/ with verdicts, or one of robustness.placeholders")
    if study.verdicts is None or study.plan is None:
        raise ValueError(f"{where}.study: {cell.study!r} is not allowed; give a study with "
                         "verdicts and a plan")
    plan = load_plan(find_plan(study.plan))  # read once: its ids here, its n for the note
    ids = [h.id for h in plan.hypotheses]
    if cell.id not in ids:
        raise ValueError(f"{where}.id: {cell.id!r} is not allowed; plan {study.plan!r} of study "
                         f"{cell.study!r} has " + ", ".join(ids))
    if not (results / study.verdicts).is_file():
        return Judged(None, NOT_RUN)
    judged = _judged(verdict_row(study, cell.id, results, f"{where}.id"), cell.posthoc)
    if judged.verdict != "not resolved" or cell.study not in cfg.power:
        return judged
    note = power_note(results / cfg.power[cell.study], cell.id, plan.n_per_space,
                      f"robustness.power.{cell.study}: write it with the study's power step")
    return dataclasses.replace(judged, text=f"{judged.text} ({note})", power=note)


def power_note(path: Path, hypothesis: str, n: int | None, source: str) -> str:
    """What a plan-power CSV (`analysis.plan_power`) says of `hypothesis` at the study's n:
    "power 0.90 at n = 24", or "not powered: 0.63 at n = 24, needs 48" (the first n of its
    grid from the study's n on that reaches the target, or "> the largest"); where the power
    stays at the level of a false positive (≤ 0.05) at every n of the grid, the pilot shows no
    such effect, and more models would not help: it says so instead of "needs"."""
    rows = read_csv(path, source)
    missing = [c for c in ("id", "n", "power", "target") if c not in rows.columns]
    if missing:
        raise ValueError(f"robustness.power: {str(path)!r} has no column {missing[0]}; give "
                         "the CSV of the study's plan-power step (id, n, power, target)")
    mine = rows[rows["id"] == hypothesis]
    at = mine[mine["n"] == n]
    if at.empty:
        raise ValueError(f"robustness.power: {str(path)!r} has no row for {hypothesis} at "
                         f"n = {n}; {source}")
    power, target = float(at["power"].iloc[0]), float(at["target"].iloc[0])
    if not 0 <= power <= 1 or not 0 < target <= 1:
        raise ValueError(f"robustness.power: {str(path)!r} gives {hypothesis} at n = {n} power "
                         f"{power} and target {target}; give numbers in [0, 1]")
    if power >= target:
        return f"power {power:.2f} at n = {n}"
    grid = mine[mine["n"] >= n]
    if float(grid["power"].max()) <= FALSE_POSITIVE:
        return (f"not powered: {power:.2f} at n = {n}; the pilot shows no such effect (power "
                f"≤ {FALSE_POSITIVE:g} up to n = {int(grid['n'].max())})")
    reach = grid[grid["power"] >= target]["n"]
    needs = f"{int(reach.min())}" if len(reach) else f"> {int(grid['n'].max())}"
    return f"not powered: {power:.2f} at n = {n}, needs {needs}"


def reference_cell(row: Row, judged: pd.DataFrame | None, st: State) -> Judged:
    """A reference's verdict of one claim: its row of the reference's verdicts, "not judged on
    the pilot" with the reason, or where the reference stands while it has none."""
    if row.reference is None:
        return Judged(None, "–")
    if judged is None:
        if st.regime is None:
            return Judged(None, "not chosen yet")
        return Judged(None, f"not judged yet (`dse-study {STUDY} references`)" if st.complete
                      else NOT_RUN)
    hit = judged[judged["id"] == row.reference]
    if hit.empty:
        raise ValueError(f"robustness: {row.reference!r} is not in the reference's verdicts; "
                         f"run dse-study {STUDY} references")
    r = hit.iloc[0]
    if r["verdict"] == NOT_JUDGED:
        return Judged(None, f"not judged on the pilot ({r['note']})")
    return _judged(r)


# -- docs/RESULTS.md ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    """The config, each row's cells (datasets, then references, in table order), where each
    reference stands and its committed pilot models (None: not written)."""

    config: Robustness
    cells: tuple[tuple[Judged, ...], ...]
    states: Mapping[str, State]
    models: Mapping[str, pd.DataFrame | None]
    missing: Mapping[str, str]  # a study not run yet -> why
    cost: tuple[PartCost, ...] = ()  # the parts of robustness.cost (issue 21, item 6)


def _missing(cfg: Robustness, studies: Mapping[str, StudyConfig], results: Path
             ) -> dict[str, str]:
    """The studies the datasets' cells name that have no verdicts yet, and why."""
    out = {}
    for row in cfg.rows:
        for cell in row.cells.values():
            if cell is None or cell.study in out:
                continue
            s = studies.get(cell.study)
            if s is None:
                out[cell.study] = f"conf/study/{cell.study}.yaml is not written yet"
            elif not (results / s.verdicts).is_file():
                out[cell.study] = (f"results/{s.verdicts} does not exist yet "
                                   f"(`dse-study {s.name} verdicts`)")
    return out


def check_power_keys(cfg: Robustness, named: set[str]) -> None:
    """Each study of ``robustness.power`` is one the datasets' cells name (a typo would turn
    its notes off without a word)."""
    unknown = sorted(set(cfg.power) - named)
    if unknown:
        raise ValueError(f"robustness.power.{unknown[0]}: {unknown[0]!r} is not allowed; give "
                         f"a study a dataset's cell names ({', '.join(sorted(named))})")


def load(results: Path) -> Inputs:
    cfg: Robustness = load_study(STUDY).robustness
    named = {c.study for r in cfg.rows for c in r.cells.values() if c is not None}
    known = set(study_names())
    studies = {n: load_study(n) for n in sorted(named & known)}
    check_power_keys(cfg, named)
    states, verdicts_, models = {}, {}, {}
    for name, ref in cfg.references.items():
        states[name] = state(ref, _runs(ref, results))
        found = {}
        for kind in ("models", "verdicts"):
            path = results / cfg.folder / f"{name}_{kind}.csv"
            found[kind] = pd.read_csv(path) if path.is_file() else None
        verdicts_[name], models[name] = found["verdicts"], found["models"]
    cells = []
    for i, row in enumerate(cfg.rows):
        where = f"robustness.rows[{i}] ({row.id})"
        cells.append((*(dataset_cell(row.cells[d], cfg, studies, results, f"{where}.{d}")
                        for d in cfg.datasets),
                      *(reference_cell(row, verdicts_[n], states[n]) for n in cfg.references)))
    return Inputs(cfg, tuple(cells), states, models, _missing(cfg, studies, results),
                  costs(cfg.cost, results))


def row_reading(cfg: Robustness, row: Row, cells: tuple[Judged, ...]) -> str:
    """The rule's reading of one claim (`analysis.robustness.reading`) from its cells."""
    titles = [*cfg.datasets.values(), *(r.title for r in cfg.references.values())]
    by = dict(zip(titles, (c.verdict for c in cells), strict=True))
    n = len(cfg.datasets)
    unplanned = [title for key, title in cfg.datasets.items() if row.cells[key] is None]
    return str(reading({t: by[t] for t in titles[:n]}, {t: by[t] for t in titles[n:]},
                       unplanned))


def _reference_line(name: str, inp: Inputs) -> str:
    """How one reference was built, from its committed pilot models (or where it stands)."""
    st, ref, models = inp.states[name], inp.config.references[name], inp.models[name]
    if models is None:
        return f"- {ref.title}: {st.status()}."
    per = models.groupby("design_space").size()
    spaces = ", ".join(f"{space_name(s)} {int(per.get(s, 0))}" for s in ref.spaces)
    missed = "" if st.passed else " (no candidate passed stage 1: it misses the target)"
    return (f"- {ref.title}: `{models['regime_name'].iloc[0]}`{missed}, each model the mean "
            f"of its runs under seeds {models['seeds'].iloc[0].replace(',', ', ')} "
            f"(results/{ref.runs}); models per space: {spaces}.")


def robustness_block(inp: Inputs) -> str:
    """The references' lines, one row per claim (its verdict on each dataset and under each
    reference, then the rule's reading), a tally and what has not run yet."""
    cfg = inp.config
    rows, readings = [], []
    for row, cells in zip(cfg.rows, inp.cells, strict=True):
        r = row_reading(cfg, row, cells)
        readings.append(r.startswith("**robust**"))
        rows.append([f"`{row.id}`", f"{row.text} ({row.source})", *(c.text for c in cells), r])
    head = ["claim", "the paper says", *cfg.datasets.values(),
            *(r.title for r in cfg.references.values()), "reading"]
    lines = [_reference_line(n, inp) for n in cfg.references]
    tally = f"{sum(readings)} of {len(readings)} claims robust."
    waiting = [f"- `{s}`: {why}." for s, why in inp.missing.items()]
    parts = ["\n".join(lines), table(head, [[c.replace("|", "\\|") for c in r] for r in rows]),
             tally]
    if waiting:
        parts.append("Not run yet:\n\n" + "\n".join(waiting))
    return "\n\n".join(parts)


def two_dataset_cost_block(inp: Inputs) -> str:
    """The machine time of the parts of ``robustness.cost`` (`analysis.cost_tables`)."""
    return cost_block(inp.cost, dict(inp.config.datasets))


BLOCKS: dict[str, Callable[[Inputs], str]] = {"robustness": robustness_block,
                                              "two-dataset-cost": two_dataset_cost_block}
