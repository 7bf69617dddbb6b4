"""A study is a config (conf/study/*.yaml) and `dse-study NAME STEP` regenerates its committed
files byte for byte: the verdict CSVs, the study tables, the pilot power table; its exports
keep the records' columns and geometry; bad input is one line and exit status 2."""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import study_cli
from analysis.study import load_study, parse_study, study_names
from analysis.study_export import RUN_COLUMNS, export, study_frame
from analysis.sweep_warning import SweepWarning
from analysis.testing import random_anynet_spec, write_sweep

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def _regenerated(name: str, step: str) -> dict[Path, str]:
    return study_cli.outputs(load_study(name), step, RESULTS)


def _assert_committed(files: dict[Path, str]) -> None:
    assert files
    for path, text in files.items():
        assert path.read_bytes() == text.encode(), path


def test_every_study_composes_and_names_what_it_uses():
    assert {"ablation", "confirmatory", "instrument", "speed"} <= set(study_names())
    for name in study_names():
        study = load_study(name)
        assert set(study.order) <= set(study.names), name
        # a study names the table set of the page it feeds, or none (it feeds no page)
        assert study.docs is None or study.docs in study_cli.TABLE_SETS, name
        if study.tables is not None:
            assert study.tables.best_of in study.order
    ablation, confirmatory = load_study("ablation"), load_study("confirmatory")
    assert ablation.order == confirmatory.order  # one refinement, two studies
    assert confirmatory.budget_hours == 2 and ablation.budget_hours is None


