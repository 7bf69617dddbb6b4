"""What each issue-25 study cost (issue 25, item 4; ``dse-study paper cost`` writes
``results/paper/cost.csv``, ``dse-study paper docs`` the block ``paper-cost`` of
docs/RESULTS.md). One row per study of the study key ``cost``: its plan's populations, the
models its verdicts judged (a sequential plan's: each population's first models up to the look
that decided the last hypothesis needing it, `analysis.sequential.models_trained`), the models
its fixed-n design would have trained (n_per_space per population), their core-hours (the
runs' own ``wall_seconds``, each run on one core) and median seconds per model. A study whose
verdicts are not written yet counts the models of its populations trained so far. Studies that
share a population each count it; the total counts every run of the studies' exports once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .docblocks import table
from .sequential import first_models, models_trained, placed, spaces_of
from .sequential_tables import core_hours

COLUMNS = ["study", "status", "design", "populations", "models", "fixed_models", "core_hours",
           "median_seconds", "models_csv"]
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
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{where}: {str(path)!r} is not a models export "
                         f"({str(err).splitlines()[0]})") from None
    missing = [c for c in ("design_space", "index", "wall_seconds") if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: {str(path)!r} has no column {missing[0]}; give a models "
                         "export (dse-study NAME export)")
    bad = int(pd.to_numeric(frame["wall_seconds"], errors="coerce").isna().sum())
    if bad:
        raise ValueError(f"{where}: {str(path)!r} has {bad} rows without a number in "
                         "wall_seconds; give an export with one on every row")
    return frame


def _decided_looks(path: Path, ids: Sequence[str], where: str) -> dict[str, int | None]:
    """Per hypothesis of a sequential plan, the look its verdicts CSV says decided it."""
    try:
        verdicts = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{where}: {str(path)!r} is not a verdicts CSV "
                         f"({str(err).splitlines()[0]})") from None
    if "look" not in verdicts.columns or "id" not in verdicts.columns:
        raise ValueError(f"{where}: {str(path)!r} has no look column; write it with "
                         "dse-study NAME verdicts (a sequential plan's verdicts)")
    looks = verdicts.set_index("id")["look"]
    missing = [h for h in ids if h not in looks.index or pd.isna(looks[h])]
    if missing:
        raise ValueError(f"{where}: {str(path)!r} has no look for {missing[0]}; write it "
                         "again with dse-study NAME verdicts")
    return {h: int(looks[h]) for h in ids}


def study_row(study, results: Path, where: str = "cost") -> dict[str, Any]:
    """One study's row of `COLUMNS` from its committed CSVs under `results`."""
    from .plan import find_plan, load_plan

    plan = load_plan(find_plan(study.plan))
    spaces = list(dict.fromkeys(s for h in plan.hypotheses for s in spaces_of(h.params)))
    n = plan.n_per_space
    design = plan.sequential
    row: dict[str, Any] = {
        "study": study.name, "populations": len(spaces),
        "fixed_models": None if n is None else n * len(spaces),
        "design": ("fixed n" if design is None else
                   "sequential, looks at " + "/".join(map(str, placed(design, n).sizes(n)))),
        "models_csv": f"results/{study.models}"}
    path = results / study.models
    frame = _read(path, where) if path.is_file() else None
    mine = (frame[frame["design_space"].isin(spaces)] if frame is not None
            else pd.DataFrame(columns=["design_space", "index", "wall_seconds"]))
    verdicts = None if study.verdicts is None else results / study.verdicts
    if verdicts is not None and verdicts.is_file() and len(mine):
        row["status"] = DECIDED
        if design is not None:
            ids = [h.id for h in plan.hypotheses]
            trained = models_trained(plan, placed(design, n), n,
                                     _decided_looks(verdicts, ids, where))
            mine = pd.concat([first_models(mine[mine["design_space"] == s], k)
                              for s, k in trained.items()])
    else:
        row["status"] = UNDECIDED if len(mine) else NOT_RUN
    row["models"] = len(mine)
    row["core_hours"] = core_hours(mine) if len(mine) else None
    row["median_seconds"] = (float(pd.to_numeric(mine["wall_seconds"]).median()) if len(mine)
                             else None)
    return row


