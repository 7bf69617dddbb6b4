"""Config checks of dse-train and dse-sample before anything runs: sample keys with a zoo model,
unquotable values, non-finite numbers, CIFAR pickles, no folder from a refused config, every
value of a range sweep (docs/SWEEPS.md "Before anything starts")."""

from __future__ import annotations

import codecs
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from anynet.record import check_finite, make_identity
from sampling.precheck import override_sets, precheck, quoting_hint, range_values
from train.cli import _validate, _validate_sweep, _validate_values
from train.data import DataError, load_dataset
from train.runner import run
from train.settings import ConfigError, check_sweep_dir, settings_from_config

CONF = str(Path(__file__).resolve().parent.parent / "conf")
SPEC = ("{depths:[1],widths:[8],bottleneck_ratios:[1],group_widths:[8],strides:[2],"
        "stem_width:8}")
TINY = ["data=synthetic", "data.train_size=64", "data.test_size=32", "regime.epochs=1",
        "regime.batch_size=32", "regime.warmup_epochs=0", "train.progress=none"]
COMMANDS = {"dse-train": "from train.cli import main",
            "dse-sample": "from sampling.cli import main"}


def plain(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return OmegaConf.to_container(compose("config", list(overrides)), resolve=True)


def cli(command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = f"import sys; {COMMANDS[command]}; sys.argv[0] = {command!r}; main()"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def refused(p: subprocess.CompletedProcess, command: str = "dse-train") -> str:
    """The one error line of a refused command line (exit status 2, no traceback)."""
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    (line,) = p.stderr.strip().splitlines()
    assert line.startswith(f"{command}: error: ")
    return line[len(f"{command}: error: "):]


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -- 1. sample.index / sample.seed only apply to a design space -------------------------------

def test_a_zoo_model_or_spec_refuses_sample_keys(tmp_path):
    d = f"sweep.dir={tmp_path}"
    with pytest.raises(ConfigError, match=r"^sample.index: 5 is not allowed with "
                                          r"model=RegNetX-200MF; a zoo model is not a sample"):
        settings_from_config(plain(d, "model=RegNetX-200MF", "sample.index=5"))
    with pytest.raises(ConfigError, match=r"^sample.seed: 3 is not allowed with spec; an "
                                          r"explicit spec is not a sample"):
        settings_from_config(plain(d, f"spec={SPEC}", "sample.seed=3"))
    # the defaults (index 0, seed 0) are fine, and so is any member of a design space
    assert settings_from_config(plain(d, "model=RegNetX-200MF")).seed == 0
    settings_from_config(plain(d, f"spec={SPEC}", "sample.index=0", "sample.seed=0"))
    settings_from_config(plain(d, "sample.index=5", "sample.seed=3"))
    # run() refuses it too, before anything is written
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", [d, *TINY, "model=RegNetX-200MF", "sample.index=5"])
    with pytest.raises(ConfigError, match="sample.index: 5"):
        run(cfg)
    assert tree(tmp_path) == []


def test_zoo_model_with_sample_index_is_one_line_and_writes_nothing(tmp_path):
    p = cli("dse-train", "model=RegNetX-200MF", "sample.index=5",
            f"sweep.dir={tmp_path}/sw", cwd=tmp_path)
    line = refused(p)
    assert line.startswith("sample.index: 5 is not allowed with model=RegNetX-200MF")
    assert "not a sample of a design space" in line
    assert tree(tmp_path) == []


def test_committed_presets_and_a_plain_zoo_model_pass_the_precheck(tmp_path):
    args = [f"sweep.dir={tmp_path}/x"]
    for argv in (["model=RegNetX-200MF", *args], ["-m", "model=RegNetX-200MF,RegNetX-400MF",
                                                   *args],
                 ["+experiment=quickstart", *args], ["+experiment=instrument", *args]):
        precheck("dse-train", "config", argv, validate=_validate,
                 validate_sweep=_validate_sweep, validate_values=_validate_values)
    assert tree(tmp_path) == []  # validating makes no folder


def test_a_preset_sweeping_sample_index_refuses_a_zoo_model(tmp_path, capsys):
    """conf/experiment/instrument.yaml sweeps sample.index over range(0,${sweep.n})."""
    with pytest.raises(SystemExit) as info:
        precheck("dse-train", "config", ["+experiment=instrument", "model=RegNetX-200MF",
                                         f"sweep.dir={tmp_path}/x"],
                 validate=_validate, validate_sweep=_validate_sweep,
                 validate_values=_validate_values)
    assert info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("dse-train: error: sample.index: 1 is not allowed with model=")


# -- 2. values the override grammar reads only quoted -----------------------------------------

def test_quoting_hint_names_the_key_and_the_quoted_form():
    assert quoting_hint(["sample.index=1", "sweep.dir=runs/ésai"]) == (
        "sweep.dir: 'runs/ésai' must be quoted on the command line (unquoted, Hydra's override "
        "grammar allows only ASCII letters, digits, spaces and _-/+.:$%*@?|); give "
        "\"sweep.dir='runs/ésai'\" (Hydra's single quotes inside the shell's double quotes)")
    assert quoting_hint(["data.root=/data/a#b c"]).startswith(
        "data.root: '/data/a#b c' must be quoted")
    # a malformed list, call or quote is not a plain string: no hint
    assert quoting_hint(["x=[1,2"]) is None and quoting_hint(["x=range(0"]) is None
    assert quoting_hint(["x='é"]) is None and quoting_hint(["sweep.dir=runs/ok"]) is None


@pytest.mark.slow
def test_a_non_ascii_sweep_dir_is_refused_unquoted_and_works_quoted(tmp_path):
    folder = tmp_path / "runs" / "my ésai"
    line = refused(cli("dse-train", f"sweep.dir={folder}", f"spec={SPEC}", *TINY,
                       cwd=tmp_path))
    assert line.startswith(f"sweep.dir: '{folder}' must be quoted on the command line")
    assert line.endswith(f"give \"sweep.dir='{folder}'\" (Hydra's single quotes inside the "
                         "shell's double quotes)")
    assert tree(tmp_path) == []
    p = cli("dse-train", f"sweep.dir='{folder}'", f"spec={SPEC}", *TINY, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    (record,) = folder.glob("spec-*/*/record.json")
    assert json.loads(record.read_text())["status"] in ("ok", "diverged")
    # a multirun too: one record per member, all in that folder
    p = cli("dse-train", "-m", f"sweep.dir='{folder}'", "sample.index=0,1",
            "design_space=anynetx_a", "data.resolution=8", *TINY, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(r.parent.parent.name for r in folder.glob("anynetx_a/*/*/record.json")) == [
        "0", "1"]


# -- 3. NaN and infinity ----------------------------------------------------------------------

def test_non_finite_numbers_are_refused_naming_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"^data.noise: nan is not allowed; use a finite "
                                         r"number$"):
        check_finite({"data": {"noise": float("nan")}})
    with pytest.raises(ValueError, match=r"^design_space.complexity.flops\[1\]: inf is not"):
        check_finite({"design_space": {"complexity": {"flops": [0.0, float("inf")]}}})
    check_finite({"data": {"noise": 1e300, "seed": 3}, "x": [1.5, None, "nan"]})
    # where a run's identity is hashed: the key is named, not JSON's "Out of range float"
    with pytest.raises(ValueError, match=r"^regime.lr: -inf is not allowed; use a finite"):
        make_identity(spec={}, data={}, location_keys=(), regime={"lr": float("-inf")},
                      train_seed=0, precision="fp32", threads=1, channels_last=True,
                      device_kind="cpu")
    # each key's own check gives its range
    data = dict(name="synthetic", resolution=8, channels=1, num_classes=2, train_size=4,
                test_size=2)
    with pytest.raises(DataError, match=r"^data.noise: nan is not allowed; use a finite number "
                                        r">= 0$"):
        load_dataset({**data, "noise": float("nan")})
    assert load_dataset({**data, "noise": 0.0}).x_train.shape == (4, 1, 8, 8)
    with pytest.raises(ValueError, match=r"^regime.lr: nan is not allowed"):
        _validate(plain(f"sweep.dir={tmp_path}", "regime.lr=nan"))
    with pytest.raises(ValueError, match=r"^data.noise: inf is not allowed; use a finite"):
        _validate(plain(f"sweep.dir={tmp_path}", *TINY, "data.noise=inf"))
    # and run() without the precheck, before anything is written
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", [f"sweep.dir={tmp_path}/sw", *TINY, "data.noise=nan"])
    with pytest.raises(ValueError, match=r"^data.noise: nan is not allowed"):
        run(cfg)
    assert tree(tmp_path) == []


def test_data_noise_nan_is_one_line(tmp_path):
    line = refused(cli("dse-train", f"sweep.dir={tmp_path}/sw", *TINY, "data.noise=nan",
                       cwd=tmp_path))
    assert line == "data.noise: nan is not allowed; use a finite number"
    assert tree(tmp_path) == []


# -- 4. CIFAR-10 batches under every pickle protocol, and nothing else ------------------------

def _write_batches(root: Path, protocol: int | None) -> dict[str, np.ndarray]:
    root.mkdir(parents=True)
    rng = np.random.default_rng(protocol or 0)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        labels = [9, *rng.integers(0, 10, 3).tolist()]
        d = {b"batch_label": f"{name} of 5".encode(), b"labels": labels, b"data": x,
             b"filenames": [f"img_{i}.png".encode() for i in range(4)]}
        with open(root / name, "wb") as f:
            pickle.dump(d, f, protocol=protocol)
        written[name] = x
    return written


@pytest.mark.parametrize("protocol", [2, None, pickle.HIGHEST_PROTOCOL])
def test_cifar10_batches_of_python3_pickle_protocols(tmp_path, protocol):
    """Protocol 2 writes byte strings as ``_codecs.encode(text, 'latin1')``; protocol 5
    writes arrays through ``numpy's _frombuffer``: both are the format."""
    root = tmp_path / "cifar-10-batches-py"
    written = _write_batches(root, protocol)
    if protocol == 2:
        assert b"_codecs\nencode" in (root / "test_batch").read_bytes()
    d = load_dataset(dict(name="cifar10", root=str(root), resolution=32, channels=3,
                          num_classes=10))
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
    assert np.array_equal(d.x_train[4:8].numpy().reshape(4, 3072), written["data_batch_2"])
    assert np.array_equal(d.x_test.numpy().reshape(4, 3072), written["test_batch"])


class _Hostile:
    def __init__(self, call, *args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


@pytest.mark.parametrize("payload", [
    (os.system, "touch {marker}"),  # a global outside the format
    (codecs.encode, "{marker}", "rot13"),  # the format's _codecs.encode, but not for bytes
    (eval, "open({marker!r}, 'w')"),
])
def test_cifar10_hostile_pickles_are_refused_before_they_run(tmp_path, payload):
    root = tmp_path / "c"
    _write_batches(root, 2)
    marker = tmp_path / "pwned"
    call, *args = payload
    bad = {b"data": _Hostile(call, *[a.format(marker=str(marker)) for a in args]),
           b"labels": [0]}
    (root / "data_batch_3").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_3' is corrupt \(UnpicklingError: .* not "
                                        r"part of the format\)"):
        load_dataset(dict(name="cifar10", root=str(root), resolution=32, channels=3,
                          num_classes=10))
    assert not marker.exists()


# -- 5. a refused config makes no folder ------------------------------------------------------

def test_checking_sweep_dir_creates_nothing(tmp_path):
    assert check_sweep_dir(str(tmp_path / "a" / "b")) == tmp_path / "a" / "b"
    assert check_sweep_dir(str(tmp_path)) == tmp_path
    assert tree(tmp_path) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"sweep.dir: .*cannot be created \(.*file is not a "
                                          r"folder\)"):
        check_sweep_dir(str(tmp_path / "file" / "sub"))
    if os.geteuid() != 0:  # root writes anywhere
        (tmp_path / "ro").mkdir(mode=0o555)
        with pytest.raises(ConfigError, match=r"is not a writable folder \(.*ro is not "
                                              r"writable\)"):
            check_sweep_dir(str(tmp_path / "ro" / "new"))


def test_a_refused_command_leaves_no_new_folder(tmp_path):
    line = refused(cli("dse-train", f"sweep.dir={tmp_path}/new/deeper", "train.threads=0",
                       cwd=tmp_path))
    assert line.startswith("train.threads: 0 is not allowed")
    assert tree(tmp_path) == []


# -- 6. every value of a range sweep ----------------------------------------------------------

def test_range_sweeps_compose_their_extremes_and_list_every_value():
    assert override_sets(["sample.index=range(1,-2,-1)", "regime.epochs=range(3,6)"]) == [
        ["sample.index=1", "regime.epochs=3"], ["sample.index=-1", "regime.epochs=3"],
        ["sample.index=1", "regime.epochs=5"]]
    assert range_values(["sample.index=range(1,-2,-1)", "train.seed=0,1"],
                        {"sample.index": "range(0,4)", "sample.seed": "range(2,4)"}) == {
        "sample.index": [1, 0, -1], "sample.seed": [2, 3]}  # the command line wins


def test_each_value_of_a_range_is_checked_without_composing(tmp_path):
    cfg = plain(f"sweep.dir={tmp_path}")
    _validate_values(cfg, "sample.index", list(range(0, 5000)))  # fine, and fast
    with pytest.raises(ConfigError, match=r"^train.seed: -1 is not allowed"):
        _validate_values(cfg, "train.seed", [3, 2, 1, 0, -1])
    with pytest.raises(ConfigError, match=r"^sample.index: 7 is not allowed with model="):
        _validate_values({**cfg, "model": "RegNetX-200MF"}, "sample.index", [0, 7])


def test_a_range_sweep_with_a_bad_value_trains_nothing(tmp_path):
    line = refused(cli("dse-train", "-m", "sample.index=range(1,-2,-1)",
                       f"sweep.dir={tmp_path}/sw", *TINY, cwd=tmp_path))
    assert line == "sample.index: -1 is not allowed; use an integer >= 0"
    assert tree(tmp_path) == []


def test_a_sweep_without_multirun_is_one_line(tmp_path):
    line = refused(cli("dse-train", "sample.index=range(0,2)", f"sweep.dir={tmp_path}/sw",
                       cwd=tmp_path))
    assert line.startswith("sample.index: a sweep of several values runs as a multirun; give "
                           "-m before the overrides")
    line = refused(cli("dse-train", f"sweep.dir={tmp_path}/sw", "-m", "sample.index=0,1",
                       cwd=tmp_path))
    assert line.startswith("-m: give it before the overrides")
    assert tree(tmp_path) == []


# -- dse-sample -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, start", [
    (["n=0"], "n: 0 is not allowed; use an integer >= 1"),
    (["n=2.5"], "n: 2.5 is not allowed"),
    (["seed=-1"], "seed: -1 is not allowed; use an integer >= 0"),
    (["n=range(1,3)"], "n: a sweep of several values runs as a multirun"),
    (["out=pop ésai.jsonl"], "out: 'pop ésai.jsonl' must be quoted"),
])
def test_dse_sample_bad_values_are_one_line(tmp_path, args, start):
    extra = [] if any(a.startswith("out=") for a in args) else ["out=pop.jsonl"]
    line = refused(cli("dse-sample", "design_space=anynetx_e", *args, *extra, cwd=tmp_path),
                   "dse-sample")
    assert line.startswith(start)
    assert tree(tmp_path) == []


