"""Bad sweeps and bad arguments for the analysis commands: every file that cannot be used is
named, a sweep without a usable record or with a run recorded twice is one line, an error outside
[0, 100] never enters a statistic, two populations of one space are never pooled silently, and
dse-fidelity refuses inputs it cannot compute anything from. Real record files throughout
(`analysis.testing`); the commands run as subprocesses where their exit and stderr are the
point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import conf
from analysis import SweepWarning, load_sweep, ok_rows
from analysis.cli import _counts, compose, main
from analysis.fidelity_cli import main as fidelity_main
from analysis.population import best_rows
from analysis.testing import random_anynet_spec, write_record, write_sweep
from anynet import AnyNetSpec
from anynet.record import IDENTITY_FIELDS, RECORD_FIELDS, make_population

REPO = Path(__file__).resolve().parents[1]
SPEC = AnyNetSpec(depths=[1, 2, 3, 4], widths=[16, 32, 64, 128], bottleneck_ratios=[1, 1, 2, 2],
                  group_widths=[8, 8, 16, 16], num_classes=10)
TINY = ["data=synthetic", "data.train_size=64", "data.test_size=32", "regime.epochs=1",
        "regime.batch_size=32", "regime.warmup_epochs=0", "train.progress=none"]


def _specs(n: int, seed: int = 0) -> list[AnyNetSpec]:
    rng = np.random.default_rng(seed)
    return [random_anynet_spec(rng) for _ in range(n)]


def _run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _one_error(r: subprocess.CompletedProcess, app: str) -> str:
    """The single error line of a command that refused its input (exit 2, no traceback)."""
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith(f"{app}: error: ")]
    assert len(errors) == 1, r.stderr
    others = [line for line in r.stderr.splitlines()
              if line not in errors and not line.startswith(f"{app}: warning: ")]
    assert others == [], r.stderr
    return errors[0]


def _edit(path: Path, **fields) -> Path:
    record = json.loads(path.read_text())
    record.update(fields)
    path.write_text(json.dumps(record))
    return path


# -- a sweep without a usable record ---------------------------------------------------------

def _bad_record(kind: str, root: Path) -> Path | None:
    """A sweep folder whose only record file is unusable in the way `kind` says."""
    path = root / "anynetx_a" / "0" / "proxy-s0-abc" / "record.json"
    path.parent.mkdir(parents=True)
    if kind == "empty":
        path.write_text("")
    elif kind == "truncated":
        path.write_text('{"status": "ok", "spec": ')
    elif kind == "list":
        path.write_text("[1]")
    elif kind == "folder":
        path.mkdir()
    elif kind == "hydra_only":
        shutil.rmtree(root / "anynetx_a")
        (root / ".hydra").mkdir()
        (root / ".hydra" / "config.yaml").write_text("sweep:\n  dir: x\n")
        (root / ".hydra" / "record.json").write_text("{}")
        return None
    return path


@pytest.mark.parametrize("kind", ["empty", "truncated", "list", "folder", "hydra_only"])
def test_a_sweep_without_a_usable_record_is_one_line_naming_the_file(tmp_path, kind):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    bad = _bad_record(kind, sweep)
    r = _run("analysis.cli", f"sweep.dir={sweep}", "n_boot=50", cwd=tmp_path)
    line = _one_error(r, "dse-analyze")
    if bad is None:
        assert line == (f"dse-analyze: error: sweep.dir: {str(sweep)!r} holds no run record "
                        "(no record.json below it); give the sweep.dir of dse-train")
    else:
        assert line == (f"dse-analyze: error: sweep.dir: {str(sweep)!r} holds no usable run "
                        "record (1 skipped: see above)")
        warning, = [w for w in r.stderr.splitlines() if w.startswith("dse-analyze: warning: ")]
        assert f"skipping {bad}: " in warning
    assert not (sweep / "report" / "report.html").exists()


def test_an_empty_table_and_an_object_error_column_do_not_break_the_statistics(tmp_path):
    empty = load_sweep(tmp_path)
    assert empty.empty and empty["error"].dtype == float
    assert best_rows(empty, 1).empty
    # an error column of mixed objects (a hand-made or concatenated table)
    df = pd.DataFrame({"design_space": ["a"] * 4, "status": ["ok", "ok", "ok", "diverged"],
                       "error": [30.5, None, "x", 12.0]}, dtype=object)
    rows = ok_rows(df)
    assert rows["error"].dtype == float and rows["error"].tolist() == [30.5]
    assert best_rows(df, 3)["error"].tolist() == [30.5]


# -- errors outside [0, 100] -----------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [("error", -5), ("error", 250.0),
                                              ("min_error", 100.5)])
def test_an_error_outside_0_100_is_skipped_naming_file_field_and_value(tmp_path, field, value):
    write_sweep(tmp_path, "anynetx_a", _specs(3), [30.0, 31.0, 32.0])
    bad = _edit(next((tmp_path / "anynetx_a" / "1").glob("*/record.json")), **{field: value})
    with pytest.warns(SweepWarning) as caught:
        df = load_sweep(tmp_path)
    assert sorted(df["index"]) == [0, 2]
    (message,) = [str(w.message) for w in caught]
    assert str(bad) in message and f"{field}: {value:g} is outside [0, 100]" in message


def test_ok_rows_leave_out_errors_outside_0_100():
    df = pd.DataFrame({"design_space": ["a"] * 5, "status": ["ok"] * 5,
                       "error": [-5.0, 0.0, 45.0, 100.0, 250.0]})
    assert ok_rows(df)["error"].tolist() == [0.0, 45.0, 100.0]


# -- one run recorded twice ------------------------------------------------------------------

def test_a_run_copied_under_another_index_is_refused_naming_both_paths(tmp_path):
    paths = write_sweep(tmp_path, "anynetx_a", _specs(3), [30.0, 31.0, 32.0])
    copy = tmp_path / "anynetx_a" / "7" / paths[2].parent.name / "record.json"
    shutil.copytree(paths[2].parent, copy.parent)
    run_id = paths[2].parent.name
    with pytest.raises(ValueError) as err:
        load_sweep(tmp_path)
    text = str(err.value)
    assert "\n" not in text and run_id in text and str(paths[2]) in text and str(copy) in text
    r = _run("analysis.cli", f"sweep.dir={tmp_path}", "n_boot=50", cwd=tmp_path)
    line = _one_error(r, "dse-analyze")
    assert f"run {run_id} of anynetx_a#2 is recorded twice" in line


def test_one_spec_drawn_at_two_indices_is_two_models(tmp_path):
    """Two members of a population may be the same network: same run id, each in its own
    index folder and naming its own index. Both are kept."""
    a = write_record(tmp_path, "anynetx_a", 0, SPEC, 30.0)
    b = write_record(tmp_path, "anynetx_a", 5, SPEC, 31.0)
    assert a.parent.name == b.parent.name
    assert sorted(load_sweep(tmp_path)["index"]) == [0, 5]


# -- records without a finite metric are named -----------------------------------------------

def test_records_without_a_finite_error_or_of_unknown_status_are_named(tmp_path):
    paths = write_sweep(tmp_path, "anynetx_a", _specs(5), [30.0, 31.0, 32.0, 33.0, 34.0])
    text = paths[1].read_text().replace('"error": 31.0', '"error": NaN')
    paths[1].write_text(text)
    _edit(paths[2], error=float("inf"))
    _edit(paths[3], status="weird")
    df = load_sweep(tmp_path)
    assert _counts(df) == [f"  anynetx_a: 2 ok; 2 ok without a finite error: {paths[1]}, "
                           f"{paths[2]}; 1 of unknown status ('weird'): {paths[3]}"]
    # by min_error, the NaN and inf records still have a finite best epoch
    assert _counts(df, "min_error") == [f"  anynetx_a: 4 ok; 1 of unknown status ('weird'): "
                                        f"{paths[3]}"]


# -- allow_mixed and plan= -------------------------------------------------------------------

def test_an_unknown_allow_mixed_field_lists_the_allowed_ones(tmp_path):
    write_sweep(tmp_path, "anynetx_a", _specs(2), [30.0, 31.0])
    with pytest.raises(ValueError, match=r"^allow_mixed: 'bogus_field' is not a run-identity"):
        load_sweep(tmp_path, allow_mixed=["bogus_field"])
    assert len(load_sweep(tmp_path, allow_mixed=["regime.lr", "population", "spec"])) == 2
    r = _run("analysis.cli", f"sweep.dir={tmp_path}", "allow_mixed=[bogus_field]", cwd=tmp_path)
    line = _one_error(r, "dse-analyze")
    assert line.startswith("dse-analyze: error: allow_mixed: 'bogus_field' is not a "
                           "run-identity field; allowed: ")
    assert all(f in line for f in (*IDENTITY_FIELDS, "population", "dotted sub-fields"))
    assert not (tmp_path / "report").exists()


# the plans of conf/plan/, as the error lists them
PLANS = ", ".join(sorted(p.stem for p in (Path(conf.__file__).parent / "plan").glob("*.yaml")))


@pytest.mark.parametrize(("value", "message"), [
    ("nonesuch", f"plan: 'nonesuch' is neither a plan of conf/plan/ ({PLANS}) nor a .yaml "
                 "file"),
    ("{d}/missing.yaml", "plan: '{d}/missing.yaml' is not a file; give a plan of conf/plan/ "
                         f"({PLANS}) or the path of a plan's .yaml"),
])
def test_an_unknown_plan_names_plan_the_value_and_what_is_allowed(tmp_path, value, message):
    write_sweep(tmp_path, "anynetx_a", _specs(2), [30.0, 31.0])
    value, message = value.format(d=tmp_path), message.format(d=tmp_path)
    r = _run("analysis.cli", f"sweep.dir={tmp_path}", f"plan={value}", "n_boot=50",
             cwd=tmp_path)
    assert _one_error(r, "dse-analyze") == f"dse-analyze: error: {message}"
    assert "Could not find" not in r.stderr


def test_plan_takes_a_name_of_conf_plan_or_the_path_of_a_yaml(tmp_path):
    assert isinstance(compose(["plan=refinement"])["plan"], dict)  # Hydra's config group
    mine = tmp_path / "mine.yaml"
    assert compose([f"plan={mine}"])["plan"] == str(mine)  # resolved by analysis.plan
    assert compose([])["plan"] is None


# -- populations -----------------------------------------------------------------------------

def _population(flops: list[float], seed: int = 0) -> dict:
    config = {"name": "anynetx_a", "resolution": 32, "complexity": {"flops": flops}}
    return make_population(config, {"flops": flops}, seed)


def test_population_is_a_record_field_but_not_part_of_the_run_id(tmp_path):
    assert "population" in RECORD_FIELDS and "population" not in IDENTITY_FIELDS
    pop = _population([1e6, 3e6])
    assert pop == _population([1e6, 3e6]) and len(pop["hash"]) == 12
    assert pop["hash"] != _population([1e6, 4e6])["hash"]
    assert pop["hash"] != _population([1e6, 3e6], seed=1)["hash"]
    plain = write_record(tmp_path / "a", "anynetx_a", 0, SPEC, 30.0)
    with_pop = write_record(tmp_path / "b", "anynetx_a", 0, SPEC, 30.0, population=pop)
    assert plain.relative_to(tmp_path / "a") == with_pop.relative_to(tmp_path / "b")
    assert json.loads(with_pop.read_text())["population"] == pop


def test_two_populations_of_one_space_are_not_pooled(tmp_path):
    specs = _specs(4)
    small, large = _population([1e6, 3e6]), _population([2e6, 5e6])
    for i in range(2):
        write_record(tmp_path, "anynetx_a", i, specs[i], 30.0 + i, population=small)
        write_record(tmp_path, "anynetx_a", i + 2, specs[i + 2], 40.0 + i, population=large)
    write_record(tmp_path, "anynetx_a", 9, SPEC, 35.0)  # written before populations: unknown
    write_record(tmp_path, "anynetx_e", 0, SPEC, 35.0, population=large)  # another space
    with pytest.raises(ValueError) as err:
        load_sweep(tmp_path)
    text = str(err.value)
    assert text.startswith(f"sweep: design space 'anynetx_a' pools 2 populations (population "
                           f"{', '.join(sorted([small['hash'], large['hash']]))}); settings that "
                           "differ: design_space.complexity.flops ([1000000.0,3000000.0] vs "
                           "[2000000.0,5000000.0]); windows.flops (")
    assert "allow_mixed=[population]" in text
    df = load_sweep(tmp_path, allow_mixed=["population"])
    assert len(df) == 6 and df["population"].isna().sum() == 1
    assert set(df.loc[df.design_space == "anynetx_e", "population"]) == {large["hash"]}
    r = _run("analysis.cli", f"sweep.dir={tmp_path}", "n_boot=50", cwd=tmp_path)
    assert "design_space.complexity.flops" in _one_error(r, "dse-analyze")


def test_records_before_populations_load_with_records_of_one_population(tmp_path):
    pop = _population([1e6, 3e6])
    write_record(tmp_path, "anynetx_a", 0, SPEC, 30.0)
    write_record(tmp_path, "anynetx_a", 1, SPEC, 31.0, population=pop)
    write_record(tmp_path, "anynetx_a", 2, SPEC, 32.0, population=pop)
    df = load_sweep(tmp_path)
    assert df["population"].isna().tolist() == [True, False, False]
    assert set(df["population"].dropna()) == {pop["hash"]}


def test_a_malformed_population_field_skips_the_record(tmp_path):
    write_record(tmp_path, "anynetx_a", 0, SPEC, 30.0)
    bad = _edit(write_record(tmp_path, "anynetx_a", 1, SPEC, 31.0), population="abc")
    with pytest.warns(SweepWarning, match=f"skipping {bad}: .*population: 'abc'"):
        assert len(load_sweep(tmp_path)) == 1


def test_the_job_of_a_sampled_model_carries_its_population(tmp_path):
    """`train.job.resolve_job` (no training): the population follows the effective windows
    and the sampling seed; zoo models have none."""
    from train.job import resolve_job

    def job(*overrides: str):
        return resolve_job(conf.compose_plain("config", ["data=synthetic", *overrides]), None,
                           tmp_path)

    base = job("design_space=anynetx_a")
    assert base.population == job("design_space=anynetx_a", "sample.index=3").population
    settings = base.population["settings"]
    assert settings["sample_seed"] == 0 and settings["design_space"]["name"] == "anynetx_a"
    # the reference window 360-400 MF scaled to the data's resolution, (r/224)^2
    r = settings["design_space"]["resolution"]
    assert settings["windows"]["flops"] == pytest.approx([360e6 * (r / 224) ** 2,
                                                          400e6 * (r / 224) ** 2])
    narrow = job("design_space=anynetx_a", "design_space.complexity.flops=[1000000,3000000]")
    assert narrow.population["settings"]["windows"]["flops"] == [1e6, 3e6]
    assert len({base.population["hash"], narrow.population["hash"],
                job("design_space=anynetx_a", "sample.seed=1").population["hash"],
                job("design_space=anynetx_a", "design_space.resolution=24").population["hash"],
                job("design_space=anynetx_a",
                    "design_space.constraints.increasing_widths=true").population["hash"]}) == 5
    assert job("model=RegNetX-200MF").population is None


def test_a_sampled_job_reads_as_its_population_in_progress_lines(tmp_path):
    """`train.job.resolve_job`: the progress label shows the population (`anynet.labels`), so a
    ReLU and a Swish model of one space and index read apart; zoo models keep their names."""
    from train.job import resolve_job

    def label(*overrides: str) -> str:
        return resolve_job(conf.compose_plain("config", ["data=synthetic", *overrides]), None,
                           tmp_path).label

    assert label("design_space=regnetx", "sample.index=30") == "regnetx#30"
    assert label("design_space=regnetx", "sample.index=30",
                 "design_space.activation=silu") == "regnetx[silu]#30"
    assert label("design_space=anynetx_e", "sample.index=2", "block=v",
                 "window=800mf") == "anynetx_e[V, 800MF]#2"
    assert label("model=RegNetX-200MF") == "RegNetX-200MF"


@pytest.mark.slow
def test_dse_train_records_their_population_and_dse_analyze_keeps_them_apart(tmp_path):
    """Two real tiny runs into one sweep.dir, drawn under different flops windows."""
    sweep = tmp_path / "sweep"
    for index, window in ((0, "null"), (1, "[1000000,3000000]")):
        r = _run("train.cli", *TINY, "design_space=anynetx_a", f"sample.index={index}",
                 f"design_space.complexity.flops={window}", f"sweep.dir={sweep}", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    records = [json.loads(p.read_text()) for p in sorted(sweep.rglob("record.json"))]
    assert [r["population"]["settings"]["design_space"]["complexity"]["flops"]
            for r in records] == [None, [1000000, 3000000]]
    line = _one_error(_run("analysis.cli", f"sweep.dir={sweep}", "n_boot=50", cwd=tmp_path),
                      "dse-analyze")
    assert "design space 'anynetx_a' pools 2 populations" in line
    assert "design_space.complexity.flops (null vs [1000000,3000000])" in line


# -- dse-fidelity ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regimes(tmp_path_factory) -> Path:
    """Proxy runs of seeds 0 and 1 and reference runs of one space, and a reference of
    another space."""
    root = tmp_path_factory.mktemp("regimes")
    specs = _specs(6)
    base = 30 + np.arange(6.0)
    for name, seed in (("p0", 0), ("p1", 1), ("r0", 0)):
        write_sweep(root / name, "anynetx_a", specs, list(base + seed), seed=seed)
    write_sweep(root / "other", "anynetx_c", specs, list(base), seed=0)
    return root


@pytest.mark.parametrize(("proxy", "reference", "message"), [
    ("[{d}/p0]", "[{d}/r0]", "proxy: {d}/p0 needs runs of >= 2 training seeds (found seed 0)"),
    ("[{d}/p0,{d}/p1]", "[{d}/other]", "proxy, reference: no model (design space, index) is in "
                                       "both (proxy spaces ['anynetx_a'], reference spaces "
                                       "['anynetx_c'])"),
])
def test_dse_fidelity_refuses_what_it_cannot_compare(regimes, tmp_path, proxy, reference,
                                                     message):
    r = _run("analysis.fidelity_cli", f"proxy={proxy.format(d=regimes)}",
             f"reference={reference.format(d=regimes)}", "n_boot=50", cwd=tmp_path)
    assert _one_error(r, "dse-fidelity").startswith(
        f"dse-fidelity: error: {message.format(d=regimes)}")


def test_dse_fidelity_takes_the_num_classes_it_advises(regimes, capsys):
    """`num_classes_of` advises ``num_classes=`` for a table of several class counts; the
    key is one of dse-fidelity's. The records' heads have 10 classes: the same tables."""
    args = [f"proxy=[{regimes}/p0,{regimes}/p1]", f"reference=[{regimes}/r0]", "n_boot=50"]
    fidelity_main(args)
    default = capsys.readouterr().out
    fidelity_main([*args, "num_classes=10"])
    assert capsys.readouterr().out == default and "anynetx_a" in default
    with pytest.raises(SystemExit) as exc:
        fidelity_main([*args, "num_classes=1"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("dse-fidelity: error: num_classes: 1 is not allowed; "
                                       "use an integer >= 2\n")


def test_dse_analyze_main_prints_the_skipped_file_before_the_error(tmp_path, capsys):
    """In-process: the warning naming the file comes first, then the one error line."""
    bad = _bad_record("truncated", tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([f"sweep.dir={tmp_path}"])
    assert exc.value.code == 2
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith(f"dse-analyze: warning: skipping {bad}: unreadable")
    assert error.startswith("dse-analyze: error: sweep.dir: ")


@pytest.mark.parametrize(("args", "message"), [
    (["+bogus=1"], "config: unknown key(s) ['bogus']"),
    (["+sweep.bogus=1"], "sweep: unknown key(s) ['bogus']; allowed: ['dir']"),
    (["order=[anynetx_a,anynetx_a]"], "order: ['anynetx_a'] given twice"),
    (["propose=maybe"], "propose: 'maybe' is not allowed; use true or false"),
    (["propose=true", "propose_top=0"], "propose_top: 0 is not allowed; use an integer >= 1"),
    (["propose=true", "propose_name=../evil"], "propose_name: '../evil' is not allowed"),
    (["order=[nope,anynetx_a]"], "order: ['nope'] have no ok sampled models"),
])
def test_bad_keys_are_refused_and_leave_no_report_folder(tmp_path, capsys, args, message):
    """Keys read after the report are checked before it; a report folder this run created is
    removed when the report then fails on bad input."""
    write_sweep(tmp_path / "sweep", "anynetx_a", _specs(3), [30.0, 31.0, 32.0])
    with pytest.raises(SystemExit) as exc:
        main([f"sweep.dir={tmp_path / 'sweep'}", f"out={tmp_path / 'new' / 'report'}",
              "n_boot=50", "fit=false", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dse-analyze: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "new").exists()


def test_dse_fidelity_checks_targets_and_out_before_loading(regimes, tmp_path, capsys):
    args = [f"proxy=[{regimes}/p0,{regimes}/p1]", f"reference=[{regimes}/r0]"]
    file = tmp_path / "a_file"
    file.write_text("x")
    for extra, message in ((["targets.trained=2"], "targets.trained: 2 is not allowed; use a "
                                                   "number in [0, 1]"),
                           (["targets.min_models=2.5"], "targets.min_models: 2.5 is not allowed"),
                           ([f"out={file}"], f"out: {str(file)!r} is not allowed")):
        with pytest.raises(SystemExit) as exc:
            fidelity_main([*args, *extra])
        assert exc.value.code == 2
        assert capsys.readouterr().err.startswith(f"dse-fidelity: error: {message}")
    assert file.read_text() == "x"


def test_a_malformed_override_and_a_bad_propose_path_are_named(tmp_path, capsys):
    write_sweep(tmp_path / "sweep", "anynetx_a", _specs(2), [30.0, 31.0])
    file = tmp_path / "a_file"
    file.write_text("x")
    base = [f"sweep.dir={tmp_path / 'sweep'}", f"out={tmp_path / 'r'}"]
    for extra, code, start in (
            (["n_boot=[1"], 2, "n_boot: no viable alternative at input '[1'"),
            (["propose=true", f"propose_path={tmp_path}"], 2,
             f"propose_path: {str(tmp_path)!r} is a folder"),
            (["propose=true", f"propose_path={file}/space.yaml"], 1,
             f"propose_path: cannot write {file}/space.yaml: {file} is a file")):
        with pytest.raises(SystemExit) as exc:
            main([*base, *extra])
        assert exc.value.code == code
        assert capsys.readouterr().err.startswith(f"dse-analyze: error: {start}")
    assert not (tmp_path / "r").exists() and file.read_text() == "x"