def cost_frame(costs: Costs, results: Path) -> pd.DataFrame:
    """One row per study of `costs` (`study_row`), then `TOTAL`: every run of their exports,
    each counted once (a population several studies judge is one set of runs)."""
    from .study import load_study

    studies = [load_study(name) for name in costs.studies]
    for i, s in enumerate(studies):
        if s.plan is None or s.models is None:
            raise ValueError(f"cost.studies[{i}]: study {s.name!r} has no plan or no models "
                             "export; give a study whose plan judges a models export")
    rows = [study_row(s, results, f"cost.studies[{i}]") for i, s in enumerate(studies)]
    exports = [results / m for m in dict.fromkeys(s.models for s in studies)
               if (results / m).is_file()]
    runs = [_read(p, "cost") for p in exports]
    every = pd.concat(runs) if runs else pd.DataFrame(columns=["wall_seconds"])
    rows.append({"study": TOTAL, "status": "", "design": "", "populations": None,
                 "models": len(every), "fixed_models": None,
                 "core_hours": core_hours(every) if len(every) else None,
                 "median_seconds": (float(pd.to_numeric(every["wall_seconds"]).median())
                                    if len(every) else None),
                 "models_csv": ", ".join(f"results/{p.relative_to(results)}"
                                         for p in exports)})
    return pd.DataFrame(rows, columns=COLUMNS).astype(
        {"populations": "Int64", "models": "Int64", "fixed_models": "Int64"})


def files(study, results: Path) -> dict[Path, str]:
    """``dse-study NAME cost``: the cost table's path under `results` and its text."""
    return {results / study.cost.out:
            cost_frame(study.cost, results).to_csv(index=False, float_format="%.4g")}


# -- the docs block -----------------------------------------------------------------------------
def load(results: Path) -> pd.DataFrame | None:
    """The committed cost table of the study ``paper`` (None before ``dse-study paper cost``)."""
    from .study import load_study

    path = results / load_study("paper").cost.out
    return pd.read_csv(path) if path.is_file() else None


def _num(v: Any, fmt: str) -> str:
    """`v` formatted, "–" where empty (a CSV's empty cell reads back as NaN)."""
    return "–" if v is None or pd.isna(v) else format(float(v), fmt)


def cost_block(frame: pd.DataFrame | None) -> str:
    """Each study's models and machine time, then the sum and what the sequential design
    saved against the fixed-n plans (decided studies only)."""
    if frame is None:
        return "Not costed yet: run `dse-study paper cost`."
    studies, total = frame[frame["study"] != TOTAL], frame[frame["study"] == TOTAL].iloc[0]
    rows = [[r.study, r.status, r.design, _num(r.populations, ".0f"),
             _num(r.models, ",.0f") + (f" of {r.fixed_models:,.0f}"
                                       if r.status == DECIDED and r.fixed_models > 0 else ""),
             _num(r.core_hours, ".2f"), _num(r.median_seconds, ".1f")]
            for r in studies.itertuples()]
    head = ["study", "status", "design", "populations", "models (of the fixed-n design's)",
            "core-hours", "median s per model"]
    lines = [table(head, rows), ""]
    hours = total["core_hours"]
    lines.append(f"**In all:** {int(total['models']):,} runs, {_num(hours, '.2f')} core-hours "
                 f"({total['models_csv']}; each run once, though several studies judge a "
                 "shared population).")
    decided = studies[(studies["status"] == DECIDED) & (studies["design"] != "fixed n")]
    if len(decided):
        used, fixed = int(decided["models"].sum()), int(decided["fixed_models"].sum())
        lines.append(f"The decided sequential studies ({', '.join(decided['study'])}) judged "
                     f"{used:,} models where their fixed-n designs would have trained "
                     f"{fixed:,} ({1 - used / fixed:.0%} fewer).")
    waiting = studies[studies["status"] != DECIDED]
    if len(waiting):
        so_far = [f"{r.study} ({r.models:,} models of its populations so far)" if r.models
                  else f"{r.study} ({r.status})" for r in waiting.itertuples()]
        lines.append("Not decided yet: " + ", ".join(so_far) + ".")
    return "\n".join(lines)


BLOCKS: Mapping[str, Any] = {"paper-cost": cost_block}
