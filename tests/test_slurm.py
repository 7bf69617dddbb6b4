"""Sweeps through ``hydra/launcher=slurm`` on a real one-node SLURM cluster (slurm_cluster.py).

The session fixture starts munged, slurmctld and slurmd (as root) and stops them by process id at
the end. Without SLURM or root the tests skip, unless ``ANYNET_DSE_REQUIRE_SLURM=1`` (CI, .ci/run)
makes that a failure. The jobs run this venv's python (submitit uses the launcher's interpreter)
in the launch directory: the whole machine is the "shared filesystem".
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, start_cluster, unavailable_reason

# Tiny models on tiny data (a few seconds each); the partition of the test cluster is "cpu".
TINY = ["data=synthetic", "data.train_size=256", "data.test_size=128", "regime.epochs=3",
        "regime.batch_size=64", "regime.warmup_epochs=0"]
# The models of the requeue and scancel tests: ~1 s per epoch on one core.
MODEL = ["data=synthetic", "data.train_size=512", "data.test_size=128", "regime.batch_size=64",
         "regime.warmup_epochs=0"]
SLURM = ["hydra/launcher=slurm", "hydra.launcher.partition=cpu", "hydra.launcher.mem_gb=1"]
REQUIRE = "ANYNET_DSE_REQUIRE_SLURM"


def skip_or_fail(reason: str) -> None:
    """Skip, or fail where CI demands a real SLURM (ANYNET_DSE_REQUIRE_SLURM=1)."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm() -> SlurmCluster:
    """A one-node SLURM cluster for the whole session (its files in a short /tmp folder: the
    munge socket path must stay under the 108 characters of a UNIX socket)."""
    reason = unavailable_reason()
    if reason:
        skip_or_fail(reason)
    folder = Path(tempfile.mkdtemp(prefix="dse-slurm-", dir="/tmp"))
    cluster = start_cluster(folder)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def dse_train(cluster: SlurmCluster, *args: str) -> subprocess.Popen:
    """Start ``dse-train`` with the cluster's SLURM_CONF (its jobs inherit it through sbatch)."""
    exe = Path(sys.executable).with_name("dse-train")
    cmd = [str(exe) if exe.exists() else shutil.which("dse-train") or "dse-train", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=cluster.env)


def finish(proc: subprocess.Popen, cluster: SlurmCluster, timeout: float = 300) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"dse-train did not finish in {timeout:.0f} s; jobs {cluster.jobs()}\n"
                    f"{_quiet(out)}")
    assert proc.returncode == 0, _quiet(out)
    return _quiet(out)


def _quiet(out: str) -> str:
    """The launcher's output without submitit's warnings that the test cluster has no
    accounting (no ``sacct``): it then follows the jobs by their result files."""
    return "\n".join(line for line in out.splitlines()
                     if "sacct" not in line and "accounting storage is disabled" not in line)


def records(sweep: Path) -> dict[str, dict]:
    """``<space>/<index>`` -> record of every record under `sweep`."""
    return {p.relative_to(sweep).parent.parent.as_posix(): json.loads(p.read_text())
            for p in sweep.rglob("record.json")}


def summary_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("dse-train sweep:"))


def job_logs(sweep: Path) -> list[Path]:
    return sorted(sweep.glob(".hydra/multirun/*/.submitit/*/*_log.out"))


