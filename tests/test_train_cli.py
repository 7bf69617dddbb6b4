"""dse-train end to end: records, skip/retry semantics, failures, the Hydra app itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from train.runner import run
from train.settings import ConfigError

torch.set_num_threads(1)

CONF = str(Path(__file__).resolve().parent.parent / "conf")
SPEC = "{depths:[1,1],widths:[8,16],bottleneck_ratios:[1,1],group_widths:[8,8],strides:[2,2]," \
       "stem_width:8}"
FAST = ["data=synthetic", "data.train_size=128", "data.test_size=64", "regime.epochs=2",
        "regime.batch_size=16", "regime.lr=0.2", "train.progress=none"]


def cfg(tmp_path, *overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("config", [f"sweep.dir={tmp_path}", *FAST, *overrides])


def records(root):
    """Record files of explicit-spec runs: <sweep.dir>/spec-<hash>/<run id>/record.json."""
    return sorted(root.glob("spec-*/*/record.json"))


def test_spec_record_is_complete(tmp_path):
    rec = run(cfg(tmp_path, f"spec={SPEC}"))
    paths = records(tmp_path)
    assert len(paths) == 1 and json.loads(paths[0].read_text()) == rec
    assert rec["status"] == "ok" and rec["error"] == rec["epochs"][-1]["test_error"]
    assert rec["min_error"] == rec["error"]  # only the last epoch is evaluated
    for key in ("spec", "complexity", "design_space", "index", "seeds", "regime", "data",
                "images_per_second", "wall_seconds", "versions", "device", "message",
                "identity", "run_id", "precision", "threads", "channels_last"):
        assert key in rec
    identity = rec["identity"]
    assert sorted(identity) == sorted(["spec", "data", "regime", "train_seed", "precision",
                                       "threads", "channels_last", "device_kind"])
    assert identity["threads"] == 1 and identity["precision"] == "fp32"
    assert identity["spec"] == rec["spec"] and paths[0].parent.name == rec["run_id"]
    assert rec["run_id"].startswith("proxy-s0-")
    assert set(rec["epochs"][0]) >= {"train_loss", "train_error", "test_error", "lr", "seconds"}
    assert rec["spec"]["in_channels"] == 1 and rec["spec"]["num_classes"] == 4
    assert rec["complexity"]["flops"] > 0 and rec["data"]["train_size"] == 128
    assert not (paths[0].parent / "checkpoint.pt").exists()
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["record.json", "run.lock"]
    # evaluated after the last epoch only (train.eval=final, the default)
    assert [e["test_error"] is None for e in rec["epochs"]] == [True, False]


def test_same_config_same_errors_and_skip(tmp_path, capsys):
    a = run(cfg(tmp_path / "a", f"spec={SPEC}", "train.eval=epoch"))
    b = run(cfg(tmp_path / "b", f"spec={SPEC}"))
    assert a["error"] == b["error"]  # evaluating every epoch changes nothing
    assert [e["test_error"] is None for e in a["epochs"]] == [False, False]
    (path,) = records(tmp_path / "a")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    again = run(cfg(tmp_path / "a", f"spec={SPEC}"))
    assert again == a and (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert "skip" in capsys.readouterr().out
    # another regime, seed or data is another run: trained beside it, never reused
    for override in ("regime.epochs=3", "train.seed=1", "data.test_size=32"):
        other = run(cfg(tmp_path / "a", f"spec={SPEC}", override))
        assert other["run_id"] != a["run_id"] and other["status"] == "ok"
    assert len(records(tmp_path / "a")) == 4
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    # sweep.overwrite=true retrains the run in place, to the same error (CPU determinism)
    redone = run(cfg(tmp_path / "a", f"spec={SPEC}", "train.eval=epoch", "sweep.overwrite=true"))
    assert redone["run_id"] == a["run_id"] and redone["error"] == a["error"]
    assert path.stat().st_mtime_ns != before[1]


def test_failure_record_and_retry(tmp_path):
    # batch 1 at 8 px: the last BN sees one value per channel and raises during training
    bad = ["data.resolution=8", "regime.batch_size=1", f"spec={SPEC}"]
    rec = run(cfg(tmp_path, *bad))
    assert rec["status"] == "failed" and "ValueError" in rec["message"]
    assert rec["failure"] == "model"
    (path,) = records(tmp_path)
    assert json.loads(path.read_text())["status"] == "failed"
    assert run(cfg(tmp_path, *bad)) == rec  # skipped: still the same record
    again = run(cfg(tmp_path, *bad, "sweep.retry_failed=true"))  # retrained, fails again
    assert again["status"] == "failed" and again["wall_seconds"] != rec["wall_seconds"]
    # a machine failure is retried by any rerun: mark the record so and rerun
    record = json.loads(path.read_text())
    record["failure"] = "environment"
    path.write_text(json.dumps(record))
    assert run(cfg(tmp_path, *bad))["wall_seconds"] != record["wall_seconds"]


def test_diverged_record_is_final(tmp_path):
    rec = run(cfg(tmp_path, f"spec={SPEC}", "regime.lr=1e30"))
    assert rec["status"] == "diverged" and rec["error"] is None
    again = run(cfg(tmp_path, f"spec={SPEC}", "regime.lr=1e30", "sweep.retry_failed=true"))
    assert again == rec


def test_zoo_model_and_bad_values(tmp_path):
    with pytest.raises(ConfigError, match=r"model: 'RegNetX-1MF' is not in the zoo"):
        run(cfg(tmp_path, "model=RegNetX-1MF"))
    with pytest.raises(ConfigError, match=r"spec and model: both are set"):
        run(cfg(tmp_path, "model=RegNetX-200MF", f"spec={SPEC}"))
    with pytest.raises(ConfigError, match=r"spec.num_classes: 10 does not match"):
        run(cfg(tmp_path, "spec=" + SPEC[:-1] + ",num_classes:10}"))
    with pytest.raises(ConfigError, match=r"train.device: 'tpu' is not allowed"):
        run(cfg(tmp_path, f"spec={SPEC}", "train.device=tpu"))
    with pytest.raises(ValueError, match=r"regime.epochs: 0 is not allowed"):
        run(cfg(tmp_path, f"spec={SPEC}", "regime.epochs=0"))
    assert not any(tmp_path.rglob("*.json"))


def test_design_space_sample(tmp_path):
    sampling = pytest.importorskip("sampling")
    if not hasattr(sampling, "space_from_config"):
        pytest.skip("sampling.space_from_config not available")
    overrides = ["design_space=anynetx_e", "sample.index=2", "data.resolution=8",
                 "regime.epochs=1"]
    c = cfg(tmp_path, *overrides)
    expected = sampling.space_from_config(c.design_space).sample(2, 0)
    rec = run(c)
    assert (tmp_path / rec["design_space"]["name"] / "2" / rec["run_id"] / "record.json").is_file()
    assert rec["spec"] == expected.to_dict() and rec["index"] == 2
    assert rec["design_space"]["config"]["resolution"] == 8
    assert rec["status"] in ("ok", "diverged")


def _dse_train(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "import sys; from train.cli import main; sys.argv[0] = 'dse-train'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_hydra_app(tmp_path):
    args = [f"sweep.dir={tmp_path}/sw", f"hydra.run.dir={tmp_path}/hydra", f"spec={SPEC}",
            *FAST[:-1], "regime.epochs=1"]  # progress auto: one log line per epoch (no tty)
    p = _dse_train(*args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rec = json.loads(records(tmp_path / "sw")[0].read_text())
    assert rec["status"] == "ok" and "epoch 1/1" in p.stdout + p.stderr
    p = _dse_train(*args, cwd=tmp_path)
    assert p.returncode == 0 and "skip" in p.stdout
    p = _dse_train(f"sweep.dir={tmp_path}/sw", f"hydra.run.dir={tmp_path}/hydra",
                   "data=cifar10", f"data.root={tmp_path}/nowhere", f"spec={SPEC}",
                   cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"dse-train: error: data.root: '{tmp_path}/nowhere' is not a directory; expected a "
        "cifar-10-batches-py directory with data_batch_1..data_batch_5 and test_batch "
        "(pickled dicts with b'data' uint8 Nx3072 and b'labels')"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hydra", "sw"]


def test_corrupt_record_is_kept_aside_and_retrained(tmp_path):
    rec = run(cfg(tmp_path, f"spec={SPEC}", "regime.epochs=1"))
    (path,) = records(tmp_path)
    path.write_text('{"status": "ok", "err')  # not written by dse-train: someone else's file
    again = run(cfg(tmp_path, f"spec={SPEC}", "regime.epochs=1"))
    assert again["status"] == "ok" and again["epochs"][0]["test_error"] == \
        rec["epochs"][0]["test_error"]
    aside = list(path.parent.glob("record.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"status": "ok", "err'


def test_launching_process_does_not_import_torch():
    # under -m the launching process only composes configs, dispatches jobs and runs the summary
    # callback; importing torch there cost ~1.4 s per sweep (benchmarks/bench_sweep.py)
    code = ("import sys, train, train.cli, train.callbacks, analysis.callbacks, sampling; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('anynet.model')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    # the package's names still resolve (PEP 562), to the same objects as their modules'
    import train
    import train.runner
    assert train.run is train.runner.run and "run" in dir(train)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        train.nope  # noqa: B018
