"""The sequential replays (issue 24): every study of ``conf/study/`` with a ``sequential:``
section (conf/study/sequential.yaml replays the confirmatory study, sequential_fashion.yaml the
Fashion-MNIST one). Each replay's CSVs (`outputs`, written by ``dse-study NAME sequential``
into its ``sequential.folder``) and its generated blocks of docs/ANALYSIS.md ("Sequential
plans"), named ``<sequential.blocks>-verdicts``, ``-replay``, ``-saved`` and ``-simulation``,
that read them back (`load`, `blocks`). A replay whose files do not exist yet renders, in each of
its blocks, one line that says what to run."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .docblocks import read_csv, space_name, table
from .plan import Plan, find_plan, load_plan
from .sequential import (
    Design,
    decisions,
    first_models,
    judge,
    models_trained,
    placed,
    simulate,
)
from .study import StudyConfig, load_study, study_names

REPLAY, SAVED, SIMULATION = "replay.csv", "models.csv", "simulation.csv"
HOUR = 3600.0


def paths(study: StudyConfig, results: Path) -> dict[str, Path]:
    """The replay's CSVs by file name: under ``results/<sequential.folder>/``."""
    folder = results / study.sequential.folder
    return {name: folder / name for name in (REPLAY, SAVED, SIMULATION)}


def resolved(study: StudyConfig) -> tuple[Plan, Design, int]:
    """The study's plan, its design and the models per space it is placed on: ``sequential.n``,
    or the plan's n_per_space where that is null (a one-line ValueError while the plan has
    none)."""
    q = study.sequential
    plan = load_plan(find_plan(study.plan))
    if q.n is not None:
        return plan, q.design, q.n
    if plan.n_per_space is None:
        raise ValueError(f"sequential.n: null (the plan's n_per_space), but plan {study.plan!r} "
                         f"has no n_per_space yet; set it in conf/plan/{study.plan}.yaml or give "
                         "sequential.n")
    n = plan.n_per_space
    return plan, placed(q.design, n, "sequential.design.looks"), n


def core_hours(models: pd.DataFrame) -> float:
    """The models' machine time: the sum of their own ``wall_seconds`` (each trained on one
    core), in hours."""
    return float(pd.to_numeric(models["wall_seconds"], errors="coerce").sum()) / HOUR


def saved_frame(frame: pd.DataFrame, trained: Mapping[str, int], n: int,
                order: Sequence[str]) -> pd.DataFrame:
    """Per space of `order` that `trained` names: the fixed-n study's models (`n`) and the
    sequential sweep's (`trained`), and, where `frame` (the models export) has
    ``wall_seconds``, the core-hours of each: all of the space's models, and its first
    `trained` sample indices (`first_models`, the models a sequential sweep trains)."""
    timed = "wall_seconds" in frame.columns
    rows = []
    for space in (s for s in order if s in trained):
        row: dict[str, Any] = {"space": space, "fixed": n, "sequential": trained[space]}
        if timed:
            mine = frame[frame["design_space"] == space]
            row["fixed_core_hours"] = core_hours(mine)
            row["sequential_core_hours"] = core_hours(first_models(mine, trained[space]))
        rows.append(row)
    return pd.DataFrame(rows)


def files(study: StudyConfig, frame: pd.DataFrame) -> dict[str, str]:
    """The study's sequential CSVs, by file name: the plan judged look by look on `frame`
    (the models export; `judge`'s rows in the replay's columns), the models each space would
    have needed and their machine time (`saved_frame`), and the design's error rates by
    resampling each pool space's errors (null, and `shift`ed for the power)."""
    q = study.sequential
    plan, design, n = resolved(study)
    verdict = judge(frame, plan, design, n)
    replay = pd.DataFrame(list(verdict.rows))
    trained = models_trained(plan, design, n, verdict.decided)
    saved = saved_frame(frame, trained, n, study.order)
    rows = []
    for i, space in enumerate(q.pools):
        pool = frame.loc[frame["design_space"] == space, "error"].fillna(100.0)
        for label, shift in (("no effect", 0.0), ("planned effect", q.shift)):
            r = simulate(pool.to_numpy(float), design, n, plan.alpha, shift, q.reps,
                         q.seed + 2 * i + (shift > 0), q.family)
            rows.append({"space": space, "case": label, "shift": shift, **r})
    return {REPLAY: replay.to_csv(index=False, float_format="%.4g"),
            SAVED: saved.to_csv(index=False, float_format="%.4g"),
            SIMULATION: pd.DataFrame(rows).to_csv(index=False, float_format="%.4g")}


