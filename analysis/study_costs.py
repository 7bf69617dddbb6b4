"""What each issue-25 study cost (issue 25, item 4; ``dse-study paper cost`` writes
``results/paper/cost.csv``, ``dse-study paper docs`` the block ``paper-cost`` of
docs/RESULTS.md). One row per study of the study key ``cost``: its plan's populations; the runs
its verdicts judged (a run is one model trained once; the baselines study trains each of its
models under three seeds), for a sequential plan each population's first models up to the look
that decided the last hypothesis needing it (`analysis.sequential.models_trained`); the runs
its fixed-n design would have trained (n_per_space per population); their core-hours (the
runs' own ``wall_seconds``, each run on one core) and median seconds per run. A study whose
verdicts are not written yet counts its populations' runs so far. Studies that share a
population each count it; the total counts every run of the studies' exports once.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .cost_tables import read_table
from .docblocks import table
from .power_analysis import plan_spaces
from .sequential import first_models, models_trained, placed
from .sequential_tables import core_hours

if TYPE_CHECKING:
    from .study import StudyConfig

COLUMNS = ["study", "status", "design", "populations", "runs", "fixed_runs", "core_hours",
           "median_seconds", "runs_csv"]
TOTAL = "all runs"  # the `study` of the last row: every run of the studies' exports, once
DECIDED, UNDECIDED, NOT_RUN = "decided", "not decided yet", "not run yet"


@dataclass(frozen=True)
class Costs:
    """The study key ``cost``: where the table goes and the studies it costs, in order."""

    out: str
    studies: tuple[str, ...]


def parse_costs(value: Any) -> Costs:
    """The study key ``cost`` validated: ``{out: <file under results>, studies: [names]}``,
    each name a study of conf/study/ at most once (that it has a plan and a models export is
    checked when it is costed: loading it here would compose every study with this one)."""
    from .study import _bad, _file, _mapping, _texts, study_names

    c = _mapping("cost", value, ("out", "studies"))
    names = _texts("cost.studies", c.get("studies"))
    if not names or len(set(names)) != len(names):
        raise _bad("cost.studies", c.get("studies"), "name each study of conf/study/ at most "
                   "once, at least one")
    known = study_names()
    for i, name in enumerate(names):
        if name not in known:
            raise _bad(f"cost.studies[{i}]", name, "a study of conf/study/: " + ", ".join(known))
    return Costs(out=_file("cost.out", c.get("out"), optional=False), studies=names)


def _read(path: Path, where: str) -> pd.DataFrame:
    """A models export with ``design_space``, ``index`` and numeric ``wall_seconds``."""
    return read_table(path, where, ("design_space", "index", "wall_seconds"), ("wall_seconds",),
                      "a models export (dse-study NAME export)", "a models export")


def _decided_looks(path: Path, ids: Sequence[str], looks: int, where: str) -> dict[str, int]:
    """Per hypothesis of a sequential plan, the look (1 … `looks`) its verdicts CSV says
    decided it."""
    verdicts = read_table(path, where, ("id", "look"),
                          what="a sequential plan's verdicts CSV (dse-study NAME verdicts)",
                          give="its verdicts CSV")
    out: dict[str, int] = {}
    for h in ids:
        rows = verdicts.loc[verdicts["id"] == h, "look"]
        value = pd.to_numeric(rows, errors="coerce")
        if len(rows) != 1 or value.isna().any() or value.iloc[0] not in range(1, looks + 1):
            raise ValueError(f"{where}: {str(path)!r} gives hypothesis {h} the look(s) "
                             f"{list(rows)}; want one look of 1 to {looks} (write it again "
                             "with dse-study NAME verdicts)")
        out[h] = int(value.iloc[0])
    return out


def _judged(mine: pd.DataFrame, trained: Mapping[str, int], path: Path, where: str
            ) -> pd.DataFrame:
    """Each space's first `trained` models: those the decided plan's verdicts judged; an
    export with fewer is one line (it predates the verdicts)."""
    parts = []
    for space, k in trained.items():
        have = mine[mine["design_space"] == space]
        if have["index"].nunique() < k:
            raise ValueError(f"{where}: {str(path)!r} has {have['index'].nunique()} models of "
                             f"{space}, but the plan's verdicts judged its first {k}; export "
                             "the sweep again (dse-study paper export)")
        parts.append(first_models(have, k))
    return pd.concat(parts)


def study_row(study: StudyConfig, results: Path, shared: Collection[str] = (),
              where: str = "cost") -> dict[str, Any]:
    """One study's row of `COLUMNS` from its committed CSVs under `results`. Until its
    verdicts exist it counts its populations' runs so far, and is "not run yet" while only
    `shared` populations (other studies' too) have runs."""
    from .plan import find_plan, load_plan

    plan = load_plan(find_plan(study.plan))
    spaces = plan_spaces(plan)
    n = plan.n_per_space
    design = None if plan.sequential is None else placed(plan.sequential, n)
    row: dict[str, Any] = {
        "study": study.name, "populations": len(spaces),
        "fixed_runs": None if n is None else n * len(spaces),
        "design": ("fixed n" if design is None else
                   "sequential, looks at " + "/".join(map(str, design.sizes(n)))),
        "runs_csv": f"results/{study.models}"}
    path = results / study.models
    frame = _read(path, where) if path.is_file() else None
    mine = (frame[frame["design_space"].isin(spaces)] if frame is not None
            else pd.DataFrame(columns=["design_space", "index", "wall_seconds"]))
    verdicts = None if study.verdicts is None else results / study.verdicts
    if verdicts is not None and verdicts.is_file():
        row["status"] = DECIDED
        if design is not None:
            looks = _decided_looks(verdicts, [h.id for h in plan.hypotheses],
                                   len(design.sizes(n)), where)
            mine = _judged(mine, models_trained(plan, design, n, looks), path, where)
    else:
        own = mine[~mine["design_space"].isin(shared)]
        row["status"] = UNDECIDED if len(own) else NOT_RUN
    row["runs"] = len(mine)
    row["core_hours"] = core_hours(mine) if len(mine) else None
    row["median_seconds"] = (float(pd.to_numeric(mine["wall_seconds"]).median()) if len(mine)
                             else None)
    return row


def cost_frame(costs: Costs, results: Path) -> pd.DataFrame:
    """One row per study of `costs` (`study_row`), then `TOTAL`: every run of their exports,
    each counted once (a population several studies judge is one set of runs)."""
    from .plan import find_plan, load_plan
    from .study import load_study

    studies = [load_study(name) for name in costs.studies]
    for i, s in enumerate(studies):
        if s.plan is None or s.models is None:
            raise ValueError(f"cost.studies[{i}]: study {s.name!r} has no plan or no models "
                             "export; give a study whose plan judges a models export")
    # a population is one label in one export: RegNetX of the proxy (results/paper/models.csv)
    # and of proxy_long (results/paper/epochs.csv) are two
    named = Counter((s.models, x) for s in studies
                    for x in plan_spaces(load_plan(find_plan(s.plan))))
    rows = [study_row(s, results, {x for (m, x), k in named.items() if k > 1 and m == s.models},
                      f"cost.studies[{i}]") for i, s in enumerate(studies)]
    exports = [results / m for m in dict.fromkeys(s.models for s in studies)
               if (results / m).is_file()]
    runs = [_read(p, "cost") for p in exports]
    every = pd.concat(runs) if runs else pd.DataFrame(columns=["wall_seconds"])
    rows.append({"study": TOTAL, "status": "", "design": "", "populations": None,
                 "runs": len(every), "fixed_runs": None,
                 "core_hours": core_hours(every) if len(every) else None,
                 "median_seconds": (float(pd.to_numeric(every["wall_seconds"]).median())
                                    if len(every) else None),
                 "runs_csv": ", ".join(f"results/{p.relative_to(results)}" for p in exports)})
    return pd.DataFrame(rows, columns=COLUMNS).astype(
        {"populations": "Int64", "runs": "Int64", "fixed_runs": "Int64"})


def files(study: StudyConfig, results: Path) -> dict[Path, str]:
    """``dse-study NAME cost``: the cost table's path under `results` and its text."""
    return {results / study.cost.out:
            cost_frame(study.cost, results).to_csv(index=False, float_format="%.4g")}


# -- the docs block -----------------------------------------------------------------------------
def load(results: Path) -> pd.DataFrame | None:
    """The committed cost table of the study ``paper`` (None before ``dse-study paper cost``);
    one without its columns or its `TOTAL` row is one line."""
    from .study import load_study

    path = results / load_study("paper").cost.out
    if not path.is_file():
        return None
    frame = read_table(path, "paper.cost.out", COLUMNS, what="a cost table (dse-study paper cost)",
                       give="a cost table")
    total = frame[frame["study"] == TOTAL]
    if len(total) != 1 or pd.isna(total["runs"].iloc[0]):
        raise ValueError(f"paper.cost.out: {str(path)!r} has no single {TOTAL!r} row with its "
                         "runs; write it again with dse-study paper cost")
    return frame


def _num(v: Any, fmt: str) -> str:
    """`v` formatted, "–" where empty (a CSV's empty cell reads back as NaN)."""
    return "–" if v is None or pd.isna(v) else format(float(v), fmt)


def _waiting(r: Any) -> str:
    """A study not decided yet, with what its populations have run so far."""
    if not r.runs:
        return f"{r.study} ({r.status})"
    if r.status == NOT_RUN:
        return f"{r.study} (not run yet; {r.runs:,} runs of populations it shares)"
    return f"{r.study} ({r.runs:,} runs of its populations so far)"


def cost_block(frame: pd.DataFrame | None) -> str:
    """Each study's runs and machine time, then the sum and what the sequential design saved
    against the fixed-n plans (decided studies only)."""
    if frame is None:
        return "Not costed yet: run `dse-study paper cost`."
    studies, total = frame[frame["study"] != TOTAL], frame[frame["study"] == TOTAL].iloc[0]
    rows = [[r.study, r.status, r.design, _num(r.populations, ".0f"),
             _num(r.runs, ",.0f") + (f" of {r.fixed_runs:,.0f}"
                                     if r.status == DECIDED and r.fixed_runs > 0 else ""),
             _num(r.core_hours, ".2f"), _num(r.median_seconds, ".1f")]
            for r in studies.itertuples()]
    head = ["study", "status", "design", "populations", "runs (of the fixed-n design's)",
            "core-hours", "median s per run"]
    lines = [table(head, rows), ""]
    lines.append(f"**In all:** {int(total['runs']):,} runs, {_num(total['core_hours'], '.2f')} "
                 f"core-hours ({total['runs_csv']}; each run once, though several studies "
                 "judge a shared population).")
    decided = studies[(studies["status"] == DECIDED) & (studies["design"] != "fixed n")]
    if len(decided):
        used, fixed = int(decided["runs"].sum()), int(decided["fixed_runs"].sum())
        lines.append(f"The decided sequential studies ({', '.join(decided['study'])}) judged "
                     f"{used:,} models where their fixed-n designs would have trained "
                     f"{fixed:,} ({1 - used / fixed:.0%} fewer).")
    waiting = studies[studies["status"] != DECIDED]
    if len(waiting):
        lines.append("Not decided yet: " + ", ".join(_waiting(r) for r in waiting.itertuples())
                     + ".")
    return "\n".join(lines)

