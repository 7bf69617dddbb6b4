"""Sweeps through Hydra launchers (issue 5): callback summary, resume after SIGKILL, submitit.

The end-to-end tests run the real ``dse-train`` console script on tiny synthetic data and tiny
regimes; each launches real worker processes through a Hydra launcher.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from train.callbacks import (
    count_sweep_jobs,
    format_summary,
    held_records,
    progress_line,
    read_outcomes,
    tally,
    write_outcome,
)

CONF = str(Path(__file__).resolve().parents[1] / "conf")
# Tiny models on tiny data: a few seconds per model on one thread.
TINY = ["data=synthetic", "data.train_size=256", "data.test_size=128", "regime.epochs=3",
        "regime.batch_size=64", "regime.warmup_epochs=0"]


def dse_train(*args: str, **popen: object) -> subprocess.Popen:
    """Start ``dse-train`` (the installed console script) with `args`."""
    exe = Path(sys.executable).with_name("dse-train")
    cmd = [str(exe) if exe.exists() else shutil.which("dse-train") or "dse-train", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **popen)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def records(sweep_dir: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in sweep_dir.rglob("record.json")}


def checkpoints(sweep_dir: Path) -> list[Path]:
    return [p for p in sweep_dir.rglob("checkpoint.pt") if not (p.parent / "record.json").exists()]


def stray_files(sweep_dir: Path) -> list[Path]:
    """Temp or corrupt files among the runs (Hydra's own `.hydra` bookkeeping of a killed launch
    is not a run)."""
    return [p for p in sweep_dir.rglob("*") if (p.name.endswith(".tmp") or ".corrupt" in p.name)
            and ".hydra" not in p.relative_to(sweep_dir).parts]


def summary_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("dse-train sweep:"))


# --- fast: configuration and the callback's bookkeeping --------------------------------------


def test_hydra_outputs_go_under_sweep_dir():
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=["sweep.dir=/x/s"], return_hydra_config=True)
    assert cfg.hydra.sweep.dir.startswith("/x/s/.hydra/multirun/")
    assert cfg.hydra.run.dir.startswith("/x/s/.hydra/run/")
    assert cfg.hydra.job.chdir is False
    assert cfg.hydra.callbacks.sweep_summary._target_ == "train.callbacks.SweepSummary"


@pytest.mark.parametrize("name", ["quickstart", "refinement", "confirmatory"])
def test_experiments_are_multiruns_with_joblib(name):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=[f"+experiment={name}"], return_hydra_config=True)
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert cfg.hydra.runtime.choices["hydra/launcher"] == "joblib"
    assert cfg.sweep.report is True
    assert cfg.design_space.stem_stride == 1  # the instrument's geometry (docs/REGIME.md)
    assert cfg.hydra.runtime.choices["geometry"] == "small"
    spaces = cfg.hydra.sweeper.params.design_space.split(",")
    assert "regnetx" in spaces and "anynetx_a" in spaces
    if name == "refinement":
        assert spaces == [f"anynetx_{c}" for c in "abcde"] + ["regnetx"]
        assert cfg.hydra.sweeper.params["sample.index"] == f"range(0,{cfg.sweep.n})"
        assert cfg.regime.name == "proxy"


def test_confirmatory_experiment_samples_the_plans_n_past_the_pilot():
    """The plan's n per space (the largest n of the committed pilot power table) at indices
    the pilot and the instrument study did not use (0-23), index slowest, every space the plan
    names."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from analysis.plan import load_plan

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=["+experiment=confirmatory"],
                      return_hydra_config=True)
    plan = load_plan(Path(CONF) / "plan" / "refinement.yaml")
    pilot = pd.read_csv(Path(CONF).parent / "results" / "power_pilot.csv")
    assert plan.n_per_space == int(pilot["n"].max())
    params = OmegaConf.to_container(cfg.hydra.sweeper.params, resolve=True)
    assert list(params) == ["sample.index", "design_space"]
    indices, spaces = [list(o.sweep_string_iterator()) for o in
                       OverridesParser.create().parse_overrides(
                           [f"{k}={v}" for k, v in params.items()])]
    assert len(indices) == plan.n_per_space and min(int(i) for i in indices) == 24
    named = {h.params[k] for h in plan.hypotheses for k in ("a", "b", "space")
             if isinstance(h.params.get(k), str)}
    assert named <= set(spaces) and len(spaces) == 6


