"""The two-dataset study's machine time (issue 21, item 6; docs/RESULTS.md, block
``two-dataset-cost`` of the study ``robustness``): per part of ``robustness.cost`` its runs,
their core-hours (the runs' own ``wall_seconds``, each run on one core, summed) and median
seconds per run, and for a study replayed look by look (issue 24) the core-hours its sequential
design would have trained. Elapsed times are the rows of ``results/wall_times.csv``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .docblocks import table
from .robustness import CostPart
from .sequential_tables import core_hours

NOT_RUN = "not run yet"


@dataclass(frozen=True)
class PartCost:
    """What one part cost: None where its export (runs) does not exist or has no run yet, or
    its replay (sequential) does not exist yet."""

    part: CostPart
    runs: int | None = None
    core_hours: float | None = None
    median_seconds: float | None = None
    fixed_hours: float | None = None       # the replay's fixed-n study (its models' own times)
    sequential_hours: float | None = None  # the same study's first models the design trains

    @property
    def saved_hours(self) -> float | None:
        if self.fixed_hours is None or self.sequential_hours is None:
            return None
        return self.fixed_hours - self.sequential_hours


def read_table(path: Path, where: str, columns: Sequence[str], numeric: Sequence[str] = (),
               what: str = "a CSV export", give: str = "an export") -> pd.DataFrame:
    """A committed CSV with `columns`, numbers on every row in `numeric`; an unreadable one
    ("is not `what`"), a missing column or a missing number is one line naming the file
    (the cost tables' one reader: this module's and `analysis.study_costs`')."""
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{where}: {str(path)!r} is not {what} "
                         f"({str(err).splitlines()[0]})") from None
    for column in columns:
        if column not in frame.columns:
            raise ValueError(f"{where}: {str(path)!r} has no column {column}; give {give} "
                             f"with {', '.join(columns)} on every row")
    for column in numeric:
        bad = int(pd.to_numeric(frame[column], errors="coerce").isna().sum())
        if bad:
            raise ValueError(f"{where}: {str(path)!r} has {bad} rows without a number in "
                             f"{column}; give {give} with {', '.join(numeric)} on every row")
    return frame


def _read(path: Path, columns: Sequence[str], where: str) -> pd.DataFrame:
    """A committed CSV with numeric `columns` on every row (`read_table`)."""
    return read_table(path, where, columns, columns)


def part_cost(part: CostPart, results: Path, where: str) -> PartCost:
    """`part`'s cost from its committed CSVs under `results`."""
    path = results / part.runs
    if not path.is_file():
        return PartCost(part)
    runs = _read(path, ["wall_seconds"], f"{where}.runs")
    if runs.empty:  # exported before any run finished: not run yet
        return PartCost(part)
    fixed = seq = None
    if part.sequential is not None and (results / part.sequential).is_file():
        replay = _read(results / part.sequential, ["fixed_core_hours", "sequential_core_hours"],
                       f"{where}.sequential")
        fixed = float(replay["fixed_core_hours"].sum())
        seq = float(replay["sequential_core_hours"].sum())
    return PartCost(part, len(runs), core_hours(runs),
                    float(pd.to_numeric(runs["wall_seconds"]).median()), fixed, seq)


def costs(parts: Sequence[CostPart], results: Path) -> tuple[PartCost, ...]:
    """Each part of ``robustness.cost`` costed (`part_cost`), in order."""
    return tuple(part_cost(p, results, f"robustness.cost[{i}]") for i, p in enumerate(parts))


def cost_frame(parts: Sequence[PartCost]) -> pd.DataFrame:
    """One row per part (``results/robustness/cost.csv``): its runs export, runs, core-hours,
    median seconds per run, and a replayed study's fixed-n and sequential core-hours (empty
    where not run or not replayed)."""
    return pd.DataFrame([{"part": c.part.title, "dataset": c.part.dataset, "kind": c.part.kind,
                          "runs_csv": f"results/{c.part.runs}", "runs": c.runs,
                          "core_hours": c.core_hours, "median_seconds": c.median_seconds,
                          "fixed_core_hours": c.fixed_hours,
                          "sequential_core_hours": c.sequential_hours} for c in parts],
                        columns=["part", "dataset", "kind", "runs_csv", "runs", "core_hours",
                                 "median_seconds", "fixed_core_hours",
                                 "sequential_core_hours"]).astype({"runs": "Int64"})


def _h(hours: float | None) -> str:
    return "–" if hours is None else f"{hours:.2f}"


def cost_block(parts: Sequence[PartCost], datasets: dict[str, str]) -> str:
    """One row per part, then the totals: the studies, the instruments, and what the
    sequential design would have saved on the studies it replays."""
    rows = []
    for c in parts:
        p = c.part
        if c.runs is None:
            rows.append([p.title, datasets[p.dataset], p.kind, f"results/{p.runs}", NOT_RUN,
                         "–", "–", "–"])
            continue
        replay = ("–" if p.sequential is None else
                  "not replayed yet" if c.sequential_hours is None else
                  f"{_h(c.sequential_hours)} of {_h(c.fixed_hours)}"
                  + (f" ({c.saved_hours / c.fixed_hours:.0%} less)" if c.fixed_hours else ""))
        rows.append([p.title, datasets[p.dataset], p.kind, f"results/{p.runs}", f"{c.runs:,}",
                     _h(c.core_hours), f"{c.median_seconds:.1f}", replay])
    head = ["part", "dataset", "kind", "runs (CSV)", "runs", "core-hours",
            "median s per run", "sequential design, core-hours (of the fixed-n study's)"]
    done = [c for c in parts if c.runs is not None]
    total = sum(c.core_hours for c in done)
    by_kind = {k: sum(c.core_hours for c in done if c.part.kind == k)
               for k in ("study", "instrument")}
    by_data = ", ".join(f"{title} {sum(c.core_hours for c in done if c.part.dataset == d):.2f}"
                        for d, title in datasets.items())
    lines = [f"**Machine time:** {total:.2f} core-hours for {sum(c.runs for c in done):,} runs "
             f"({by_data}): the studies {by_kind['study']:.2f}, building the instruments "
             f"{by_kind['instrument']:.2f}."]
    replayed = [c for c in done if c.saved_hours is not None]
    if replayed and total > 0 and sum(c.fixed_hours for c in replayed) > 0:
        fixed = sum(c.fixed_hours for c in replayed)
        saved = sum(c.saved_hours for c in replayed)
        names = ", ".join(c.part.title for c in replayed)
        lines.append(f"**The sequential design** (docs/ANALYSIS.md, \"Sequential plans\"), "
                     f"replayed look by look ({names}), would have saved {saved:.2f} of "
                     f"their {fixed:.2f} core-hours ({saved / fixed:.0%}), "
                     f"{saved / total:.0%} of the whole.")
    waiting = [c.part.title for c in parts if c.runs is None or (
        c.part.sequential is not None and c.sequential_hours is None)]
    if waiting:
        lines.append("Not complete yet: " + ", ".join(waiting) + " (its export or its replay "
                     "does not exist).")
    lines.append("A core-hour is the runs' own `wall_seconds` (each run trained on one core "
                 "with one torch thread, beside another run or alone) summed and divided by "
                 "3,600, not elapsed time; a run in flight while its sweep was paused (SIGSTOP, "
                 "for the test suite or a benchmark) counts the pause, so the sums are upper "
                 "bounds. The sweeps' elapsed times are the rows of `results/wall_times.csv`.")
    return table(head, rows) + "\n\n" + " ".join(lines)