def test_results_holds_only_data():
    """results/ is the committed study (CSV, PNG, YAML, JSON, JSON lines of run records,
    Markdown), no code: its tables are made by `dse-study` (docs/ARCHITECTURE.md "Packages and
    their dependencies")."""
    kinds = {p.suffix for p in RESULTS.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    assert kinds <= {".csv", ".png", ".yaml", ".json", ".jsonl", ".md"}, kinds


def test_the_ablation_verdicts_and_the_pilot_power_regenerate_byte_for_byte():
    """results/ablation_verdicts.csv is the committed plan on results/study.csv,
    results/acts_posthoc_verdicts.csv the post hoc plan on results/confirmatory.csv, and
    results/power_pilot.csv the seeded power simulation on the committed pilot runs."""
    _assert_committed(_regenerated("ablation", "verdicts"))
    _assert_committed(_regenerated("acts", "verdicts"))
    _assert_committed(_regenerated("confirmatory", "power"))


def test_a_pilot_sample_size_walks_the_stated_grid():
    """``power.grid`` without pilots: the pilot's sample size tries those n only, stopping at
    the first powered one; the default grid's table is the committed power_pilot.csv."""
    study = load_study("confirmatory", ["+power.grid=[24,40]"])
    table = pd.read_csv(io.StringIO(study_cli.outputs(study, "power", RESULTS)[
        RESULTS / "power_pilot.csv"]))
    assert [c for c in table.columns if c.startswith("power_")] == ["power_24", "power_40"]
    committed = pd.read_csv(RESULTS / "power_pilot.csv").set_index("design_space")
    for row in table.itertuples():
        before = committed.loc[row.design_space, "power_24"]
        assert row.power_24 == before or pd.isna(before)  # seeded: the same power at n = 24
        assert row.n in (24, 40) or (pd.isna(row.n) and row.power_40 < 0.8)
    assert set(table["n"].dropna()) <= {24, 40} and table["n"].isna().any()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ablation", "confirmatory"])
def test_every_committed_file_of_a_study_regenerates_byte_for_byte(name):
    """`dse-study NAME check`: verdicts, tables (summary, comparisons, best parameters, e_fit,
    width line, proposed space, tables.md), power and the docs page."""
    files = _regenerated(name, "check")
    assert any(p.name == "tables.md" for p in files)
    _assert_committed(files)


def test_check_finds_a_stale_file_and_the_step_rewrites_it(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    for name in ("study.csv", "ablation_verdicts.csv"):
        shutil.copy(RESULTS / name, results / name)
    committed = (results / "ablation_verdicts.csv").read_text()
    (results / "ablation_verdicts.csv").write_text(committed.replace("supported", "equivalent"))
    argv = ["ablation", "verdicts", "--results", str(results)]
    assert study_cli.run([*argv, "--check"]) == 1
    assert "ablation_verdicts.csv: out of date" in capsys.readouterr().err
    assert study_cli.run(argv) == 0
    assert (results / "ablation_verdicts.csv").read_text() == committed
    assert study_cli.run([*argv, "--check"]) == 0


def test_the_check_step_reports_a_stale_page_and_writes_nothing(tmp_path, capsys):
    """`dse-study NAME check` is every step "as with --check": it never rewrites a file."""
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(RESULTS / "bench_sampler.json", results / "bench_sampler.json")
    page = tmp_path / "DESIGN_SPACES.md"
    committed = (ROOT / "docs" / "DESIGN_SPACES.md").read_text()
    row = next(line for line in committed.splitlines() if line.startswith("| regnetx |"))
    edited = committed.replace(row, row.replace("| regnetx |", "| regnetx | 1 |", 1))
    page.write_text(edited)
    argv = ["--results", str(results), "--doc", str(page)]
    assert study_cli.run(["benchmarks", "check", *argv]) == 1
    assert "DESIGN_SPACES.md: out of date (blocks sampler-speed)" in capsys.readouterr().err
    assert page.read_text() == edited
    assert study_cli.run(["benchmarks", "docs", *argv]) == 0
    assert page.read_text() == committed
    assert study_cli.run(["benchmarks", "check", *argv]) == 0


def test_a_sequential_plan_has_run_once_its_looks_decide_not_when_its_shared_export_exists(
        tmp_path):
    """The issue-25 plans share one export (results/paper/models.csv) and their sequential
    sweeps stop at different looks, so a partial export (se decided, activation training) must
    not make `check` judge activation's populations: a sequential plan has run once its
    verdicts CSV exists or the export reaches the looks that decide it (then `check` reports
    verdicts never written); a fixed-n study once its models export exists."""
    se, activation, ablation = (load_study(n) for n in ("se", "activation", "ablation"))
    assert se.models == activation.models
    assert not study_cli.has_run(se, tmp_path) and not study_cli.has_run(ablation, tmp_path)
    (tmp_path / "paper").mkdir()
    (tmp_path / ablation.models).write_text("design_space,index,error\nanynetx_a,0,5.0\n")
    assert study_cli.has_run(ablation, tmp_path)
    committed = pd.read_csv(RESULTS / se.models)
    first = committed[committed["design_space"].isin(["regnetx", "regnety"])
                      & (committed["index"] < 12)]  # look 1 of se: it decides nothing there
    first.to_csv(tmp_path / se.models, index=False)
    assert not study_cli.has_run(se, tmp_path) and not study_cli.has_run(activation, tmp_path)
    (tmp_path / se.verdicts).write_text("id,verdict\ny_better_x,not resolved\n")
    assert study_cli.has_run(se, tmp_path) and not study_cli.has_run(activation, tmp_path)
    (tmp_path / se.verdicts).unlink()
    committed.to_csv(tmp_path / se.models, index=False)  # se's looks reached, its CSV unwritten
    assert study_cli.has_run(se, tmp_path)


def _sweeps(root: Path) -> tuple[Path, Path, list]:
    """Two sweeps of the same 2 x 4 models at the small-image geometry: regime proxy under
    seed 0, and proxy_long under seed 1."""
    rng = np.random.default_rng(4)
    specs = {s: [dataclasses.replace(random_anynet_spec(rng), stem_stride=1, in_channels=1)
                 for _ in range(4)] for s in ("anynetx_a", "anynetx_e")}
    long = {"name": "proxy_long", "epochs": 12, "lr": 0.05, "wd": 5e-5, "batch_size": 128,
            "warmup_epochs": 0}
    for space, ss in specs.items():
        write_sweep(root / "a", space, ss, [5.0, 6.0, 7.0, 8.0])
        write_sweep(root / "b", space, ss, [5.5, 6.5, 6.0, 9.0], seed=1, regime=long)
    return root / "a", root / "b", specs["anynetx_e"]


def test_a_models_export_keeps_its_geometry(tmp_path):
    """A models export of a sweep at the small-image geometry, read back by `study_frame`: the
    specs carry the records' stem stride, strides and stage lists; results/study.csv, which
    predates the geometry columns, reads as the paper's geometry."""
    a, _, specs = _sweeps(tmp_path)
    data = load_study("confirmatory").data
    entry = load_study("confirmatory", [f"exports.confirmatory.sweeps=[{a}]"]).exports[
        "confirmatory"]
    (tmp_path / "confirmatory.csv").write_text(export(entry, tmp_path))
    frame = study_frame(tmp_path / "confirmatory.csv", data)
    frame = frame[frame["design_space"] == "anynetx_e"].sort_values("index")
    assert frame["stem_stride"].tolist() == [1] * 4
    for spec, got in zip(specs, frame["spec"], strict=True):
        assert got["stem_stride"] == 1 and got["strides"] == [2, 2, 2, 2]
        assert got["depths"] == list(spec.depths) and got["widths"] == list(spec.widths)
    old = study_frame(RESULTS / "study.csv", data)
    assert set(old["stem_stride"]) == {2} and old["spec"].iloc[0]["stem_stride"] == 2


def test_a_models_export_keeps_the_committed_rows_its_sweep_folder_lacks(tmp_path):
    """runs/ is not committed: exporting from a sweep folder that has lost a population (a new
    machine, a pruned folder) keeps that population's committed rows byte for byte, and a model
    trained again with another error replaces its row with a warning naming it."""
    a, _, specs = _sweeps(tmp_path)
    results = tmp_path / "results"
    (results / "x").mkdir(parents=True)
    argv = ["ablation", "export", "exports.study.out=x/models.csv",
            f"exports.study.sweeps=[{a}]", "--results", str(results)]
    assert study_cli.run(argv) == 0
    first = (results / "x" / "models.csv").read_text()
    shutil.rmtree(a / "anynetx_a")
    assert study_cli.run(argv) == 0
    assert (results / "x" / "models.csv").read_text() == first
    shutil.rmtree(a / "anynetx_e")
    write_sweep(a, "anynetx_e", specs, [5.0, 6.5, 7.0, 8.0])
    with pytest.warns(SweepWarning, match=r"1 of the sweep's models .*anynetx_e#1, error 6 -> 6.5"):
        text = export(load_study("ablation", argv[2:4]).exports["study"], results)
    rows = pd.read_csv(io.StringIO(text)).set_index(["design_space", "index"])["error"]
    assert rows[("anynetx_e", 1)] == 6.5 and rows[("anynetx_a", 1)] == 6.0 and len(rows) == 8


def test_an_export_into_a_file_that_cannot_tell_its_runs_apart_is_one_line(tmp_path, capsys):
    """results/study.csv predates the regime, seed and geometry columns: merging a sweep into it
    could not tell which committed rows the sweep's runs replace, so the export refuses in one
    line and leaves the file as it was."""
    a, _, _ = _sweeps(tmp_path)
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(RESULTS / "study.csv", results / "study.csv")
    with pytest.raises(SystemExit) as stop:
        study_cli.main(["ablation", "export", f"exports.study.sweeps=[{a}]", "--results",
                        str(results)])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1
    assert "lacks the column 'regime_name'" in err and "delete it" in err
    assert (results / "study.csv").read_bytes() == (RESULTS / "study.csv").read_bytes()


def test_runs_and_timing_exports_keep_every_run(tmp_path):
    a, b, _ = _sweeps(tmp_path)
    study = load_study("instrument", [f"exports.small_geometry.sweeps=[{a},{b}]",
                                      f'exports.timing.sweeps=["input={a}","stem_output={b}"]'])
    files = study_cli.outputs(study, "export", tmp_path, ["small_geometry", "timing"])
    runs = pd.read_csv(_as_file(files, "small_geometry.csv"))
    assert list(runs.columns) == [c for c in RUN_COLUMNS if c in runs.columns]
    assert len(runs) == 16 and runs.groupby(["regime_name", "train_seed"]).size().to_dict() == {
        ("proxy", 0): 8, ("proxy_long", 1): 8}
    timing = pd.read_csv(_as_file(files, "timing.csv"))
    assert timing.groupby("scale")["regime_name"].first().to_dict() == {
        "input": "proxy", "stem_output": "proxy_long"}


def _as_file(files: dict[Path, str], name: str) -> io.StringIO:
    return io.StringIO(next(t for p, t in files.items() if p.name == name))


def test_a_fidelity_export_replaces_its_rows_and_keeps_the_others(tmp_path):
    a, b, _ = _sweeps(tmp_path)
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(RESULTS / "fidelity.csv", results / "fidelity.csv")
    before = pd.read_csv(results / "fidelity.csv")
    argv = ["instrument", "export", "fidelity", "exports.fidelity.candidate=check",
            f"exports.fidelity.sweeps=[{a},{b}]", "--results", str(results)]
    assert study_cli.run(argv) == 0
    after = pd.read_csv(results / "fidelity.csv")
    assert len(after) == len(before) + 1 and after["candidate"].iloc[-1] == "check"
    assert after["comparison"].iloc[-1] == f"{a} vs {b}"
    assert study_cli.run(argv) == 0  # the same comparison again replaces its row
    assert len(pd.read_csv(results / "fidelity.csv")) == len(after)


@pytest.mark.parametrize(("argv", "names"), [
    (["nope", "verdicts"], ["study", "'nope'", "ablation"]),
    (["ablation", "nope"], ["step", "'nope'", "verdicts"]),
    (["ablation"], ["STEP", "verdicts"]),
    ([], ["NAME", "ablation"]),
    (["ablation", "verdicts", "study"], ["study", "KEY=VALUE"]),
    (["ablation", "export", "nope"], ["export", "'nope'", "study"]),
    (["ablation", "power"], ["power", "ablation", "verdicts"]),
    (["speed", "verdicts"], ["verdicts", "speed", "docs"]),
    (["ablation", "verdicts", "plan=nope"], ["plan", "nope"]),
    (["ablation", "verdicts", "bogus=1"], ["bogus"]),
    (["ablation", "verdicts", "tables.top=0"], ["tables.top", "0"]),
    (["ablation", "verdicts", "exports.study.kind=table"], ["exports.study.kind", "table"]),
    (["ablation", "verdicts", "--results", "nowhere"], ["--results", "nowhere"]),
    (["ablation", "docs", "--doc", "nowhere.md"], ["--doc", "nowhere.md"]),
    (["ablation", "export", "exports.study.sweeps=[a,b]"], ["exports.study.sweeps",
                                                             "exactly one"]),
    (["ablation", "export", "exports.study.sweeps=[nowhere]"], ["nowhere"]),
    (["confirmatory", "power", "power.regime=nonesuch"], ["power.regime", "'nonesuch'"]),
    (["confirmatory", "power", "+power.effects={anynetx_d: 0.8}"], ["power.effects",
                                                                    "power.pilots"]),
    (["confirmatory", "power", "+power.grid=[24,x]"], ["power.grid[1]", "'x'"]),
    (["se", "power", "+power.medians={regnety: {of: resnet, factor: 0.9}}"],
     ["power.medians.regnety.of", "'resnet'", "regnetx"]),
    (["se", "power", "+power.medians={regnety: {of: regnetx, factor: 0.9}}"],
     ["power.medians", "effects or medians"]),
    (["ablation", "verdicts", "--bogus"], ["--bogus"]),
])
def test_bad_input_is_one_line_and_status_2(argv, names, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        study_cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dse-study: error: "), err
    for name in names:
        assert name in err, (name, err)


def test_a_study_config_is_validated():
    with pytest.raises(ValueError, match="tables.pairs"):
        parse_study("x", {"order": ["a", "b"], "models": "m.csv", "plan": "refinement",
                          "data": {"resolution": 28, "in_channels": 1, "num_classes": 10,
                                   "stem_width": 32},
                          "tables": {"folder": ".", "proposed": "p", "best_of": "a", "top": 1,
                                     "pairs": [["b", "a"]]}})
    with pytest.raises(ValueError, match="models"):
        parse_study("x", {"order": ["a"], "verdicts": "v.csv", "plan": "refinement"})
    with pytest.raises(ValueError, match=r"exports.t.sweeps\[0\]"):
        parse_study("x", {"exports": {"t": {"kind": "timing", "out": "t.csv",
                                            "sweeps": ["runs/x"]}}})
    with pytest.raises(ValueError, match="power.out"):
        parse_study("x", {"power": {"out": "../p.csv", "pilot": ["runs.csv"]}})


def test_an_export_of_three_four_and_five_stage_models_reads_back_each_models_stages(tmp_path):
    """The stages plan's sweep holds RegNetX at 3, 4 and 5 stages under their population labels:
    its models export extends the stage columns to d5..g5 (empty for fewer stages, as d4 is for
    three) and `study_frame` reads each model back with its own stage lists, shared b and g and
    width ratios; an export of 4-stage models keeps exactly the columns it always had."""
    from test_variant_analysis import population  # real draws, real records

    from analysis.study import Data, Export
    from analysis.study_export import MODEL_COLUMNS

    sweep = tmp_path / "runs"
    for stages in (3, 4, 5):
        population(sweep, "regnetx", [f"design_space.stages={stages}"],
                   [5.0 + stages + i / 10 for i in range(2)])
    text = export(Export("m", "models", "m.csv", (str(sweep),)), tmp_path)
    header = text.splitlines()[0].split(",")
    at = header.index("g4") + 1
    assert header[at:at + 4] == ["d5", "w5", "b5", "g5"] and header[at + 4] == "wall_seconds"
    (tmp_path / "m.csv").write_text(text)
    df = study_frame(tmp_path / "m.csv", Data(32, 3, 10, 16)).set_index("design_space")
    for label, n in (("regnetx[3 stages]", 3), ("regnetx", 4), ("regnetx[5 stages]", 5)):
        rows = df.loc[[label]]
        assert len(rows) == 2
        for _, r in rows.iterrows():
            spec = r["spec"]
            assert len(spec["depths"]) == len(spec["widths"]) == len(spec["strides"]) == n
            assert sum(spec["depths"]) == r["depth"]
            assert r["b"] == max(spec["bottleneck_ratios"]) and r["g"] == max(spec["group_widths"])
            assert r[f"wr{n - 1}"] == pytest.approx(spec["widths"][-1] / spec["widths"][-2])
    assert df.loc["regnetx[3 stages]", "d4"].isna().all()
    assert df.loc[["regnetx", "regnetx[3 stages]"], "d5"].isna().all()
    only = tmp_path / "four"  # a sweep of 4-stage models exports no fifth stage
    population(only, "regnetx", [], [5.0, 6.0])
    assert export(Export("m", "models", "four.csv", (str(only),)), tmp_path).splitlines()[0] == (
        ",".join(MODEL_COLUMNS))