def test_dse_sample_quoted_out_is_written(tmp_path):
    p = cli("dse-sample", "design_space=anynetx_e", "n=3", "out='pop ésai.jsonl'",
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(s) for s in (tmp_path / "pop ésai.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2]


# -- refused in the job (data, spec): what the run made is removed ------------------------------

@pytest.mark.parametrize("existing", [False, True])
def test_a_run_refused_in_its_job_leaves_the_folders_as_they_were(tmp_path, existing):
    """A bad value found only once the job loads the data: one line, exit 2, and no trace of
    the run (Hydra's job folder, the run folder and its lock), whether sweep.dir is new or
    already holds an earlier run's files."""
    sweep = tmp_path / "sw"
    if existing:
        (sweep / ".hydra" / "run" / "earlier").mkdir(parents=True)
        (sweep / ".hydra" / "run" / "earlier" / "dse-train.log").write_text("kept\n")
    before = tree(tmp_path)
    line = refused(cli("dse-train", f"sweep.dir={sweep}", *TINY, "data.crop_padding=-1",
                       cwd=tmp_path))
    assert line.startswith("data.crop_padding: -1 is not allowed")
    assert tree(tmp_path) == before


def test_sweeps_with_no_value_and_globs_are_judged_with_the_config_groups(tmp_path):
    for sweep, says in [("sample.index=range(5,0)", "sample.index: 'range(5,0)' sweeps no "
                         "value; give at least one"),
                        ("design_space=glob(nope*)", "design_space: 'glob(nope*)' sweeps no "
                         "value"),
                        ("design_space=[1]", "design_space: [1] is not allowed; give the name "
                         "of a config in conf/design_space/"),
                        ("train.seed=[1,2", "train.seed: no viable alternative")]:
        assert refused(cli("dse-train", "-m", sweep, f"sweep.dir={tmp_path}/sw",
                           cwd=tmp_path)).startswith(says)
    assert tree(tmp_path) == []
    first = precheck("dse-train", "config", ["-m", "design_space=glob(anynetx_*)",
                                             f"sweep.dir={tmp_path}/sw"], validate=_validate,
                     validate_sweep=_validate_sweep, validate_values=_validate_values)
    assert first["design_space"]["name"] == "anynetx_a"
