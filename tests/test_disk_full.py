"""A disk that fills up at any write (checkpoint, record, outcome, Hydra's job files, job log,
report) leaves no partial file, says ``cannot write PATH: <reason>`` in one line, counts as a
failure of the environment (never a verdict on the model), and the rerun after space is freed
completes.

Two ways to fill a disk: a file-size limit (``RLIMIT_FSIZE`` with SIGXFSZ ignored: a write past
it fails with EFBIG "File too large"; needs no privileges, always runs) and, where this process
may mount one, a small tmpfs (a real ENOSPC "No space left on device")."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from train.callbacks import JobLogFile, sweep_failed

# 2 stages of 32 and 64 channels: a checkpoint of ~100 KB, larger than every other file.
SPEC = ("{depths:[1,1],widths:[32,64],bottleneck_ratios:[1,1],group_widths:[8,8],"
        "strides:[2,2],stem_width:8}")
TINY = ["data=synthetic", "data.train_size=64", "data.test_size=32", "regime.epochs=2",
        "regime.batch_size=32", "regime.warmup_epochs=0", "train.progress=none", f"spec={SPEC}"]
# Between the largest file Hydra or a record needs (multirun.yaml ~8 KB) and a checkpoint.
CHECKPOINT_LIMIT = 30_000


def _limit(limit_bytes: int | None):
    if limit_bytes is None:
        return None

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return apply


def dse_train(*args: str, limit: int | None = None, cwd: Path | None = None
              ) -> subprocess.CompletedProcess:
    """The installed ``dse-train`` with `args`, writes past `limit` bytes failing."""
    exe = Path(sys.executable).with_name("dse-train")
    cmd = [str(exe) if exe.exists() else shutil.which("dse-train") or "dse-train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
                          preexec_fn=_limit(limit))


def python(code: str, *args: str, limit: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, preexec_fn=_limit(limit))


def run_files(sweep: Path) -> list[str]:
    """The files of the runs (not Hydra's bookkeeping), relative to the sweep."""
    return sorted(str(p.relative_to(sweep)) for p in sweep.rglob("*")
                  if p.is_file() and ".hydra" not in p.relative_to(sweep).parts)


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def one_record(sweep: Path) -> dict:
    (path,) = sweep.glob("spec-*/*/record.json")
    return json.loads(path.read_text())


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk(size)``: a tmpfs of `size` (e.g. "16k") mounted in the test's folder, and
    ``small_disk.grow(dir, size)`` to free space; skipped where this process may not mount."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root; the RLIMIT_FSIZE tests cover full disks")
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); the RLIMIT_FSIZE "
                        "tests cover full disks")
        mounted.append(folder)
        return folder

    def grow(folder: Path, size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)

    mount.grow = grow  # type: ignore[attr-defined]
    try:
        yield mount
    finally:
        for folder in mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


# -- the shared atomic writer ------------------------------------------------------------------

TORCH_SAVE = """
import resource, signal, sys, torch
from anynet import AnyNetSpec, build_model
from train.checkpoint import save_checkpoint
model = build_model(AnyNetSpec(depths=[1, 1], widths=[32, 64], bottleneck_ratios=[1, 1],
                               group_widths=[8, 8], strides=[2, 2], stem_width=8))
state = {"model": model.state_dict()}
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (30000, 30000))
try:
    with open(sys.argv[1] + ".raw", "wb") as f:
        torch.save(state, f)
except Exception as e:
    print("RAW", type(e).__name__, str(e).splitlines()[0])
try:
    save_checkpoint(sys.argv[1], state)
except Exception as e:
    print("OURS", type(e).__name__, e.errno, e.strerror)
"""


def test_a_checkpoint_that_does_not_fit_is_a_write_error(tmp_path):
    """torch.save turns the file's EFBIG/ENOSPC into ``RuntimeError: unexpected pos``; the
    checkpoint writer gives back the OSError naming the path, and leaves no file."""
    target = tmp_path / "checkpoint.pt"
    p = python(TORCH_SAVE, str(target))
    lines = p.stdout.splitlines()
    assert any(line.startswith("RAW RuntimeError") and "unexpected pos" in line
               for line in lines), p.stdout + p.stderr
    assert f"OURS OSError 27 cannot write {target}: File too large" in lines, p.stdout + p.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt.raw"]


# -- dse-train, one run ------------------------------------------------------------------------