def test_instrument_experiment_runs_every_space_index_by_index():
    """Index slowest, then space, then seed: a stopped sweep covers the spaces evenly."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=["+experiment=instrument", "regime=proxy_long"],
                      return_hydra_config=True)
    assert cfg.design_space.stem_stride == 1 and cfg.sweep.dir == "runs/instrument/proxy_long"
    params = OmegaConf.to_container(cfg.hydra.sweeper.params, resolve=True)
    assert list(params) == ["sample.index", "design_space", "train.seed"]
    lists = [list(o.sweep_string_iterator()) for o in OverridesParser.create().parse_overrides(
        [f"{k}={v}" for k, v in params.items()])]
    assert [len(v) for v in lists] == [24, 5, 2]  # 240 runs


def test_summary_counts_job_outcomes(tmp_path):
    hydra_dir = tmp_path / "multirun"
    outcomes = [("trained", "ok"), ("trained", "diverged"), ("trained", "failed"),
                ("skipped", "ok"), ("busy", None), ("error", None)]
    (hydra_dir).mkdir()
    (hydra_dir / "dse_sweep.json").write_text(json.dumps({"total": 8, "started": time.time()}))
    for job, (kind, status) in enumerate(outcomes):
        write_outcome(hydra_dir / str(job), kind, f"anynetx_a#{job}", status,
                      message="bad" if kind == "error" else None)
    (hydra_dir / "9").mkdir()
    (hydra_dir / "9" / "dse_outcome.json").write_text("{")  # unreadable: not counted
    counts = tally(read_outcomes(hydra_dir))
    assert counts == Counter(ok=1, diverged=1, failed=1, skipped=1, busy=1, error=1)
    line = progress_line(hydra_dir, {"label": "anynetx_a#5", "text": "ok 7.50%"})
    assert line.startswith("dse-train [6/8] ok 1, diverged 1, failed 1, skipped 1, busy 1, "
                           "error 1 · ETA ")
    assert line.endswith(" · anynetx_a#5 ok 7.50%")
    lines = format_summary(counts, 8, tmp_path, Counter(ok=2, failed=1), [], 1)
    assert lines[0] == ("dse-train sweep: 8 jobs: ok 1, diverged 1, failed 1, skipped 1, "
                        "busy 1, error 1, unfinished 2")
    assert lines[1] == f"records: {tmp_path} (3 in all: ok 2, failed 1)"


def test_summary_names_differing_run_identities(tmp_path):
    from analysis.testing import write_record
    from anynet import AnyNetSpec

    spec = AnyNetSpec(depths=[1, 1], widths=[8, 16], bottleneck_ratios=[1, 1],
                      group_widths=[8, 8], strides=[2, 2], num_classes=10)
    write_record(tmp_path, "anynetx_a", 0, spec, 10.0, seed=0)
    write_record(tmp_path, "anynetx_a", 0, spec, 12.0, seed=1)
    held, differing, distinct = held_records(tmp_path)
    assert held == Counter(ok=2) and differing == ["train_seed"] and distinct == 2
    lines = format_summary(Counter(ok=2), 2, tmp_path, held, differing, distinct)
    assert "2 run identities, differing in train_seed" in lines[2]


def test_count_sweep_jobs_expands_config_and_command_line_sweeps():
    params = {"design_space": "anynetx_a,anynetx_e,regnetx", "sample.index": "range(0,6)"}
    assert count_sweep_jobs(params, []) == 18
    assert count_sweep_jobs(params, ["sample.index=0,1", "train.seed=0,1,2"]) == 18
    assert count_sweep_jobs({}, ["regime.lr=0.1", "train.seed=0,1"]) == 2


# --- end to end: real sweeps through the launchers ------------------------------------------


@pytest.mark.slow
def test_resume_after_sigkill_with_joblib(tmp_path):
    """Kill the whole sweep once two records exist; the re-run completes exactly the rest."""
    sweep = tmp_path / "sweep"
    args = ["-m", "design_space=anynetx_a", "sample.index=range(0,6)", *TINY,
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"sweep.dir={sweep}"]
    proc = dse_train(*args, start_new_session=True)
    deadline = time.monotonic() + 240
    # Kill once two models are done and another is part-way (its checkpoint exists).
    while len(records(sweep)) < 2 or not checkpoints(sweep):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "no two records and a checkpoint within 240 s"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    first = records(sweep)
    interrupted = checkpoints(sweep)
    assert 2 <= len(first) < 6, "the sweep must be killed part-way"

    out = finish(dse_train(*args))
    final = records(sweep)
    assert len(final) == 6
    assert sorted(p.relative_to(sweep).parent.parent.as_posix() for p in final) == [
        f"anynetx_a/{i}" for i in range(6)]
    assert held_records(sweep)[2] == 1  # one run identity (apart from the spec)
    assert all(final[p] == mtime for p, mtime in first.items()), "finished records touched"
    assert stray_files(sweep) == []
    assert not list(sweep.rglob("checkpoint.pt")), "a finished model left its checkpoint"
    for ckpt in interrupted:  # the interrupted models went on from their checkpoints
        record = json.loads((ckpt.parent / "record.json").read_text())
        assert record["resumed_from_epoch"] >= 1, ckpt
    assert summary_line(out) == (f"dse-train sweep: 6 jobs: ok {6 - len(first)}, diverged 0, "
                                 f"failed 0, skipped {len(first)}")
    assert f"records: {sweep} (6 in all: ok 6)" in out
    assert not (Path.cwd() / "multirun").exists()


@pytest.mark.slow
def test_same_sweep_with_submitit_local(tmp_path):
    """The same sweep through hydra/launcher=submitit_local: same record layout and summary."""
    sweep = tmp_path / "sweep"
    args = ["-m", "design_space=anynetx_a,regnetx", "sample.index=0,1", *TINY,
            "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", f"sweep.dir={sweep}"]
    out = finish(dse_train(*args))
    assert sorted(p.relative_to(sweep).parent.parent.as_posix() for p in records(sweep)) == [
        "anynetx_a/0", "anynetx_a/1", "regnetx/0", "regnetx/1"]
    assert summary_line(out) == "dse-train sweep: 4 jobs: ok 4, diverged 0, failed 0, skipped 0"
    assert list((sweep / ".hydra" / "multirun").glob("*/.submitit"))
    # Re-run: everything is skipped; with the report flag the report path is the last line,
    # and with a plan the report leads with its verdicts.
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: tiny\nhypotheses:\n  - id: R_better_A\n    text: RegNetX beats A\n"
                    "    kind: better\n    a: regnetx\n    b: anynetx_a\n    test: mwu\n")
    rerun = finish(dse_train(*args, "++sweep.report=true", f"sweep.plan={plan}"))
    assert summary_line(rerun) == ("dse-train sweep: 4 jobs: ok 0, diverged 0, failed 0, "
                                   "skipped 4")
    assert rerun.strip().splitlines()[-1] == f"report: {sweep / 'report' / 'report.html'}"
    html = (sweep / "report" / "report.html").read_text()
    assert "Verdict (planned hypotheses)" in html and "R_better_A" in html


def test_bad_report_flag_is_one_clear_line(tmp_path):
    """Checked before any job starts: nothing is trained."""
    proc = dse_train("-m", "sample.index=0,1", *TINY, f"sweep.dir={tmp_path}",
                     "++sweep.report=maybe")
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, text
    assert "sweep.report: 'maybe' is not allowed; use true or false" in text
    assert not list(tmp_path.rglob("record.json"))


# the plans of conf/plan/, as the error lists them
PLANS = ", ".join(sorted(p.stem for p in (Path(CONF) / "plan").glob("*.yaml")))


@pytest.mark.parametrize(("plan", "line"), [
    ("nonesuch", "dse-train: error: sweep.plan: 'nonesuch' is neither a plan of conf/plan/ "
                 f"({PLANS}) nor a .yaml file"),
    ("{d}/bad.yaml", "dse-train: error: sweep.plan: {d}/bad.yaml: hypotheses"),
])
def test_a_bad_plan_stops_the_sweep_before_any_job(tmp_path, plan, line):
    """The plan of the report is read when the multirun starts, not after its last job."""
    (tmp_path / "bad.yaml").write_text("name: bad\nhypotheses: 3\n")
    proc = dse_train("-m", "sample.index=0,1", *TINY, f"sweep.dir={tmp_path}",
                     "++sweep.report=true", f"sweep.plan={plan.format(d=tmp_path)}")
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, text
    (got,) = text.strip().splitlines()
    assert got.startswith(line.format(d=tmp_path))
    assert not list(tmp_path.rglob("record.json"))


@pytest.mark.parametrize("args, key", [
    (["train.seed=0,1", "sweep.dir={d}/seed${{train.seed}}"], "train.seed"),
    (["regime=proxy,proxy_long", "sweep.dir={d}/${{regime.name}}"], "regime"),
    (["+experiment=fidelity", "sweep.n=2"], "train.seed"),  # a sweep of the config itself
])
def test_a_sweep_over_several_sweep_dirs_is_refused(tmp_path, args, key):
    """Its summary, progress and report read one folder; refused before any job starts."""
    args = [a.format(d=tmp_path) for a in args]
    if "+experiment=fidelity" in args:  # the committed experiment is fine; an old copy is not
        args.append(f"sweep.dir={tmp_path}/${{regime.name}}/seed${{train.seed}}")
    proc = dse_train("-m", "sample.index=0,1", *TINY, *args, cwd=tmp_path)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, text
    (line,) = text.strip().splitlines()
    assert line.startswith("dse-train: error: sweep.dir: ") and f"varies ({key})" in line
    assert not list(tmp_path.rglob("record.json"))


def test_swept_keys_of_the_command_line_and_the_config():
    from sampling.precheck import swept_keys
    from train.settings import check_one_sweep_dir

    assert swept_keys(["train.seed=0,1", "regime=proxy", "+x.y=range(0,3)"]) == [
        "train.seed", "x.y"]
    assert swept_keys(["train.seed=0"], {"train.seed": "0,1", "sample.index": "range(0,4)"}) \
        == ["sample.index"]  # the command line wins for a key it gives
    check_one_sweep_dir("runs/${regime.name}", ["train.seed", "sample.index"])  # fine
    with pytest.raises(ValueError, match=r"refers to design_space.name, which this sweep "
                                         r"varies \(design_space\)"):
        check_one_sweep_dir("runs/${design_space.name}", ["design_space"])
    with pytest.raises(ValueError, match="give one value"):
        check_one_sweep_dir("runs/a", ["sweep.dir"])


@pytest.mark.parametrize("name", ["fidelity", "instrument", "quickstart", "refinement",
                                  "confirmatory"])
def test_committed_experiments_write_to_one_sweep_dir(tmp_path, name):
    from sampling.precheck import precheck
    from train.cli import _validate, _validate_sweep

    precheck("dse-train", "config", [f"+experiment={name}", f"sweep.dir={tmp_path}/x"],
             validate=_validate, validate_sweep=_validate_sweep)  # exits on a refusal


@pytest.mark.slow
def test_two_identical_sweeps_never_train_a_run_twice(tmp_path):
    """Started together, the two sweeps share the work through the runs' locks."""
    sweep = tmp_path / "sweep"
    args = ["-m", "design_space=anynetx_a", "sample.index=range(0,4)", *TINY,
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=1", f"sweep.dir={sweep}"]
    procs = [dse_train(*args), dse_train(*args)]
    outs = [finish(p) for p in procs]
    assert len(records(sweep)) == 4
    both = "\n=====\n".join(outs)
    # every run trained exactly once across the two sweeps: one "ok <record>" line per training
    trained = [line.split()[2] for out in outs for line in out.splitlines()
               if line.startswith("dse-train: ok ")]
    assert sorted(trained) == sorted(set(trained)) and len(trained) == 4, both
    for out in outs:  # and each summary counts its own sweep's trainings
        mine = sum(line.startswith("dse-train: ok ") for line in out.splitlines())
        assert f"4 jobs: ok {mine}, " in summary_line(out), both
    for out in outs:  # one progress line per finished model, the launch listing condensed
        assert "dse-train: 4 jobs -> " in out and "[4/4] " in out and "#0 : " not in out
        assert "A worker stopped" not in out
    assert stray_files(sweep) == []


@pytest.mark.slow
def test_sigterm_to_the_launcher_stops_its_workers(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "design_space=anynetx_a", "sample.index=range(0,6)", *TINY,
            "regime.epochs=8", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
            f"sweep.dir={sweep}"]
    proc = dse_train(*args, start_new_session=True)
    deadline = time.monotonic() + 240
    while not list(sweep.rglob("checkpoint.pt")):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)  # the launching process only, as a scheduler would
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "stopped by SIGTERM: workers stopped, checkpoints kept" in out
    assert summary_line(out).startswith("dse-train sweep: 6 jobs:")
    stamps = {p: p.stat().st_mtime_ns for p in sweep.rglob("*") if p.is_file()}
    time.sleep(4)  # an orphaned worker would go on writing checkpoints and records
    assert {p: p.stat().st_mtime_ns for p in sweep.rglob("*") if p.is_file()} == stamps
    assert list(sweep.rglob("checkpoint.pt")), "the interrupted runs keep their checkpoints"
    # the same command resumes and completes the rest
    assert summary_line(finish(dse_train(*args))).startswith("dse-train sweep: 6 jobs:")
    assert len(records(sweep)) == 6


def test_a_rerun_removes_the_checkpoint_a_kill_left_beside_a_final_record(tmp_path):
    """Killed after writing its record but before removing its checkpoint, a run leaves both;
    the rerun skips it and removes the checkpoint (the flake of the SIGKILL test above)."""
    sweep = tmp_path / "sweep"
    args = ["design_space=anynetx_a", "sample.index=0", *TINY, f"sweep.dir={sweep}"]
    finish(dse_train(*args))
    (record,) = sweep.rglob("record.json")
    stale = record.parent / "checkpoint.pt"
    stale.write_bytes(b"left by a kill")
    before = record.stat().st_mtime_ns
    out = finish(dse_train(*args))
    assert "dse-train: skip " in out
    assert not stale.exists() and record.stat().st_mtime_ns == before