def outputs(study: StudyConfig, results: Path) -> dict[Path, str]:
    """``dse-study NAME sequential``: the replay's files with their texts (nothing written).
    The design is placed on its n first, so a plan without n_per_space is the one line that
    says so; then the models export must exist."""
    from .study_export import study_frame

    resolved(study)
    models = results / study.models
    if not models.is_file():
        raise ValueError(f"results: {str(models)!r} does not exist; the replay reads the models "
                         f"of plan {study.plan!r}: export them first")
    where = paths(study, results)
    return {where[name]: text
            for name, text in files(study, study_frame(models, study.data)).items()}


@dataclass(frozen=True)
class Inputs:
    """One replay's committed CSVs read back, and the fixed-n study's verdicts."""

    replay: pd.DataFrame
    saved: pd.DataFrame
    simulation: pd.DataFrame
    fixed: pd.DataFrame


@dataclass(frozen=True)
class NotRun:
    """A replay whose files do not exist yet: the line its blocks print instead."""

    text: str


def read(study: StudyConfig, results: Path) -> Inputs | NotRun:
    """`study`'s replay read back from the results folder, or what to run while its CSVs do
    not all exist. The fixed-n verdicts are those of the study named by ``sequential.fixed``
    (its ``verdicts`` CSV)."""
    where = paths(study, results)
    run = f"`dse-study {study.name} sequential`, then `dse-study {study.name} docs`"
    if not all(p.is_file() for p in where.values()):
        models = results / study.models
        if not models.is_file():
            return NotRun(f"Not run yet: `{models}` (the models of plan `{study.plan}`) does "
                          f"not exist; once it does, {run}.")
        return NotRun(f"Not run yet: {run}.")
    name = study.sequential.fixed
    if name not in study_names():
        raise ValueError(f"sequential.fixed: {name!r} is not a study of conf/study/; name the "
                         "fixed-n study whose verdicts the replay is read against")
    fixed = load_study(name)
    if fixed.verdicts is None:
        raise ValueError(f"sequential.fixed: study {name!r} has no verdicts; name the fixed-n "
                         "study whose verdicts the replay is read against")
    made = [read_csv(where[n], f"dse-study {study.name} sequential")
            for n in (REPLAY, SAVED, SIMULATION)]
    return Inputs(*made, read_csv(results / fixed.verdicts, f"dse-study {name} verdicts"))


def distinct(studies: Sequence[StudyConfig]) -> None:
    """Refuse two replays that share a results folder or a block prefix (one would overwrite
    the other's files or blocks)."""
    for key in ("folder", "blocks"):
        seen: dict[str, str] = {}
        for s in studies:
            value = getattr(s.sequential, key)
            if value in seen:
                raise ValueError(f"sequential.{key}: {value!r} of study {s.name!r} is also "
                                 f"study {seen[value]!r}'s; give each replay its own")
            seen[value] = s.name


def replays() -> tuple[StudyConfig, ...]:
    """The studies of conf/study/ with a ``sequential:`` section, by name, checked `distinct`."""
    found = tuple(s for s in (load_study(n) for n in study_names()) if s.sequential is not None)
    distinct(found)
    return found


def load(results: Path) -> dict[str, Inputs | NotRun]:
    """Every replay read back (`read`), by its block prefix."""
    return {s.sequential.blocks: read(s, results) for s in replays()}


def verdict_block(inp: Inputs) -> str:
    """Per hypothesis: the fixed-n verdict, the sequential one and the look that decided it
    (the replay's rows read by `analysis.sequential.decisions`, as `sequential_verdicts` reads
    them)."""
    n = int(inp.saved["fixed"].max())
    found = decisions(inp.replay.to_dict("records"), complete=True)
    rows = []
    for f in inp.fixed.itertuples():
        d = found[str(f.id)]
        rows.append([str(f.id), str(f.verdict), d.verdict(str(f.kind)),
                     f"{d.look} ({d.n} models)"])
    return table(["hypothesis", f"fixed n ({n} models)", "sequential", "decided at look"], rows)


