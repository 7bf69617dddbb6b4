"""results/results_tables.py and docs/RESULTS.md: the committed page's generated blocks are what
the script writes from the committed study and its verdicts, and the verdict table is the
committed plan's output on results/study.csv."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import load_results_script

from analysis.docblocks import MARKER


@pytest.fixture(scope="module")
def tables():
    return load_results_script("results_tables")


@pytest.fixture(scope="module")
def blocks(tables) -> dict[str, str]:
    doc = tables.ROOT / "docs" / "RESULTS.md"
    return {m.group(1): m.group(2) for m in MARKER.finditer(doc.read_text())}


def test_committed_doc_is_up_to_date_and_hand_edits_are_caught(tables, tmp_path):
    doc = tmp_path / "RESULTS.md"
    shutil.copy(tables.ROOT / "docs" / "RESULTS.md", doc)
    assert tables.main(["--doc", str(doc), "--check"]) == 0
    text = doc.read_text()
    edited = text.replace("| **supported** |", "| **contradicted** |", 1)
    assert edited != text
    doc.write_text(edited)
    assert tables.main(["--doc", str(doc), "--check"]) == 1
    assert tables.main(["--doc", str(doc)]) == 0
    assert doc.read_text() == text


def test_every_block_is_present_and_filled(tables, blocks):
    assert set(blocks) == set(tables.BLOCKS)
    assert all(text.strip() for text in blocks.values())


def test_verdict_table_is_the_plan_on_the_committed_study(tables, blocks):
    """results/ablation_verdicts.csv is what the committed plan says of results/study.csv."""
    import conf
    from analysis import verdicts
    from analysis.plan import load_plan

    ablation = load_results_script("ablation")
    fresh = verdicts(ablation.study_frame(), load_plan(conf.path() / "plan" / "refinement.yaml"))
    committed = pd.read_csv(tables.HERE / "ablation_verdicts.csv")
    assert list(fresh["id"]) == list(committed["id"])
    assert list(fresh["verdict"]) == list(committed["verdict"])
    assert fresh["p_corrected"].to_numpy() == pytest.approx(committed["p_corrected"].to_numpy(),
                                                            rel=1e-3)
    rows = [ln for ln in blocks["verdicts"].splitlines() if ln.startswith("| `")]
    assert len(rows) == len(committed)
    for line, r in zip(rows, committed.itertuples(), strict=True):
        assert line.startswith(f"| `{r.id}` |") and line.rstrip(" |").endswith(
            r.verdict if r.verdict == "not resolved" else f"**{r.verdict}**")


def test_population_counts_the_study_csv(blocks):
    study = pd.read_csv(load_results_script("results_tables").HERE / "study.csv")
    for space, g in study.groupby("design_space"):
        line = next(ln for ln in blocks["population"].splitlines()
                    if ln.lower().startswith(f"| {space} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] == str(len(g)) and cells[4] == str(int((g.error > 20).sum()))
        assert cells[6] == f"{g.error.median():.2f}"
        trained = (g.error < 45).mean()
        assert cells[3].startswith(f"{trained:.2f} [")


def test_missing_input_is_one_line(tables, tmp_path, capsys):
    assert tables.main(["--results", str(tmp_path), "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("results_tables.py: results: ") and "study.csv" in err
    assert "\n" not in err


def test_pilot_power_table_is_reproduced(tmp_path):
    """results/power_pilot.csv is what results/power_pilot.py computes from the committed
    pilot runs (seeded simulation)."""
    pilot = load_results_script("power_pilot")
    committed = pd.read_csv(pilot.HERE / "power_pilot.csv")
    fresh = pilot.main(committed["regime"].iloc[0], out=tmp_path / "power.csv")
    assert list(fresh["n"]) == list(committed["n"])
    assert fresh["power_16"].to_numpy() == pytest.approx(committed["power_16"].to_numpy(),
                                                         abs=1e-3)
    with pytest.raises(SystemExit, match="no seed-0 runs of 'nonesuch'"):
        pilot.main("nonesuch", out=tmp_path / "none.csv")


def test_a_study_export_keeps_its_geometry(tmp_path):
    """export.py study on a sweep at the small-image geometry, read back by
    ablation.study_frame: the specs carry the records' stem stride, strides and stage lists."""
    import dataclasses

    from analysis.testing import random_anynet_spec, write_sweep

    export = load_results_script("export")
    ablation = load_results_script("ablation")
    rng = np.random.default_rng(4)
    specs = [dataclasses.replace(random_anynet_spec(rng), stem_stride=1, in_channels=1)
             for _ in range(3)]
    write_sweep(tmp_path / "sweep", "anynetx_e", specs, [5.0, 6.0, 7.0])
    export.study(str(tmp_path / "sweep"), tmp_path / "confirmatory.csv")
    frame = ablation.study_frame(tmp_path / "confirmatory.csv").sort_values("index")
    assert frame["stem_stride"].tolist() == [1, 1, 1]
    for spec, got in zip(specs, frame["spec"], strict=True):
        assert got["stem_stride"] == 1 and got["strides"] == [2, 2, 2, 2]
        assert got["depths"] == list(spec.depths) and got["widths"] == list(spec.widths)
    old = ablation.study_frame(export.HERE / "study.csv")  # predates the geometry columns
    assert set(old["stem_stride"]) == {2} and old["spec"].iloc[0]["stem_stride"] == 2


