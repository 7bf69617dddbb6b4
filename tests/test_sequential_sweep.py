"""A sweep that stops (issue 24 acceptance 2 and 5): ``hydra/sweeper=sequential`` trains a
plan's populations look by look on real tiny models and data, stops a space once every
hypothesis that needs it is decided, writes its decisions, and resumes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.sequential import parse_design

pytestmark = pytest.mark.slow

TINY = ["data=synthetic", "data.train_size=256", "data.test_size=128", "regime.epochs=2",
        "regime.batch_size=64", "regime.warmup_epochs=0", "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2"]

# regnetx: two claims that the first look settles whatever the errors (every model's depth is
# in [0, 1000], none in [1000, 2000]); anynetx_a: a claim against itself, open to the end.
PLAN = """\
name: tiny_sequential
alpha: 0.05
n_boot: 999
n_per_space: 8
sequential:
  looks: [0.5, 1]
  spending: pocock
  futility: none
hypotheses:
  - id: depth_in_range
    text: "every depth is in range"
    kind: best_value
    space: regnetx
    parameter: depth
    range: [0, 1000]
    frac: 0.25
  - id: depth_out_of_range
    text: "no depth is in range (contradicted)"
    kind: best_value
    space: regnetx
    parameter: depth
    range: [1000, 2000]
    frac: 0.25
  - id: a_better_than_a
    text: "a population is not better than itself"
    kind: better
    a: anynetx_a
    b: anynetx_a
    test: mwu
