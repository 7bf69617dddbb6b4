"""Sweep integrity (issue 13): files that cannot run code, a config that says no, files that follow
the umask, environment failures that a rerun retries. Real files, real trainer, tiny models."""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from PIL import Image

import conf
from anynet.record import (
    current_umask,
    identity_diff,
    make_identity,
    read_record,
    run_id,
    write_json_atomic,
    write_record,
)
from train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from train.data import DataError, load_dataset
from train.runner import run
from train.settings import ConfigError, settings_from_config

torch.set_num_threads(1)
SPEC = "{depths:[1,1],widths:[8,16],bottleneck_ratios:[1,1],group_widths:[8,8],strides:[2,2]," \
       "stem_width:8}"
FAST = ["data=synthetic", "data.train_size=128", "data.test_size=64", "regime.epochs=2",
        "regime.batch_size=16", "regime.lr=0.2", "train.progress=none"]


def cfg(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        return compose("config", [f"sweep.dir={tmp_path}", *FAST, *overrides])


class Payload:
    """Unpickling this creates `marker` (a stand-in for any code a crafted file could run)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


# -- files that cannot run code ---------------------------------------------------------------

def test_crafted_checkpoint_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": Payload(marker)}, path)  # written by someone else
    with pytest.raises(CheckpointError, match=r"checkpoint.pt' is corrupt or not a checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()
    save_checkpoint(path, {"epoch": 1, "t": torch.arange(3), "history": [{"a": 1.0}]})
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["t"], torch.arange(3))


def test_crafted_checkpoint_in_a_sweep_is_an_environment_failure(tmp_path):
    first = run(cfg(tmp_path, f"spec={SPEC}", "regime.epochs=1"))
    folder = next(tmp_path.glob("spec-*"))
    marker = tmp_path / "pwned"
    # plant a crafted checkpoint where the 2-epoch run of the same spec will look for one
    c2 = cfg(tmp_path, f"spec={SPEC}")
    ident = make_identity(spec=first["spec"], data=dict(c2.data), location_keys=(),
                          regime={**first["regime"], "epochs": 2}, train_seed=0,
                          precision="fp32", threads=1, channels_last=True, device_kind="cpu")
    target = folder / run_id(ident)
    target.mkdir()
    torch.save({"model": Payload(marker)}, target / "checkpoint.pt")
    rec = run(c2)
    assert not marker.exists()
    assert rec["status"] == "failed" and rec["failure"] == "environment"
    assert "CheckpointError" in rec["message"] and "delete it" in rec["message"]


def _cifar(root: Path, payload: Path | None = None) -> None:
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
             b"labels": [9, 0, 1, 2]}
        if payload is not None and name == "data_batch_2":
            d[b"extra"] = Payload(payload)
        with open(root / name, "wb") as f:
            pickle.dump(d, f)


def test_crafted_cifar_batch_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    _cifar(tmp_path / "c", payload=marker)
    cfg_ = dict(name="cifar10", root=str(tmp_path / "c"), resolution=32, channels=3,
                num_classes=10)
    with pytest.raises(DataError, match=r"data_batch_2' is corrupt \(UnpicklingError: global "
                                        r"pathlib.*is not part of the format\)"):
        load_dataset(cfg_)
    assert not marker.exists()
    _cifar(tmp_path / "ok")
    assert load_dataset({**cfg_, "root": str(tmp_path / "ok")}).x_train.shape == (20, 3, 32, 32)


# -- a config that says no ----------------------------------------------------------------------

@pytest.mark.parametrize("override, message", [
    ("+train.seeed=5", r"train: unknown key\(s\) \['seeed'\]"),
    ("+sweep.retries=2", r"sweep: unknown key\(s\) \['retries'\]"),
    ("+sample.idx=2", r"sample: unknown key\(s\) \['idx'\]"),
    ("+foo=1", r"config: unknown key\(s\) \['foo'\]"),
    ("sweep.retry_failed=maybe", r"sweep.retry_failed: 'maybe' is not allowed; use true or false"),
    ("sweep.report=0.5", r"sweep.report: 0.5 is not allowed; use true or false"),
    ("sweep.plan=' '", r"sweep.plan: ' ' is not allowed; use null or the name of a plan"),
    ("train.channels_last=auto", r"train.channels_last: 'auto' is not allowed"),
    ("train.progress=false", r"train.progress: 'False' is not allowed; use one of auto"),
    ("train.threads=10000", r"train.threads: 10000 is not allowed; use an integer from 1 to"),
    ("train.threads=0", r"train.threads: 0 is not allowed"),
    ("train.precision=fp16", r"train.precision: 'fp16' is not allowed; use one of fp32, bf16"),
    ("train.eval=never", r"train.eval: 'never' is not allowed"),
    ("sweep.dir=''", r"sweep.dir: '' is not allowed; give a folder path"),
    ("sample.index=-1", r"sample.index: -1 is not allowed"),
])
def test_bad_settings_are_one_line(tmp_path, override, message):
    """A value of the wrong type for a key typed in conf/schema.py is refused while composing
    (`conf.compose_plain`), the others when the job starts: the same one line."""
    with pytest.raises(ConfigError, match=message) as err:
        run(conf.compose_plain("config", [f"sweep.dir={tmp_path}", *FAST, f"spec={SPEC}",
                                          override]))
    assert "\n" not in str(err.value)
    assert not list(tmp_path.rglob("record.json"))


def test_a_file_as_sweep_dir_is_one_line(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match=r"sweep.dir: .* cannot be created"):
        settings_from_config({"data": {}, "regime": {}, "train": {},
                              "sweep": {"dir": str(f / "sub")}})


@pytest.mark.parametrize("override, message", [
    ("regime.momentum=5", r"regime.momentum: 5.0 is not allowed; use a number from 0 to"),
    ("regime.momentum=1", r"regime.momentum: 1.0 is not allowed"),
    ("design_space.se_ratio=5", r"design_space.se_ratio: 5 is not allowed; use a number from 0"),
    ("design_space.strides=[2,2]", r"design_space.strides: \[2, 2\] is not allowed; use one"),
    ("design_space.stem_stride=3", r"design_space.stem_stride: 3 is not allowed; use 1 or 2"),
    ("design_space.complexity.reference.scale=area",
     r"design_space.complexity.reference.scale: 'area' is not allowed"),
])
def test_bad_model_and_regime_values_are_one_line(tmp_path, override, message):
    with pytest.raises(ValueError, match=message) as err:
        run(cfg(tmp_path, override, "data.resolution=8"))
    assert "\n" not in str(err.value)


def yes(spec):
    return "no"


def boom(spec):
    raise RuntimeError("cannot decide")


@pytest.mark.parametrize("fn, message", [
    ("yes", r"design_space.constraints.mine: 'test_integrity:yes' returned 'no'; it must "
            r"return true or false"),
    ("boom", r"design_space.constraints.mine: 'test_integrity:boom' raised RuntimeError: "
             r"cannot decide"),
])
def test_custom_constraint_must_answer_true_or_false(tmp_path, fn, message):
    with pytest.raises(ValueError, match=message):
        run(cfg(tmp_path, f"+design_space.constraints.mine=test_integrity:{fn}",
                "data.resolution=8"))


def test_imagefolder_classes_must_match(tmp_path):
    for split, classes in (("train", ("cat", "dog")), ("val", ("cat",))):
        for cls in classes:
            d = tmp_path / split / cls
            d.mkdir(parents=True)
            Image.fromarray(np.full((8, 8, 3), 9, dtype=np.uint8)).save(d / "0.png")
    with pytest.raises(DataError, match=r"val' has classes \['cat'\], train/ has \['cat', "
                                        r"'dog'\] \(extra \[\], missing \['dog'\]\)"):
        load_dataset(dict(name="imagefolder", root=str(tmp_path), resolution=8, channels=3,
                          num_classes=2))


# -- files, umask, identity ---------------------------------------------------------------------

def test_records_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        write_json_atomic(tmp_path / "a.json", {"x": 1})
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
    finally:
        os.umask(old)
    write_json_atomic(tmp_path / "b.json", {"x": 1})
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o666 & ~old


def test_a_write_that_fails_names_the_path_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"status": "ok"})
    with pytest.raises(ValueError):  # NaN is not JSON: nothing is half-written
        write_json_atomic(path, {"x": float("nan")})
    assert json.loads(path.read_text()) == {"status": "ok"}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


FULL_DISK = """
import resource, signal, sys
from hydra import compose, initialize_config_dir
import conf
from train.runner import run
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
    cfg = compose("config", sys.argv[2:])
rec = run(cfg)
print("STATUS", rec["status"], rec["failure"])
"""


def test_full_disk_while_checkpointing_is_retried_not_a_verdict(tmp_path):
    import subprocess
    import sys

    args = [f"sweep.dir={tmp_path}", *FAST, f"spec={SPEC}"]
    p = subprocess.run([sys.executable, "-c", FULL_DISK, "12000", *args], capture_output=True,
                       text=True, timeout=120)
    assert "STATUS failed environment" in p.stdout, p.stdout + p.stderr
    (path,) = tmp_path.glob("spec-*/*/record.json")
    rec = json.loads(path.read_text())
    assert rec["message"].startswith("OSError: [Errno 27] cannot write ")
    assert "checkpoint.pt: File too large" in rec["message"]
    assert run(cfg(tmp_path, f"spec={SPEC}"))["status"] == "ok"  # a rerun retries it


def test_full_disk_while_writing_a_record_names_the_path(tmp_path):
    from anynet.record import write_atomic

    big = {"x": "y" * 100_000}
    code = ("import resource, signal, sys; from anynet.record import write_json_atomic;"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000));"
            f"write_json_atomic(sys.argv[1], {big!r})")
    import subprocess
    import sys

    target = tmp_path / "record.json"
    p = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode != 0
    assert f"OSError: [Errno 27] cannot write {target}: File too large" in p.stderr
    assert list(tmp_path.iterdir()) == []  # no partial file, no temp file
    assert write_atomic  # the one writer every record, checkpoint and report goes through


def test_identity_diff_names_fields():
    a = make_identity(spec={"depths": [1]}, data={"name": "x", "cache_dir": "/a"},
                      location_keys=("cache_dir",), regime={"lr": 0.1}, train_seed=0,
                      precision="fp32", threads=1, channels_last=True, device_kind="cpu")
    b = make_identity(spec={"depths": [1]}, data={"name": "x", "cache_dir": "/b"},
                      location_keys=("cache_dir",), regime={"lr": 1000}, train_seed=1,
                      precision="fp32", threads=2, channels_last=True, device_kind="cpu")
    assert identity_diff(a, b) == ["regime.lr (0.1 vs 1000)", "threads (1 vs 2)",
                                   "train_seed (0 vs 1)"]
    with pytest.raises(ValueError, match="train.precision: 'fp16' is not allowed"):
        make_identity(spec={}, data={}, location_keys=(), regime={}, train_seed=0,
                      precision="fp16", threads=1, channels_last=True, device_kind="cpu")


def test_read_record_keeps_foreign_files_aside(tmp_path):
    path = tmp_path / "record.json"
    path.write_text('{"status": "maybe"}')
    assert read_record(path) is None
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == ["record.json.corrupt"]
    with pytest.raises(ValueError, match="record.status: 'done' is not allowed"):
        write_record(path, {"status": "done"})


# -- one line, never a traceback, for every command -------------------------------------------

COMMANDS = {"dse-train": "from train.cli import main",
            "dse-sample": "from sampling.cli import main",
            "dse-analyze": "from analysis.cli import main",
            "dse-zoo": "from anynet.zoo import main",
            "dse-fidelity": "from analysis.fidelity_cli import main"}


@pytest.mark.parametrize("command, args, message", [
    ("dse-train", ["design_space=nope"], "Could not find 'design_space/nope'"),
    ("dse-train", ["-m", "design_space=anynetx_a,nope", "sample.index=range(0,3)"],
     "Could not find 'design_space/nope'"),
    ("dse-train", ["--bogus"], "--bogus: not an option"),
    ("dse-train", ["foo=1"], "Could not override 'foo'"),
    ("dse-train", ["sample.index=range(0"], "no viable alternative"),
    ("dse-train", ["+train.seeed=5"], "train: unknown key(s) ['seeed']"),
    ("dse-train", ["sweep.retry_failed=maybe"], "sweep.retry_failed: 'maybe' is not allowed"),
    ("dse-train", ["-m", "sample.index=0,1", "train.progress=false"],
     "train.progress: 'False' is not allowed"),
    ("dse-train", ["-m", "sample.index=0,1", "train.seed=0,-1"],
     "train.seed: -1 is not allowed"),  # a bad value in a sweep stops it before any job
    ("dse-train", ["-m", "sample.index=0,1", "regime.lr=0.1,-1"], "regime.lr: -1.0 is not"),
    ("dse-train", ["design_space=regnetx", "design_space.domains.wm.low=0.5"],
     "design_space.domains.wm: draws 0.5"),
    ("dse-train", ["spec={depths:[1,1],widths:[8,16]}"], "spec: missing field(s)"),
    ("dse-sample", ["design_space=nope", "out=x.jsonl"], "Could not find 'design_space/nope'"),
    ("dse-sample", ["n=-1", "out=x.jsonl"], "n: -1 is not allowed"),
    ("dse-analyze", ["sweep.dir=nowhere"], "sweep.dir: 'nowhere' does not exist"),
    ("dse-analyze", ["sweep.dir=.", "n_boot=zero"], "n_boot"),
    ("dse-zoo", ["--bogus"], "unrecognized arguments: --bogus"),
    ("dse-zoo", ["x"], "invalid int value: 'x'"),
    ("dse-fidelity", ["proxy=[nowhere]", "reference=[.]"], "proxy: 'nowhere' is not a folder"),
])
def test_bad_command_lines_are_one_line(tmp_path, command, args, message):
    import subprocess
    import sys

    code = f"import sys; {COMMANDS[command]}; sys.argv[0] = {command!r}; main()"
    p = subprocess.run([sys.executable, "-c", code, *args, f"sweep.dir={tmp_path / 'sw'}"]
                       if command == "dse-train" else [sys.executable, "-c", code, *args],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = (p.stdout + p.stderr).strip().splitlines()
    assert p.returncode != 0 and len(lines) == 1, p.stdout + p.stderr
    assert message in lines[0] and "Traceback" not in lines[0]
    assert not list(tmp_path.rglob("record.json"))


def test_a_killed_writers_temp_files_are_removed_by_the_next_run(tmp_path):
    first = run(cfg(tmp_path, f"spec={SPEC}", "regime.epochs=1"))
    (folder,) = tmp_path.glob("spec-*/*")
    stale = folder / ".record.json.abc123.tmp"
    stale.write_text('{"status": "o')  # what a SIGKILL during an atomic write leaves
    again = run(cfg(tmp_path, f"spec={SPEC}", "regime.epochs=1"))
    assert again == first and not stale.exists()
