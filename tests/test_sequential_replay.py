"""Sequential replays as study configs (issue 24, item 3; issue 21, item 6;
`analysis.sequential_tables`): each replay writes its own folder and blocks, the models saved
come with their machine time from the models' own wall seconds, and a replay whose study has
not run renders what to run instead of failing."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import sequential_tables as st
from analysis import study_cli
from analysis.study import load_study, parse_study

ROOT = Path(__file__).resolve().parents[1]


def _frame(with_wall: bool = True) -> pd.DataFrame:
    """Two spaces of four models: AnyNetX_A at indices 10-13, listed out of index order, 360,
    720, 1080 and 1440 s (1 h in all; its first two indices 0.3 h); RegNetX at 0-3, 1800 s
    each (2 h)."""
    df = pd.DataFrame({
        "design_space": ["anynetx_a"] * 4 + ["regnetx"] * 4,
        "index": [13, 10, 12, 11, 0, 1, 2, 3],
        "error": [5.0, 6.0, 7.0, 8.0, 4.0, 4.5, 5.0, 5.5],
        "wall_seconds": [1440.0, 360.0, 1080.0, 720.0, 1800.0, 1800.0, 1800.0, 1800.0]})
    return df if with_wall else df.drop(columns="wall_seconds")


def _inputs(saved: pd.DataFrame) -> st.Inputs:
    empty = pd.DataFrame()
    return st.Inputs(replay=empty, saved=saved, simulation=empty, fixed=empty)


def test_core_hours_are_the_models_own_wall_seconds_fixed_and_first_n():
    saved = st.saved_frame(_frame(), {"anynetx_a": 2, "regnetx": 4}, 4,
                           ["anynetx_a", "anynetx_b", "regnetx"])
    assert saved["space"].tolist() == ["anynetx_a", "regnetx"]
    assert saved["fixed"].tolist() == [4, 4] and saved["sequential"].tolist() == [2, 4]
    assert saved["fixed_core_hours"].tolist() == pytest.approx([1.0, 2.0])
    # the first two sample indices (10 and 11: 360 + 720 s), not the first two rows
    assert saved["sequential_core_hours"].tolist() == pytest.approx([0.3, 2.0])
    text = st.saved_block(_inputs(pd.read_csv(io.StringIO(
        saved.to_csv(index=False, float_format="%.4g")))))
    assert "| AnyNetX_A | 4 | 2 | 1.00 | 0.30 |" in text
    assert "| all | 8 | 6 | 3.00 | 2.30 |" in text
    assert "**25% fewer trained models** (6 of 8)" in text
    assert "**23% less machine time**: 2.30 of 3.00 core-hours" in text
    assert "shared" in text and "3,600" in text


def test_a_models_export_without_wall_seconds_gives_one_line_not_a_failure():
    saved = st.saved_frame(_frame(with_wall=False), {"anynetx_a": 2, "regnetx": 4}, 4,
                           ["anynetx_a", "regnetx"])
    assert saved.columns.tolist() == ["space", "fixed", "sequential"]
    text = st.saved_block(_inputs(saved))
    assert text.endswith("\n\nNo machine time: the models export has no `wall_seconds` column.")
    assert "| all | 8 | 6 |" in text


def test_two_replay_configs_write_their_own_folders_and_blocks():
    confirmatory, fashion = load_study("sequential"), load_study("sequential_fashion")
    results = Path("results")
    assert st.paths(confirmatory, results)["models.csv"] == results / "sequential" / "models.csv"
    assert (st.paths(fashion, results)["models.csv"]
            == results / "sequential" / "fashion" / "models.csv")
    assert not set(st.paths(confirmatory, results).values()) & set(
        st.paths(fashion, results).values())
    assert list(st.block_names(confirmatory).values()) == [
        "sequential-verdicts", "sequential-replay", "sequential-saved", "sequential-simulation"]
    assert st.block_names(fashion)["saved"] == "sequential-fashion-saved"
    assert {*st.block_names(confirmatory).values(), *st.block_names(fashion).values()} <= set(
        st.blocks())
    clash = dataclasses.replace(fashion, sequential=dataclasses.replace(
        fashion.sequential, folder="sequential"))
    with pytest.raises(ValueError, match=r"^sequential.folder: 'sequential' of study "
                                         r"'sequential_fashion' is also study 'sequential''s"):
        st.distinct([confirmatory, clash])


def test_a_replay_not_run_yet_says_what_to_run(tmp_path):
    fashion = load_study("sequential_fashion")
    missing = st.read(fashion, tmp_path)
    assert isinstance(missing, st.NotRun)
    assert missing.text == (
        f"Not run yet: `{tmp_path / 'fashion' / 'study.csv'}` (the models of plan `fashion`) "
        "does not exist; once it does, `dse-study sequential_fashion sequential`, then "
        "`dse-study sequential_fashion docs`.")
    loaded = st.load(tmp_path)  # every replay: here none has run
    blocks = st.blocks()
    assert blocks["sequential-fashion-verdicts"](loaded) == missing.text
    assert blocks["sequential-fashion-saved"](loaded) == "Not run yet."
    assert blocks["sequential-saved"](loaded) == "Not run yet."
    (tmp_path / "fashion").mkdir()
    _frame().to_csv(tmp_path / "fashion" / "study.csv", index=False)
    assert st.read(fashion, tmp_path) == st.NotRun(
        "Not run yet: `dse-study sequential_fashion sequential`, then "
        "`dse-study sequential_fashion docs`.")


def test_check_of_a_replay_before_its_models_needs_only_the_page(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    files = study_cli.outputs(load_study("sequential_fashion"), "check", tmp_path)
    assert list(files) == [Path("docs/ANALYSIS.md")]
    assert "<!-- generated: sequential-fashion-replay -->\n\nNot run yet.\n\n" in files[
        Path("docs/ANALYSIS.md")]


def _plan(tmp_path: Path, n: int | None) -> str:
    plan = yaml.safe_load((ROOT / "conf" / "plan" / "fashion.yaml").read_text())
    path = tmp_path / f"plan_{n}.yaml"
    path.write_text(yaml.safe_dump({**plan, "n_per_space": n}))
    return str(path)


def test_a_null_n_is_the_plans_n_per_space(tmp_path):
    fashion = load_study("sequential_fashion")
    assert fashion.sequential.n is None
    assert st.resolved(fashion)[2] == 24  # the committed plan's n_per_space (rule 1)
    with pytest.raises(ValueError, match=r"^sequential.n: null .* has no n_per_space yet; "):
        st.resolved(dataclasses.replace(fashion, plan=_plan(tmp_path, None)))
    plan, design, n = st.resolved(dataclasses.replace(fashion, plan=_plan(tmp_path, 48)))
    assert n == 48 and design.sizes(n) == (12, 24, 36, 48) and len(plan.hypotheses) == 11
    with pytest.raises(ValueError, match=r"^sequential.design.looks: .* with n_per_space 4"):
        st.resolved(dataclasses.replace(fashion, plan=_plan(tmp_path, 4)))


@pytest.mark.parametrize(("key", "value", "message"), [
    ("blocks", "bad name", r"^sequential.blocks: 'bad name' is not allowed"),
    ("folder", "../out", r"^sequential.folder: '../out' is not allowed"),
    ("fixed", None, r"^sequential.fixed: None is not allowed"),
])
def test_malformed_replay_keys_name_the_field(key, value, message):
    section = {"design": {"looks": [0.5, 1]}, "n": None, "reps": 10, "shift": 0.2,
               "family": 1, "fixed": "confirmatory", key: value}
    data = {"order": ["anynetx_a"], "models": "m.csv", "plan": "fashion",
            "data": {"resolution": 28, "in_channels": 1, "num_classes": 10, "stem_width": 32},
            "sequential": section}
    with pytest.raises(ValueError, match=message):
        parse_study("x", data)