def _p(v: float) -> str:
    return "–" if pd.isna(v) else f"{v:.2g}"


def replay_block(inp: Inputs) -> str:
    """Per hypothesis and direction, the look it was decided at and how."""
    r = inp.replay[inp.replay["decision"] != "continue"]
    rows = [[str(x.id), str(x.direction), f"{int(x.look)} ({int(x.n)} models)", _p(x.p),
             _p(x.efficacy_p), _p(x.futility_p), str(x.decision)] for x in r.itertuples()]
    return table(["hypothesis", "direction", "look", "p", "efficacy bound (p)",
                  "futility bound (p)", "decision"], rows)


def saved_block(inp: Inputs) -> str:
    """Per space and in all: the models of the fixed-n study and of the sequential design, and
    their machine time (core-hours, from the models' own wall seconds) where it was recorded."""
    s = inp.saved
    timed = "fixed_core_hours" in s.columns
    head = ["space", "fixed-n study", "sequential"]
    rows = [[space_name(x.space), str(x.fixed), str(x.sequential)] for x in s.itertuples()]
    total_f, total_s = int(s["fixed"].sum()), int(s["sequential"].sum())
    rows.append(["all", str(total_f), str(total_s)])
    text = (f"\n\n**{1 - total_s / total_f:.0%} fewer trained models** "
            f"({total_s} of {total_f}).")
    if not timed:
        return (table(head, rows) + text + "\n\nNo machine time: the models export has no "
                "`wall_seconds` column.")
    hours = [*zip(s["fixed_core_hours"], s["sequential_core_hours"], strict=True)]
    hours.append((float(s["fixed_core_hours"].sum()), float(s["sequential_core_hours"].sum())))
    for row, (f, q) in zip(rows, hours, strict=True):
        row += [f"{f:.2f}", f"{q:.2f}"]
    fixed_h, seq_h = hours[-1]
    less = f"**{1 - seq_h / fixed_h:.0%} less machine time**: " if fixed_h > 0 else ""
    return (table([*head, "fixed-n study, core-hours", "sequential, core-hours"], rows) + text
            + f" {less}{seq_h:.2f} of {fixed_h:.2f} core-hours. A core-hour here is the models' "
              "own `wall_seconds` (each model trained on one core) summed and divided by "
              f"{HOUR:,.0f}: "
              "the runs' own times on a machine they shared (runs side by side, one per core), "
              "not the study's elapsed time; the sequential design's are those of each space's "
              "first models in index order, as many as it would have trained.")


def simulation_block(inp: Inputs) -> str:
    rows = [[space_name(x.space), str(x.case), f"{x.shift:g}", f"{x.sequential:.4f}",
             f"{x.fixed:.4f}", f"{x.models:.1f}", str(int(x.reps))]
            for x in inp.simulation.itertuples()]
    return table(["errors resampled from", "case", "shift", "rejections, sequential",
                  "rejections, fixed n", "mean models per space, sequential", "replicates"],
                 rows)


KINDS: Mapping[str, Callable[[Inputs], str]] = {
    "verdicts": verdict_block, "replay": replay_block, "saved": saved_block,
    "simulation": simulation_block}


def block_names(study: StudyConfig) -> dict[str, str]:
    """The replay's generated blocks by kind: ``<sequential.blocks>-<kind>``."""
    return {kind: f"{study.sequential.blocks}-{kind}" for kind in KINDS}


def _render(kind: str, prefix: str, loaded: Mapping[str, Inputs | NotRun]) -> str:
    """One block of the replay `prefix`; one not run yet says what to run in its first block
    (the verdicts) and "Not run yet." in the others."""
    inp = loaded[prefix]
    if isinstance(inp, NotRun):
        return inp.text if kind == next(iter(KINDS)) else "Not run yet."
    return KINDS[kind](inp)


def blocks() -> dict[str, Callable[[Mapping[str, Inputs | NotRun]], str]]:
    """Every replay's blocks by name (`block_names`), each a function of `load`'s output. A
    function, not a constant: the replays, and so the names, are read from conf/study/ when
    the page is rendered (`analysis.study_cli.TableSet`), not when this module is imported."""
    return {name: functools.partial(_render, kind, s.sequential.blocks)
            for s in replays() for kind, name in block_names(s).items()}
