"""The sequential study (issue 24; ``conf/study/sequential.yaml``): its CSVs (`files`, written
by ``dse-study sequential sequential``) and the generated blocks of docs/ANALYSIS.md
("Sequential plans") that read them back (`load`, `BLOCKS`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .docblocks import read_csv, space_name, table
from .plan import claimed, find_plan, load_plan
from .sequential import judge, models_trained, simulate
from .study import StudyConfig

FOLDER = "sequential"  # under the results folder (conf/study/sequential.yaml `folder`)
REPLAY, SAVED, SIMULATION = "replay.csv", "models.csv", "simulation.csv"


def files(study: StudyConfig, frame: pd.DataFrame) -> dict[str, str]:
    """The study's sequential CSVs, by file name: the plan judged look by look on `frame`
    (the models export), the models each space would have needed, and the design's error rates
    by resampling each pool space's errors (null, and `shift`ed for the power)."""
    q = study.sequential
    plan = load_plan(find_plan(study.plan))
    verdict = judge(frame, plan, q.design, q.n)
    replay = pd.DataFrame(list(verdict.rows))
    trained = models_trained(plan, q.design, q.n, verdict.decided)
    saved = pd.DataFrame([{"space": s, "fixed": q.n, "sequential": trained.get(s, 0)}
                          for s in study.order if s in trained])
    rows = []
    for i, space in enumerate(q.pools):
        pool = frame.loc[frame["design_space"] == space, "error"].fillna(100.0)
        for label, shift in (("no effect", 0.0), ("planned effect", q.shift)):
            r = simulate(pool.to_numpy(float), q.design, q.n, plan.alpha, shift, q.reps,
                         q.seed + 2 * i + (shift > 0), q.family)
            rows.append({"space": space, "case": label, "shift": shift, **r})
    return {REPLAY: replay.to_csv(index=False, float_format="%.4g"),
            SAVED: saved.to_csv(index=False),
            SIMULATION: pd.DataFrame(rows).to_csv(index=False, float_format="%.4g")}


FIXED = "confirmatory_verdicts.csv"  # the fixed-n study's verdicts (dse-study confirmatory)


@dataclass(frozen=True)
class Inputs:
    replay: pd.DataFrame
    saved: pd.DataFrame
    simulation: pd.DataFrame
    fixed: pd.DataFrame


def load(results: Path) -> Inputs:
    folder = results / FOLDER
    made = [read_csv(folder / name, "dse-study sequential sequential")
            for name in (REPLAY, SAVED, SIMULATION)]
    return Inputs(*made, read_csv(results / FIXED, "dse-study confirmatory verdicts"))


def verdict_block(inp: Inputs) -> str:
    """Per hypothesis: the fixed-n verdict, the sequential one and the look that decided it."""
    rows = []
    for f in inp.fixed.itertuples():
        mine = inp.replay[inp.replay["id"] == f.id]
        hit = mine[mine["decision"] == "rejected"]
        if len(hit):
            first = hit.sort_values("look").iloc[0]
            verdict = ("contradicted" if first["direction"] == "contra" else
                       claimed(f.kind))
            look = first
        else:
            verdict = "not resolved"
            look = mine.sort_values("look").iloc[-1]
        rows.append([str(f.id), str(f.verdict), verdict,
                     f"{int(look['look'])} ({int(look['n'])} models)"])
    return table(["hypothesis", "fixed n (96 models)", "sequential", "decided at look"], rows)


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
    s = inp.saved
    rows = [[space_name(x.space), str(x.fixed), str(x.sequential)] for x in s.itertuples()]
    total_f, total_s = int(s["fixed"].sum()), int(s["sequential"].sum())
    rows.append(["all", str(total_f), str(total_s)])
    return (table(["space", "fixed-n study", "sequential"], rows)
            + f"\n\n**{1 - total_s / total_f:.0%} fewer trained models** "
              f"({total_s} of {total_f}).")


def simulation_block(inp: Inputs) -> str:
    rows = [[space_name(x.space), str(x.case), f"{x.shift:g}", f"{x.sequential:.4f}",
             f"{x.fixed:.4f}", f"{x.models:.1f}", str(int(x.reps))]
            for x in inp.simulation.itertuples()]
    return table(["errors resampled from", "case", "shift", "rejections, sequential",
                  "rejections, fixed n", "mean models per space, sequential", "replicates"],
                 rows)


BLOCKS = {"sequential-verdicts": verdict_block, "sequential-replay": replay_block,
          "sequential-saved": saved_block, "sequential-simulation": simulation_block}