def test_skip_or_fail_follows_the_ci_switch(monkeypatch):
    monkeypatch.delenv(REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no slurmd"):
        skip_or_fail("no slurmd")
    monkeypatch.setenv(REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="ANYNET_DSE_REQUIRE_SLURM=1 but no slurmd"):
        skip_or_fail("no slurmd")


def test_unavailable_reason_names_the_missing_commands(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("slurm_cluster.SBIN", ())
    reason = unavailable_reason()
    assert reason.startswith("SLURM is not installed (munged, slurmctld, slurmd, sinfo")
    assert reason.endswith("apt-get install slurm-wlm munge")


def test_an_exception_from_submitits_signal_handling_is_the_environments(monkeypatch):
    """Raised inside training by submitit's handler of the time-limit signal (out of requeues,
    or its ``scontrol requeue`` killed by the requeue itself), it is the scheduler's failure,
    not the model's: the failed record says ``environment`` and a rerun resumes the run."""
    submitit = pytest.importorskip("submitit")
    from train.runner import _environment_failure

    monkeypatch.delenv("SUBMITIT_EXECUTOR", raising=False)
    with pytest.raises(RuntimeError) as raised:
        submitit.JobEnvironment()  # raised in submitit's code, as its signal handler's errors
    assert _environment_failure(raised.value)
    assert _environment_failure(OSError(28, "No space left on device"))
    assert not _environment_failure(RuntimeError("shape mismatch"))


# --- end to end on the cluster -----------------------------------------------------------------


@pytest.mark.slow
def test_sweep_through_slurm_writes_records_summary_and_report(slurm, tmp_path):
    """Two models as one job array: the sbatch script carries the preset's settings, both
    records are written, the summary counts them and the report is built."""
    sweep = tmp_path / "sweep"
    args = ["-m", "design_space=anynetx_a,regnetx", "sample.index=0", *TINY, *SLURM,
            "hydra.launcher.timeout_min=5", "++sweep.report=true", f"sweep.dir={sweep}"]
    out = finish(dse_train(slurm, *args), slurm)
    got = records(sweep)
    assert sorted(got) == ["anynetx_a/0", "regnetx/0"]
    assert all(r["status"] == "ok" and r["resumed_from_epoch"] in (0, None) for r in got.values())
    assert summary_line(out) == "dse-train sweep: 2 jobs: ok 2, diverged 0, failed 0, skipped 0"
    assert f"records: {sweep} (2 in all: ok 2)" in out
    assert out.strip().splitlines()[-1] == f"report: {sweep / 'report' / 'report.html'}"
    assert (sweep / "report" / "report.html").stat().st_size > 0
    # the submission script: the preset's keys became sbatch options; one array of 2 tasks,
    # both running at once (array_parallelism 256, capped at the array's size)
    (script,) = sweep.glob(".hydra/multirun/*/.submitit/*/*_submission.sh")
    text = script.read_text()
    for line in ("#SBATCH --partition=cpu", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=1GB",
                 "#SBATCH --time=5", "#SBATCH --array=0-1%2", "#SBATCH --signal=USR2@120"):
        assert line in text, text
    assert sys.executable in text  # the jobs run the launcher's python
    assert len(job_logs(sweep)) == 2


@pytest.fixture(scope="module")
def pace(slurm, tmp_path_factory) -> tuple[float, float]:
    """(start-up seconds, seconds per epoch) of a ``dse-train`` run of `MODEL` on this machine
    now: one local 2-epoch run, timed. The tests size their models by it."""
    folder = tmp_path_factory.mktemp("pace")
    t0 = time.monotonic()
    out = finish(dse_train(slurm, "design_space=anynetx_a", "sample.index=0", *MODEL,
                           "regime.epochs=2", f"sweep.dir={folder}"), slurm)
    wall = time.monotonic() - t0
    (record,) = records(folder).values()
    assert record["status"] == "ok", out
    seconds = [e["seconds"] for e in record["epochs"]]
    return max(wall - sum(seconds), 0.0), seconds[-1]


@pytest.mark.slow
def test_a_model_that_hits_its_time_limit_is_requeued_and_resumes(slurm, pace, tmp_path):
    """``timeout_min=1`` and ``signal_delay_s=5``: slurmctld checks time limits every 30 s and
    sends the signal at the last check before it is due, so SIGUSR2 reaches a run 25-55 s after
    it started, always before its limit. submitit then checkpoints the launcher's job (resubmits
    it as it is) and requeues the task (after cred_expire, 5 s on the test cluster); the
    model's own checkpoint of its last finished epoch is what the requeued run resumes from.
    The model gets more epochs than fit into the first run on this machine now (timed by
    `pace`), so at least one requeue is certain."""
    startup, per_epoch = pace
    latest_signal = 60 - 5  # s after the start
    epochs = min(max(math.ceil((latest_signal - startup / 2 + 5) / per_epoch), 8), 400)
    sweep = tmp_path / "sweep"
    args = ["-m", "design_space=anynetx_a", "sample.index=0", *MODEL, f"regime.epochs={epochs}",
            "train.progress=log", *SLURM,
            "hydra.launcher.timeout_min=1", "hydra.launcher.signal_delay_s=5",
            f"sweep.dir={sweep}"]
    out = finish(dse_train(slurm, *args), slurm, timeout=600)
    assert summary_line(out) == "dse-train sweep: 1 jobs: ok 1, diverged 0, failed 0, skipped 0"
    (record,) = records(sweep).values()
    (log,) = job_logs(sweep)
    text = log.read_text()
    context = (f"startup {startup:.1f} s, {per_epoch:.2f} s/epoch, {epochs} epochs\n"
               + "\n".join(li for li in text.splitlines()
                           if re.search(r"epoch \d+/|Starting|Caught signal|[Rr]equeue", li)))

    def events(what: str) -> int:  # submitit logs each line twice: its own format and Hydra's
        return len(re.findall(rf"^submitit \w+ \(.*\) - {what}", text, flags=re.M))

    requeues = events(r"Requeued job \d+")
    assert events("Caught signal SIGUSR2") == requeues >= 1, context
    assert events("Starting with JobEnvironment") == requeues + 1, context
    assert record["status"] == "ok" and record["error"] is not None, context
    assert record["resumed_from_epoch"] > 0, context
    assert [e["epoch"] for e in record["epochs"]] == list(range(1, epochs + 1)), context
    # the last run trained on from the epoch its record says it resumed from
    last_run = text.split("Starting with JobEnvironment")[-1]
    first = re.search(r"epoch (\d+)/", last_run)
    assert int(first.group(1)) == record["resumed_from_epoch"] + 1, context
    assert not list(sweep.rglob("checkpoint.pt"))


@pytest.mark.slow
def test_scancel_keeps_checkpoints_that_a_rerun_resumes(slurm, pace, tmp_path):
    """``scancel`` of a running array (SIGTERM, then SIGKILL after KillWait) leaves each model's
    checkpoint; the same command again trains both to the end from there. The test cluster has
    no accounting, so the launcher cannot see the cancellation: it is stopped with SIGTERM, as
    a user would stop it."""
    sweep = tmp_path / "sweep"
    epochs = max(math.ceil(20 / pace[1]), 10)  # >= 20 s each: scancel comes well before the end
    args = ["-m", "design_space=anynetx_a,regnetx", "sample.index=0", *MODEL,
            f"regime.epochs={epochs}", *SLURM, "hydra.launcher.timeout_min=5",
            f"sweep.dir={sweep}"]
    proc = dse_train(slurm, *args)
    deadline = time.monotonic() + 240
    while len(list(sweep.rglob("checkpoint.pt"))) < 2:
        assert proc.poll() is None, _quiet(proc.communicate()[0])
        assert time.monotonic() < deadline, f"no two checkpoints in 240 s; {slurm.jobs()}"
        time.sleep(0.2)
    running = [job for job, state in slurm.jobs() if state == "RUNNING"]
    (array,) = {job.split("_")[0] for job in running}
    assert len(running) == 2, running

    def states() -> list[str]:
        return sorted(state for job, state in slurm.jobs() if job.split("_")[0] == array)

    slurm.run("scancel", array)
    while states() != ["CANCELLED", "CANCELLED"] or not slurm.idle():  # processes gone
        assert time.monotonic() < deadline, f"the array is not cancelled; {slurm.jobs()}"
        time.sleep(0.2)
    kept = list(sweep.rglob("checkpoint.pt"))
    assert len(kept) == 2 and not records(sweep), "cancelled models keep their checkpoints"
    proc.send_signal(signal.SIGTERM)
    out = _quiet(proc.communicate(timeout=60)[0])
    assert proc.returncode == 130, out

    rerun = finish(dse_train(slurm, *args), slurm)
    assert summary_line(rerun) == "dse-train sweep: 2 jobs: ok 2, diverged 0, failed 0, skipped 0"
    got = records(sweep)
    assert sorted(got) == ["anynetx_a/0", "regnetx/0"]
    for key, record in got.items():
        assert record["status"] == "ok", key
        assert 0 < record["resumed_from_epoch"] < epochs, key
        assert [e["epoch"] for e in record["epochs"]] == list(range(1, epochs + 1)), key
    assert not list(sweep.rglob("checkpoint.pt"))


@pytest.mark.slow
def test_streamed_folder_with_loader_workers_in_a_slurm_task(slurm, tmp_path):
    """data=imagefolder_stream (issue 26) with 2 DataLoader workers inside an array task: the
    task's python starts its loader processes, and the record matches a local run's."""
    from test_stream import SPEC as STREAM_SPEC
    from test_stream import make_folder

    root = make_folder(tmp_path / "folder")
    data = [f"spec={STREAM_SPEC}", "data=imagefolder_stream", f"data.root={root}",
            "data.num_classes=4", "data.resolution=24", "regime.epochs=2",
            "regime.batch_size=16", "regime.warmup_epochs=0"]
    sweep = tmp_path / "sweep"
    out = finish(dse_train(slurm, "-m", "train.seed=0", "data.workers=2", *data, *SLURM,
                           "hydra.launcher.timeout_min=5", f"sweep.dir={sweep}"), slurm)
    assert summary_line(out) == "dse-train sweep: 1 jobs: ok 1, diverged 0, failed 0, skipped 0"
    (path,) = sweep.rglob("record.json")
    rec = json.loads(path.read_text())
    assert rec["status"] == "ok" and rec["data"]["workers"] == 2
    local = finish(dse_train(slurm, "data.workers=0", *data, "train.progress=none",
                             f"sweep.dir={tmp_path / 'local'}"), slurm)
    (other,) = (tmp_path / "local").rglob("record.json")
    mine = json.loads(other.read_text())
    assert mine["run_id"] == rec["run_id"] and mine["error"] == rec["error"], local


@pytest.mark.slow
def test_a_sequential_sweep_through_slurm_stops_a_decided_space(slurm, tmp_path):
    """hydra/sweeper=sequential over submitit: each look is one job array; regnetx is decided
    at the first look (2 models), anynetx_a stays open to the last (4)."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: slurm_sequential\nn_boot: 199\nn_per_space: 4\n"
        "sequential: {looks: [0.5, 1], spending: pocock, futility: none}\n"
        "hypotheses:\n"
        "  - {id: in_range, text: every depth, kind: best_value, space: regnetx, "
        "parameter: depth, range: [0, 1000], frac: 0.5}\n"
        "  - {id: open, text: itself, kind: better, a: anynetx_a, b: anynetx_a, test: mwu}\n")
    sweep = tmp_path / "sweep"
    out = finish(dse_train(slurm, "-m", "hydra/sweeper=sequential",
                           "design_space=anynetx_a,regnetx", "sample.index=range(0,4)",
                           *TINY, *SLURM, f"sweep.dir={sweep}", f"sweep.plan={plan}"), slurm,
                 timeout=600)
    got = records(sweep)
    assert sorted(k for k in got if k.startswith("regnetx/")) == ["regnetx/0", "regnetx/1"]
    assert sorted(k for k in got if k.startswith("anynetx_a/")) == [
        f"anynetx_a/{i}" for i in range(4)]
    assert "look 1/2 at 2 models per space: 1 hypothesis open; still training anynetx_a" in out
    assert (sweep / "sequential.csv").is_file()
