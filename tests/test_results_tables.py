"""analysis.results_tables and docs/RESULTS.md: the committed page's generated blocks are what
`BLOCKS` renders from the committed studies and their verdicts (``dse-study ablation docs
--check``), and the verdict table is the committed plan's output on results/study.csv."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import results_tables as tables
from analysis import study_cli
from analysis.docblocks import MARKER
from analysis.study import load_study
from analysis.study_tables import models_frame

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DOC = ROOT / "docs" / "RESULTS.md"
CONFIRMATORY = load_study("confirmatory")


@pytest.fixture(scope="module")
def blocks() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in MARKER.finditer(DOC.read_text())}


def _docs(doc: Path, *extra: str, results: Path = RESULTS) -> int:
    return study_cli.run(["ablation", "docs", "--doc", str(doc), "--results", str(results),
                          *extra])


def test_committed_doc_is_up_to_date_and_hand_edits_are_caught(tmp_path):
    doc = tmp_path / "RESULTS.md"
    shutil.copy(DOC, doc)
    assert _docs(doc, "--check") == 0
    text = doc.read_text()
    edited = text.replace("| **supported** |", "| **contradicted** |", 1)
    assert edited != text
    doc.write_text(edited)
    assert _docs(doc, "--check") == 1
    assert _docs(doc) == 0
    assert doc.read_text() == text


def test_every_block_is_present_and_filled(blocks):
    assert set(blocks) == {n for s in study_cli.TABLE_SETS.values() if s.doc == "docs/RESULTS.md"
                           for n in s.blocks}  # results_tables' and the claims catalogue's
    assert all(text.strip() for text in blocks.values())


def test_verdict_table_is_the_plan_on_the_committed_study(blocks):
    """results/ablation_verdicts.csv is what the committed plan says of results/study.csv."""
    import conf
    from analysis import verdicts
    from analysis.plan import load_plan

    fresh = verdicts(models_frame(load_study("ablation"), RESULTS),
                     load_plan(conf.path() / "plan" / "refinement.yaml"))
    committed = pd.read_csv(RESULTS / "ablation_verdicts.csv")
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
    study = pd.read_csv(RESULTS / "study.csv")
    for space, g in study.groupby("design_space"):
        line = next(ln for ln in blocks["population"].splitlines()
                    if ln.lower().startswith(f"| {space} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] == str(len(g)) and cells[4] == str(int((g.error > 20).sum()))
        assert cells[6] == f"{g.error.median():.2f}"
        trained = (g.error < 45).mean()
        assert cells[3].startswith(f"{trained:.2f} [")


def test_missing_input_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        study_cli.main(["ablation", "docs", "--doc", str(DOC), "--results", str(tmp_path),
                        "--check"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dse-study: error: results: ") and "study.csv" in err
    assert "\n" not in err


def _without_confirmatory(tmp_path: Path) -> Path:
    """A copy of results/ as it was before the confirmatory study ran."""
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    for name in (CONFIRMATORY.models, CONFIRMATORY.verdicts):
        (results / name).unlink(missing_ok=True)
    walls = pd.read_csv(results / tables.WALL_TIMES)
    walls[walls["study"] != "confirmatory"].to_csv(results / tables.WALL_TIMES, index=False)
    shutil.rmtree(results / CONFIRMATORY.tables.folder, ignore_errors=True)
    return results


def _ablation_as_confirmatory(results: Path) -> None:
    """The ablation's export, verdicts and tables under the confirmatory study's names."""
    ablation = load_study("ablation")
    shutil.copy(results / ablation.models, results / CONFIRMATORY.models)
    shutil.copy(results / ablation.verdicts, results / CONFIRMATORY.verdicts)
    folder = results / CONFIRMATORY.tables.folder
    folder.mkdir()
    for name in ("best_params.csv", "efit.csv", "width_line.csv"):
        shutil.copy(results / ablation.tables.folder / name, folder / name)
    shutil.copy(results / ablation.tables.folder / f"{ablation.tables.proposed}.yaml",
                folder / f"{CONFIRMATORY.tables.proposed}.yaml")


def test_confirmatory_blocks_render_a_study_once_it_is_exported(tmp_path):
    """Until results/confirmatory.csv exists its blocks say so; with the ablation standing in
    for it, they are the ablation's tables, and the comparison with the paper puts both
    verdicts side by side."""
    results = _without_confirmatory(tmp_path)
    waiting = tables.load(results)
    assert tables.BLOCKS["confirmatory-population"](waiting).startswith("*Not run yet")
    assert tables.BLOCKS["paper-comparison"](waiting).startswith("*Not run yet")
    _ablation_as_confirmatory(results)
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
    (results / CONFIRMATORY.tables.folder / f"{CONFIRMATORY.tables.proposed}.yaml").unlink()
    with pytest.raises(ValueError, match="regnet_proposed_small.yaml' does not exist"):
        tables.load(results)
    assert study_cli.run(["confirmatory", "verdicts", "--results", str(results),
                          "--check"]) == 0  # the ablation's verdicts, judged again


@pytest.mark.parametrize(("seconds", "reads"), [(6_930.4, "1 h 56 min (6,930 s"),
                                                (7_500.0, "2 h 05 min (7,500 s")])
def test_the_wall_time_is_read_and_judged_against_the_budget(tmp_path, seconds, reads):
    results = _without_confirmatory(tmp_path)
    _ablation_as_confirmatory(results)
    walls = pd.read_csv(results / tables.WALL_TIMES)
    row = {"study": "confirmatory", "date": "2026-11-30",
           "command": "dse-train +experiment=confirmatory", "models": 576, "regime": "proxy",
           "geometry": "small", "wall_seconds": seconds, "machine": "2 cores"}
    pd.concat([walls, pd.DataFrame([row])]).to_csv(results / tables.WALL_TIMES, index=False)
    line = tables.BLOCKS["confirmatory-wall"](tables.load(results))
    assert line.startswith(f"576 models and the report in {reads}")
    assert ("within the 2 h budget" in line) == (seconds <= 7_200)


def test_readme_and_status_quote_the_committed_confirmatory_rows():
    """The wall time and the verdict counts typed in README.md and in RESULTS.md's status are
    those of results/wall_times.csv, results/confirmatory_verdicts.csv and (the status's
    Fashion-MNIST sentence) results/fashion/study_verdicts.csv."""
    words = dict(enumerate(["no", "one", "two", "three", "four", "five", "six", "seven",
                            "eight", "nine", "ten"]))
    readme = (ROOT / "README.md").read_text()
    status = DOC.read_text().split("\n## ", 1)[0]
    walls = pd.read_csv(RESULTS / tables.WALL_TIMES).groupby("study").last()
    assert f"{walls.loc['quickstart', 'wall_seconds']:.0f} s for" in readme
    wall = walls.loc["confirmatory"]
    h, m = divmod(round(wall["wall_seconds"] / 60), 60)
    assert f"**{h} h {m} min**" in readme
    assert f"{wall['wall_seconds']:,.0f} s with `/usr/bin/time`" in readme
    assert ("within the 2-hour" in readme) == (
        wall["wall_seconds"] <= CONFIRMATORY.budget_hours * 3600)
    counts = pd.read_csv(RESULTS / CONFIRMATORY.verdicts)["verdict"].value_counts()
    n = int(counts.sum())
    for doc in (" ".join(readme.split()), " ".join(status.split())):
        assert f"paper's {words[n]} claims" in doc
        assert f"**supports** {words[int(counts.get('supported', 0))]}" in doc
        assert f"**contradicts** {words[int(counts.get('contradicted', 0))]}" in doc
        assert f"{words[int(counts.get('not resolved', 0))]} neither way" in doc
    fashion = pd.read_csv(RESULTS / "fashion" / "study_verdicts.csv")["verdict"].value_counts()
    words.update({0: "none", 11: "eleven"})   # as the sentence reads ("contradicts none")
    assert (f"of its plan's {words[int(fashion.sum())]} hypotheses (the ten and E vs D at equal "
            f"activations) it **supports** {words[int(fashion.get('supported', 0))]}, finds "
            f"**equivalent** {words[int(fashion.get('equivalent', 0))]}, **contradicts** "
            f"{words[int(fashion.get('contradicted', 0))]} and resolves "
            f"{words[int(fashion.get('not resolved', 0))]} neither way") in " ".join(status.split())


@pytest.mark.parametrize(("seconds", "text"), [(1_218.0, "20 min 18 s"), (59.6, "1 min 00 s"),
                                               (6_601.47, "1 h 50 min"), (7_170, "2 h 00 min")])
def test_durations_read_as_written_in_the_docs(seconds, text):
    assert tables.duration(seconds) == text


def test_timed_commands_are_the_commands_a_user_types():
    """Each row of results/wall_times.csv names the command as a user types it: no folder of the
    machine it was measured on (a scratch sweep.dir, a home), only the timer's own path."""
    walls = pd.read_csv(RESULTS / tables.WALL_TIMES)
    for study, command in zip(walls["study"], walls["command"], strict=True):
        words = command.replace("/usr/bin/time", "").split()
        assert not [w for w in words if "=/" in w or w.startswith(("/", "~"))], (study, command)
        assert "dse-train" in words, (study, command)