@pytest.mark.slow
def test_full_disk_at_a_checkpoint_is_an_environment_failure_and_the_rerun_completes(tmp_path):
    sweep = tmp_path / "sweep"
    p = dse_train(f"sweep.dir={sweep}", *TINY, limit=CHECKPOINT_LIMIT, cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    (line,) = p.stderr.splitlines()
    rec = one_record(sweep)
    run = Path(next(sweep.glob("spec-*/*")))
    assert line == (f"dse-train: failed {run / 'record.json'}: OSError: [Errno 27] cannot write "
                    f"{run / 'checkpoint.pt'}: File too large (environment; a rerun retries it)")
    assert rec["status"] == "failed" and rec["failure"] == "environment"
    assert rec["message"] == line.split(": ", 2)[2].rsplit(" (", 1)[0]
    assert run_files(sweep) == [str((run / n).relative_to(sweep))
                                for n in ("record.json", "run.lock")]  # no checkpoint
    assert temp_files(sweep) == []
    # space freed: the plain rerun retries the run (no "skip … status failed")
    p = dse_train(f"sweep.dir={sweep}", *TINY, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "skip" not in p.stdout and p.stderr == ""
    rec = one_record(sweep)
    assert rec["status"] == "ok" and rec["failure"] is None and 0 <= rec["error"] <= 100
    assert len(rec["epochs"]) == 2 and temp_files(sweep) == []


RUN_LIMITED = """
import resource, signal, sys
from hydra import compose, initialize_config_dir
import conf
from train.runner import run
with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
    cfg = compose("config", sys.argv[2:])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
rec = run(cfg)
print("STATUS", rec["status"], rec["failure"])
"""


def test_a_record_that_does_not_fit_is_one_line_and_no_file(tmp_path):
    """One epoch (no checkpoint): training succeeds, its record does not fit, nor does the
    failed record; one line, no partial record, and the rerun trains the run again."""
    sweep = tmp_path / "sweep"
    args = [f"sweep.dir={sweep}", *TINY, "regime.epochs=1"]
    p = python(RUN_LIMITED, "2000", *args)
    assert p.returncode == 0, p.stderr
    assert "STATUS failed environment" in p.stdout
    (line,) = p.stderr.splitlines()
    run = Path(next(sweep.glob("spec-*/*")))
    assert line == (f"dse-train: failed {run / 'record.json'}: OSError: [Errno 27] cannot write "
                    f"{run / 'record.json'}: File too large (environment; not recorded; a rerun "
                    "retries it)")
    assert sorted(p.name for p in run.iterdir()) == ["run.lock"]
    p = python(RUN_LIMITED, str(10**9), *args)
    assert "STATUS ok None" in p.stdout, p.stderr
    assert one_record(sweep)["status"] == "ok"


def test_hydras_job_files_that_do_not_fit_are_one_line(tmp_path):
    """A file-size limit below Hydra's hydra.yaml (~6.5 KB): one line and exit 1 before
    training, the job's config files whole or absent."""
    sweep = tmp_path / "sweep"
    p = dse_train(f"sweep.dir={sweep}", *TINY, limit=5000, cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    (line,) = p.stderr.splitlines()
    (job,) = (sweep / ".hydra" / "run").iterdir()
    assert line == f"dse-train: error: cannot write {job / '.hydra' / 'hydra.yaml'}: File too large"
    assert sorted(p.name for p in (job / ".hydra").iterdir()) == ["config.yaml"]
    assert "sweep:\n  dir: " in (job / ".hydra" / "config.yaml").read_text()
    assert run_files(sweep) == [] and temp_files(tmp_path) == []


def test_a_job_log_that_cannot_be_written_is_one_warning(capsys):
    """/dev/full: every write fails with ENOSPC. One warning, then the log's lines are dropped
    (logging would print a traceback per line)."""
    import logging

    handler = JobLogFile("/dev/full")
    log = logging.getLogger("test_disk_full.job")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("epoch 1/2")
        log.info("epoch 2/2")
    finally:
        log.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert err == ("dse-train: warning: cannot write /dev/full: No space left on device; log "
                   "lines dropped\n")


# -- dse-train -m ------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_sweep_whose_jobs_all_fail_exits_1_after_its_summary(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", f"sweep.dir={sweep}", *TINY, "train.seed=0,1"]
    p = dse_train(*args, limit=CHECKPOINT_LIMIT, cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "dse-train sweep: 2 jobs: ok 0, diverged 0, failed 2, skipped 0" in p.stdout
    err = p.stderr.splitlines()
    assert len(err) == 3 and all("cannot write" in e and "File too large" in e for e in err[:2])
    assert err[2] == ("dse-train: error: every job of this sweep failed (see above); a rerun "
                      "retries the environment's failures")
    assert "Traceback" not in p.stdout + p.stderr and temp_files(sweep) == []
    p = dse_train(*args, cwd=tmp_path)  # space freed: both runs are retried and finish
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dse-train sweep: 2 jobs: ok 2, diverged 0, failed 0, skipped 0" in p.stdout


OUTCOME = """
import resource, signal, sys
from pathlib import Path
from train.cli import _outcome
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
_outcome(Path(sys.argv[1]), "trained", "anynetx_a#0", "ok", Path(sys.argv[1]) / "r.json", None)
print("went on")
"""


def test_an_outcome_that_does_not_fit_is_one_line_and_the_job_goes_on(tmp_path):
    p = python(OUTCOME, str(tmp_path))
    assert p.returncode == 0 and p.stdout == "went on\n", p.stderr
    assert p.stderr == (f"dse-train: error: cannot write {tmp_path / 'dse_outcome.json'}: "
                        "File too large\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("counts, total, failed", [
    (Counter(ok=3), 3, False),
    (Counter(failed=2, ok=1), 3, False),
    (Counter(skipped=2), 2, False),  # kept records, failed ones included: rerun as asked
    (Counter(busy=2), 2, False),
    (Counter(failed=2), 2, True),
    (Counter(failed=1), 2, True),  # the other job left no outcome (its disk was full)
    (Counter(), 2, True),
    (Counter(error=1, ok=3), 4, True),
])
def test_when_a_sweep_fails(counts, total, failed):
    assert sweep_failed(counts, total) is failed


@pytest.mark.slow
def test_an_end_of_sweep_report_that_does_not_fit_is_one_line(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", f"sweep.dir={sweep}", *TINY[:-1], "regime.epochs=1", "design_space=anynetx_a",
            "sample.index=0,1", "++sweep.report=true"]
    p = dse_train(*args, limit=20_000, cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "dse-train sweep: 2 jobs: ok 2, diverged 0, failed 0, skipped 0" in p.stdout
    (line,) = p.stderr.splitlines()
    assert line.startswith(f"dse-train: no report: cannot write {sweep / 'report'}")
    assert line.endswith(f": File too large; see dse-analyze sweep.dir={sweep}")
    assert temp_files(sweep) == []


# -- a real full disk (tmpfs, where it may be mounted) -----------------------------------------

def test_too_little_space_to_start_is_one_line(small_disk, tmp_path):
    disk = small_disk("16k")
    for args in ([], ["-m", "train.seed=0,1"]):
        p = dse_train(*args, f"sweep.dir={disk / 'sweep'}", *TINY, cwd=tmp_path)
        assert p.returncode == 1, p.stdout + p.stderr
        assert p.stderr == (f"dse-train: error: cannot write {disk / 'sweep'}: No space left on "
                            "device (16 KiB free; dse-train needs at least 64 KiB)\n")
        assert list(disk.iterdir()) == []


@pytest.mark.slow
def test_a_disk_that_fills_at_a_checkpoint_and_is_freed(small_disk, tmp_path):
    disk = small_disk("128k")
    sweep = disk / "sweep"
    p = dse_train(f"sweep.dir={sweep}", *TINY, cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    (line,) = p.stderr.splitlines()
    run = Path(next(sweep.glob("spec-*/*")))
    assert line.endswith(f"cannot write {run / 'checkpoint.pt'}: No space left on device "
                         "(environment; a rerun retries it)")
    rec = one_record(sweep)
    assert rec["status"] == "failed" and rec["failure"] == "environment"
    assert sorted(p.name for p in run.iterdir()) == ["record.json", "run.lock"]
    small_disk.grow(disk, "4m")
    p = dse_train(f"sweep.dir={sweep}", *TINY, cwd=tmp_path)
    assert p.returncode == 0 and p.stderr == "", p.stdout + p.stderr
    assert one_record(sweep)["status"] == "ok" and temp_files(sweep) == []