def _without_confirmatory(tables, tmp_path):
    """A copy of results/ as it was before the confirmatory study ran."""
    results = tmp_path / "results"
    shutil.copytree(tables.HERE, results, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for name in (tables.CONFIRMATORY, tables.CONFIRMATORY_VERDICTS):
        (results / name).unlink(missing_ok=True)
    walls = pd.read_csv(results / tables.WALL_TIMES)
    walls[walls["study"] != "confirmatory"].to_csv(results / tables.WALL_TIMES, index=False)
    shutil.rmtree(results / tables.CONFIRMATORY_TABLES, ignore_errors=True)
    return results


def _ablation_as_confirmatory(tables, results):
    """The ablation's export, verdicts and analyze_study tables under the confirmatory names."""
    shutil.copy(results / "study.csv", results / tables.CONFIRMATORY)
    shutil.copy(results / "ablation_verdicts.csv", results / tables.CONFIRMATORY_VERDICTS)
    folder = results / tables.CONFIRMATORY_TABLES
    folder.mkdir()
    for name in ("best_params.csv", "efit.csv", "width_line.csv"):
        shutil.copy(results / name, folder / name)
    shutil.copy(results / f"{tables.ABLATION_PROPOSED}.yaml",
                folder / f"{tables.CONFIRMATORY_PROPOSED}.yaml")


def test_confirmatory_blocks_render_a_study_once_it_is_exported(tables, tmp_path):
    """Until results/confirmatory.csv exists its blocks say so; with the ablation standing in
    for it, they are the ablation's tables, and the comparison with the paper puts both
    verdicts side by side."""
    results = _without_confirmatory(tables, tmp_path)
    waiting = tables.load(results)
    assert tables.BLOCKS["confirmatory-population"](waiting).startswith("*Not run yet")
    assert tables.BLOCKS["paper-comparison"](waiting).startswith("*Not run yet")
    _ablation_as_confirmatory(tables, results)
    inp = tables.load(results)
    for name in ("verdicts", "population", "trained-pairs", "cost", "best", "efit",
                 "width-line", "proposed"):
        assert tables.BLOCKS[f"confirmatory-{name}"](inp) == tables.BLOCKS[name](inp)
    assert tables.BLOCKS["confirmatory-wall"](inp).startswith("not measured")
    paper = [ln for ln in tables.BLOCKS["paper-comparison"](inp).splitlines()
             if ln.startswith("| `")]
    committed = pd.read_csv(results / "ablation_verdicts.csv")
    assert len(paper) == len(committed)
    for line, r in zip(paper, committed.itertuples(), strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == f"`{r.id}`" and cells[2].strip("*") == cells[-1] == r.verdict
    (results / tables.CONFIRMATORY_TABLES / f"{tables.CONFIRMATORY_PROPOSED}.yaml").unlink()
    with pytest.raises(ValueError, match="regnet_proposed_small.yaml is missing"):
        tables.load(results)
    ablation = load_results_script("ablation")
    again = ablation.main(results / tables.CONFIRMATORY, tmp_path / "verdicts.csv")
    assert list(again["verdict"]) == list(inp.confirmatory_verdicts["verdict"])


@pytest.mark.parametrize(("seconds", "reads"), [(6_930.4, "1 h 56 min (6,930 s"),
                                                (7_500.0, "2 h 05 min (7,500 s")])
def test_the_wall_time_is_read_and_judged_against_the_budget(tables, tmp_path, seconds, reads):
    results = _without_confirmatory(tables, tmp_path)
    _ablation_as_confirmatory(tables, results)
    walls = pd.read_csv(results / tables.WALL_TIMES)
    row = {"study": "confirmatory", "date": "2026-11-30",
           "command": "dse-train +experiment=confirmatory", "models": 576, "regime": "proxy",
           "geometry": "small", "wall_seconds": seconds, "machine": "2 cores"}
    pd.concat([walls, pd.DataFrame([row])]).to_csv(results / tables.WALL_TIMES, index=False)
    line = tables.BLOCKS["confirmatory-wall"](tables.load(results))
    assert line.startswith(f"576 models and the report in {reads}")
    assert ("within the 2 h budget" in line) == (seconds <= 7_200)


def test_readme_and_status_quote_the_committed_confirmatory_rows(tables):
    """The wall time and the verdict counts typed in README.md and in RESULTS.md's status are
    those of results/wall_times.csv and results/confirmatory_verdicts.csv."""
    words = dict(enumerate(["no", "one", "two", "three", "four", "five", "six", "seven",
                            "eight", "nine", "ten"]))
    readme = (tables.ROOT / "README.md").read_text()
    status = (tables.ROOT / "docs" / "RESULTS.md").read_text().split("\n## ", 1)[0]
    walls = pd.read_csv(tables.HERE / tables.WALL_TIMES).groupby("study").last()
    assert f"{walls.loc['quickstart', 'wall_seconds']:.0f} s for" in readme
    wall = walls.loc["confirmatory"]
    h, m = divmod(round(wall["wall_seconds"] / 60), 60)
    assert f"**{h} h {m} min**" in readme
    assert f"{wall['wall_seconds']:,.0f} s with `/usr/bin/time`" in readme
    assert ("within the 2-hour" in readme) == (wall["wall_seconds"] <= tables.BUDGET_S)
    counts = pd.read_csv(tables.HERE / tables.CONFIRMATORY_VERDICTS)["verdict"].value_counts()
    n = int(counts.sum())
    for doc in (" ".join(readme.split()), " ".join(status.split())):
        assert f"paper's {words[n]} claims" in doc
        assert f"**supports** {words[int(counts.get('supported', 0))]}" in doc
        assert f"**contradicts** {words[int(counts.get('contradicted', 0))]}" in doc
        assert f"{words[int(counts.get('not resolved', 0))]} neither way" in doc


@pytest.mark.parametrize(("seconds", "text"), [(1_218.0, "20 min 18 s"), (59.6, "1 min 00 s"),
                                               (6_601.47, "1 h 50 min"), (7_170, "2 h 00 min")])
def test_durations_read_as_written_in_the_docs(tables, seconds, text):
    assert tables._duration(seconds) == text


def test_timed_commands_are_the_commands_a_user_types(tables):
    """Each row of results/wall_times.csv names the command as a user types it: no folder of the
    machine it was measured on (a scratch sweep.dir, a home), only the timer's own path."""
    walls = pd.read_csv(tables.HERE / tables.WALL_TIMES)
    for study, command in zip(walls["study"], walls["command"], strict=True):
        words = command.replace("/usr/bin/time", "").split()
        assert not [w for w in words if "=/" in w or w.startswith(("/", "~"))], (study, command)
        assert "dse-train" in words, (study, command)