"""


def _train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("dse-train")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900)


def _sweep(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    # anynetx_c is in the grid but in no hypothesis: the sweeper launches none of its jobs
    return _train("-m", "hydra/sweeper=sequential", "design_space=anynetx_a,regnetx,anynetx_c",
                  "sample.index=range(0,8)", *TINY, f"sweep.dir={tmp_path / 'sweep'}",
                  f"sweep.plan={tmp_path / 'plan.yaml'}", *extra, cwd=tmp_path)


def _trained(sweep: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in sweep.rglob("record.json"):
        space = record.relative_to(sweep).parts[0]
        counts[space] = counts.get(space, 0) + 1
    return counts


def test_a_sequential_sweep_stops_a_decided_space_and_resumes(tmp_path):
    (tmp_path / "plan.yaml").write_text(PLAN)
    first = _sweep(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    sweep = tmp_path / "sweep"
    # regnetx was decided at the first look (4 models); anynetx_a stayed open (all 8)
    assert _trained(sweep) == {"anynetx_a": 8, "regnetx": 4}
    decisions = pd.read_csv(sweep / "sequential.csv")
    assert set(decisions["plan"]) == {"tiny_sequential"}
    at = {(r.id, r.direction): (r.look, r.decision) for r in decisions.itertuples()
          if r.decision in ("rejected", "not rejected")}
    assert at[("depth_in_range", "claim")] == (1, "rejected")
    assert at[("depth_out_of_range", "contra")] == (1, "rejected")
    assert at[("a_better_than_a", "claim")] == (2, "not rejected")
    assert "look 1/2 at 4 models per space: 1 hypothesis open; still training anynetx_a" \
        in first.stdout
    # a rerun trains nothing more and reaches the same decisions
    before = {p: p.stat().st_mtime_ns for p in sweep.rglob("record.json")}
    again = _sweep(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert {p: p.stat().st_mtime_ns for p in sweep.rglob("record.json")} == before
    pd.testing.assert_frame_equal(pd.read_csv(sweep / "sequential.csv"), decisions)
    # the report shows the decisions
    exe = Path(sys.executable).with_name("dse-analyze")
    report = subprocess.run([str(exe), f"sweep.dir={sweep}", f"out={tmp_path / 'report'}",
                             "propose=false"], capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stdout + report.stderr
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Sequential looks" in page and "depth_out_of_range" in page


@pytest.mark.parametrize(("section", "line"), [
    ("sequential:\n  looks: [0.75, 0.5, 1]\n",
     "dse-train: error: sweep.plan: {d}/plan.yaml: sequential.looks: [0.75, 0.5, 1.0] is not "
     "allowed"),
    ("sequential:\n  looks: [0.5, 1]\n  spending: linear\n",
     "dse-train: error: sweep.plan: {d}/plan.yaml: sequential.spending: 'linear' is not a "
     "spending function"),
    ("sequential:\n  looks: [0.1, 1]\n",
     "dse-train: error: sweep.plan: {d}/plan.yaml: sequential.looks: [0.1, 1.0] is not allowed "
     "with n_per_space 8"),
    ("", "dse-train: error: sweep.plan: '{d}/plan.yaml' has no `sequential:` section"),
])
def test_a_malformed_design_is_one_line_and_trains_nothing(tmp_path, section, line):
    body = PLAN.replace("sequential:\n  looks: [0.5, 1]\n  spending: pocock\n  futility: none\n",
                        section)
    (tmp_path / "plan.yaml").write_text(body)
    proc = _sweep(tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [x for x in proc.stderr.splitlines() if x.startswith("dse-train: error:")]
    assert len(errors) == 1 and errors[0].startswith(line.format(d=tmp_path)), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list(tmp_path.rglob("record.json"))


def test_the_sweep_must_cover_the_plan_n(tmp_path):
    (tmp_path / "plan.yaml").write_text(PLAN)
    proc = _train("-m", "hydra/sweeper=sequential", "design_space=regnetx",
                  "sample.index=range(0,6)", *TINY, f"sweep.dir={tmp_path / 'sweep'}",
                  f"sweep.plan={tmp_path / 'plan.yaml'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert ("dse-train: error: sample.index: the sweep has 6 sample indices; plan "
            "'tiny_sequential' is planned at n_per_space 8") in proc.stderr
    assert not list(tmp_path.rglob("record.json"))


def test_a_plan_population_no_job_makes_is_one_line_and_trains_nothing(tmp_path):
    (tmp_path / "plan.yaml").write_text(PLAN)
    proc = _train("-m", "hydra/sweeper=sequential", "design_space=regnetx,anynetx_c",
                  "sample.index=range(0,8)", *TINY, f"sweep.dir={tmp_path / 'sweep'}",
                  f"sweep.plan={tmp_path / 'plan.yaml'}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert ("dse-train: error: sweep.plan: plan 'tiny_sequential' needs the population "
            "'anynetx_a', which no job of this sweep makes (it makes anynetx_c, regnetx)"
            in proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list(tmp_path.rglob("record.json"))


def test_plans_sharing_a_folder_keep_their_own_decisions(tmp_path):
    """issue 25's six plans share runs/paper: each rewrites only its own rows."""
    from analysis.sweeper import decisions_text

    path = tmp_path / "sequential.csv"
    path.write_text(decisions_text(path, "se", [{"look": 1, "id": "y_better_x", "p": 0.5,
                                            "decision": "continue"}]))
    path.write_text(decisions_text(path, "blocks", [{"look": 1, "id": "x_best_block", "p": 0.2,
                                                "decision": "continue"}]))
    path.write_text(decisions_text(path, "se", [{"look": 1, "id": "y_better_x", "p": 0.5,
                                            "decision": "continue"},
                                           {"look": 2, "id": "y_better_x", "p": 1e-4,
                                            "decision": "rejected"}]))
    got = pd.read_csv(path)
    assert got[["plan", "look", "id", "decision"]].values.tolist() == [
        ["blocks", 1, "x_best_block", "continue"], ["se", 1, "y_better_x", "continue"],
        ["se", 2, "y_better_x", "rejected"]]
    # a file of the older format (no plan column) is replaced, not mixed in
    path.write_text("look,id,p,decision\n1,old,0.3,continue\n")
    assert pd.read_csv(path).pipe(lambda d: "plan" not in d.columns)
    path.write_text(decisions_text(path, "se", [{"look": 1, "id": "y_better_x", "p": 0.5,
                                            "decision": "continue"}]))
    assert pd.read_csv(path)["plan"].tolist() == ["se"]


def test_design_sizes_of_the_tiny_plan():
    assert parse_design({"looks": [0.5, 1]}, 8).sizes(8) == (4, 8)


def test_jobs_are_waved_by_their_population_label():
    """A plan of labels stops populations, not space names: each job's label comes from its
    composed design space (issue 25's plans: regnetx against regnetx[silu], ...)."""
    from omegaconf import OmegaConf

    from analysis.sweeper import job_labels
    from sampling.config import compose

    def space_config(job: list[str]) -> dict:
        return OmegaConf.to_container(compose("config", job).design_space, resolve=True)

    jobs = [["sample.index=0", "design_space=regnetx"],
            ["sample.index=1", "design_space=regnetx"],
            ["sample.index=0", "design_space=regnetx", "design_space.activation=silu"],
            ["sample.index=0", "design_space=regnetx", "block=v"],
            ["sample.index=0", "design_space=regnety"],
            ["sample.index=0", "design_space=anynetx_e", "design_space.stages=5"],
            ["sample.index=0", "design_space=regnetx", "window=800mf"]]
    calls = []

    def counted(job: list[str]) -> dict:
        calls.append(job)
        return space_config(job)

    assert job_labels(jobs, counted) == ["regnetx", "regnetx", "regnetx[silu]", "regnetx[V]",
                                         "regnety", "anynetx_e[5 stages]", "regnetx[800MF]"]
    assert len(calls) == 6  # the two members of one population compose once
