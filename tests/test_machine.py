"""Where a run ran (docs/TRAINING.md "Determinism" and "Run record"): a record names its machine
(CPU model, torch's CPU kernel path, the torch build, the code's commit), which is recorded but
never hashed, so run ids, existing records and running sweeps stay as they were;
`load_sweep`'s ``machine`` column and the report's provenance show it. One tiny real training
(synthetic data, one epoch), real files."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

import conf
from analysis import load_sweep
from analysis.report import MIXED_MACHINES, machines_of, machines_text
from anynet.record import (
    IDENTITY_FIELDS,
    RECORD_NAME,
    RECORDED_NOT_HASHED,
    new_record,
    record_identity,
    run_id,
)
from anynet.system import (
    MACHINE_FIELDS,
    code_commit,
    cpu_of,
    git_commit,
    machine_label,
    this_cpu,
)
from train.runner import run

ROOT = Path(__file__).resolve().parents[1]
SPEC = "{depths:[1,1],widths:[8,16],bottleneck_ratios:[1,1],group_widths:[8,8],strides:[2,2]," \
       "stem_width:8}"
FAST = ["data=synthetic", "data.train_size=128", "data.test_size=64", "regime.epochs=1",
        "regime.batch_size=16", "regime.lr=0.2", "train.progress=none", f"spec={SPEC}",
        "train.seed=3"]
# The run id of that config, computed by the code before records named their machine: a changed
# id would orphan every existing record and stop running sweeps from resuming.
GOLDEN_RUN_ID = "proxy-s3-230627e1abe1"
XEON = ("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 79\n"
        "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t\t: fpu avx2\n\n"
        "processor\t: 1\nvendor_id\t: OtherVendor\nmodel name\t: Not The First\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("machine")
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        cfg = compose("config", [f"sweep.dir={root}", *FAST])
    record = run(cfg)
    assert record is not None and record["status"] == "ok"
    return root, record


def _cpuinfo_model_name() -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines
                 if line.startswith("model name")), None)


def test_a_trained_record_names_its_machine(trained):
    _, record = trained
    machine = record["machine"]
    assert list(machine) == list(MACHINE_FIELDS)
    assert machine["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert machine["torch_build"] == torch.version.git_version
    assert machine["logical_cpus"] == os.cpu_count()
    assert machine["cuda_device"] is None  # train.device=cpu
    expected = _cpuinfo_model_name() or platform.processor() or platform.machine()
    assert machine["cpu"] == expected and machine["cpu"]
    assert machine["kernel_env"] == {k: os.environ[k] for k in machine["kernel_env"]}
    if (ROOT / ".git").exists() and shutil.which("git"):
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
        assert machine["code_commit"] == head == code_commit()


def test_the_machine_is_recorded_not_hashed(trained):
    _, record = trained
    assert record["run_id"] == GOLDEN_RUN_ID
    assert list(record["identity"]) == list(IDENTITY_FIELDS)
    assert run_id(record["identity"]) == GOLDEN_RUN_ID
    old = {k: v for k, v in record.items() if k != "machine"}  # as written before the field
    assert run_id(record_identity(old)) == GOLDEN_RUN_ID
    identity = record["identity"]
    other = new_record(identity, machine={**record["machine"], "cpu": "elsewhere"})
    assert other["run_id"] == new_record(identity)["run_id"] == GOLDEN_RUN_ID
    assert set(RECORDED_NOT_HASHED).isdisjoint(IDENTITY_FIELDS)
    with pytest.raises(ValueError, match=r"identity: field\(s\) \['machine'\] are not allowed"):
        new_record({**identity, "machine": record["machine"]})


def test_committed_records_keep_their_run_ids():
    paths = sorted((ROOT / "results").rglob(RECORD_NAME))
    if not paths:
        pytest.skip("no committed record.json under results/")
    for path in paths:
        rec = json.loads(path.read_text())
        assert run_id(record_identity(rec)) == rec["run_id"] == path.parent.name, path


def _copy(record: dict, sweep: Path, folder: str) -> None:
    path = sweep / folder / record["run_id"] / RECORD_NAME
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))


def test_load_sweep_shows_the_machine_and_blank_for_old_records(trained, tmp_path):
    root, record = trained
    (path,) = root.rglob(RECORD_NAME)
    shutil.copytree(path.parent.parent, tmp_path / "spec-new")
    _copy({k: v for k, v in record.items() if k != "machine"}, tmp_path, "spec-old")
    df = load_sweep(tmp_path).set_index("design_space")  # mixed machines: never refused
    new = df.loc["spec-new", "machine"]
    assert new == machine_label(record["machine"]) and new.startswith(record["machine"]["cpu"])
    assert new.split(" · ")[1] == torch.backends.cpu.get_cpu_capability().lower()
    assert df.loc["spec-old", "machine"] == ""
    assert df.loc["spec-new", "run_id"] == df.loc["spec-old", "run_id"] == GOLDEN_RUN_ID


def test_provenance_names_machines_and_warns_when_several(trained, tmp_path):
    _, record = trained
    xeon = {**record["machine"], "cpu": "Intel(R) Xeon(R) CPU @ 2.20GHz",
            "cpu_id": "family 6 model 79", "cpu_capability": "AVX2"}
    _copy(record, tmp_path, "spec-a")
    _copy(record, tmp_path, "spec-b")
    one = machines_text(machines_of(load_sweep(tmp_path)))
    assert one == (machine_label(record["machine"]), "")
    _copy({**record, "machine": xeon}, tmp_path, "spec-c")
    _copy({k: v for k, v in record.items() if k != "machine"}, tmp_path, "spec-d")
    counts = machines_of(load_sweep(tmp_path))
    here = machine_label(record["machine"])
    there = "Intel Xeon CPU @ 2.20GHz (family 6 model 79) · avx2"
    assert counts == sorted([(here, 2), (there, 1), ("", 1)], key=lambda kv: (-kv[1], kv[0]))
    text, warn = machines_text(counts)
    assert text.startswith(f"{here} (2 records); ")
    assert f"{there} (1 records)" in text and text.endswith("not recorded (1 records)")
    assert warn.startswith("Records ran on 2 machines: ") and MIXED_MACHINES in warn
    assert machines_text([("", 4)]) == ("not recorded", "")


def test_cpuinfo_and_label():
    xeon = cpu_of(XEON)  # the first processor's fields only
    assert (xeon.name, xeon.vendor, xeon.cpu_id) == (
        "Intel(R) Xeon(R) CPU @ 2.20GHz", "GenuineIntel", "family 6 model 79")
    bare = cpu_of(None)  # not Linux: what platform names
    assert bare.name == (platform.processor() or platform.machine() or "unknown")
    assert bare.vendor is None and bare.cpu_id is None
    assert this_cpu().name == (_cpuinfo_model_name() or bare.name)
    label = machine_label({"cpu": xeon.name, "cpu_id": xeon.cpu_id, "cpu_capability": "AVX2",
                           "kernel_env": {"ONEDNN_MAX_CPU_ISA": "AVX2",
                                          "ATEN_CPU_CAPABILITY": "avx2"},
                           "cuda_device": "NVIDIA H100"})
    assert label == ("Intel Xeon CPU @ 2.20GHz (family 6 model 79) · avx2 · "
                     "ONEDNN_MAX_CPU_ISA=AVX2 · NVIDIA H100")
    assert machine_label(None) == machine_label({}) == machine_label("AMD") == ""


def test_git_commit_reads_heads_refs_and_worktrees(tmp_path):
    sha, other = "a" * 40, "b" * 40
    repo = tmp_path / "repo"
    git = repo / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    assert git_commit(repo) is None  # a branch without commits
    (git / "packed-refs").write_text(f"# pack-refs\n{other} refs/heads/main\n")
    assert git_commit(repo) == other
    (git / "refs" / "heads" / "main").write_text(sha + "\n")  # a loose ref wins
    assert git_commit(repo) == sha
    (git / "HEAD").write_text(other + "\n")  # detached
    assert git_commit(repo) == other
    (git / "HEAD").write_text("not a commit\n")
    assert git_commit(repo) is None
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    wt = tmp_path / "worktree"
    (git / "worktrees" / "wt").mkdir(parents=True)
    (git / "worktrees" / "wt" / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "worktrees" / "wt" / "commondir").write_text("../..\n")
    wt.mkdir()
    (wt / ".git").write_text(f"gitdir: {git / 'worktrees' / 'wt'}\n")
    assert git_commit(wt) == sha
    assert git_commit(tmp_path / "nothing") is None and git_commit(tmp_path) is None
