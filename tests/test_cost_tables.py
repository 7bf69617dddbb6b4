"""The two-dataset study's machine time (analysis/cost_tables.py; docs/RESULTS.md block
``two-dataset-cost``, issue 21 item 6): core-hours from the runs' own wall seconds, the
sequential replay's saving, parts not run or not replayed yet, and bad input in one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import cost_tables as ct
from analysis.robustness import CostPart, parse_cost
from analysis.study import load_study

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {"m": "mnist5k", "f": "Fashion-MNIST"}


def _runs(path: Path, seconds: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"design_space": "anynetx_a", "wall_seconds": seconds}).to_csv(path, index=False)


def test_core_hours_medians_and_the_sequential_saving(tmp_path):
    _runs(tmp_path / "screen.csv", [3600.0, 7200.0, 1800.0])           # 3.5 h, median 3600 s
    _runs(tmp_path / "study.csv", [1800.0] * 4)                        # 2 h
    pd.DataFrame({"space": ["a", "b"], "fixed_core_hours": [1.0, 1.0],
                  "sequential_core_hours": [0.5, 1.0]}).to_csv(tmp_path / "seq.csv",
                                                                index=False)
    parts = [CostPart("the screen", "m", "instrument", "screen.csv"),
             CostPart("the study", "f", "study", "study.csv", "seq.csv")]
    got = ct.costs(parts, tmp_path)
    assert (got[0].runs, got[0].core_hours, got[0].median_seconds) == (3, 3.5, 3600.0)
    assert got[0].saved_hours is None
    assert (got[1].core_hours, got[1].fixed_hours, got[1].sequential_hours) == (2.0, 2.0, 1.5)
    assert got[1].saved_hours == 0.5
    text = ct.cost_block(got, DATASETS)
    assert "| the study | Fashion-MNIST | study | results/study.csv | 4 | 2.00 | 1800.0 | " \
           "1.50 of 2.00 (25% less) |" in text
    assert ("**Machine time:** 5.50 core-hours for 7 runs (mnist5k 3.50, Fashion-MNIST 2.00): "
            "the studies 2.00, building the instruments 3.50.") in text
    assert "would have saved 0.50 of their 2.00 core-hours (25%), 9% of the whole." in text
    assert "Not complete yet" not in text


def test_parts_not_run_or_not_replayed_say_so(tmp_path):
    _runs(tmp_path / "study.csv", [60.0, 60.0])
    parts = [CostPart("the study", "m", "study", "study.csv", "seq.csv"),
             CostPart("the other", "f", "study", "other.csv", "seq2.csv")]
    text = ct.cost_block(ct.costs(parts, tmp_path), DATASETS)
    assert "| the study | mnist5k | study | results/study.csv | 2 | 0.03 | 60.0 | " \
           "not replayed yet |" in text
    assert "| the other | Fashion-MNIST | study | results/other.csv | not run yet |" in text
    assert "Not complete yet: the study, the other (its export or its replay" in text
    assert "The sequential design" not in text
    (tmp_path / "other.csv").write_text("design_space,wall_seconds\n")   # no run yet
    assert ct.costs(parts, tmp_path)[1].runs is None


@pytest.mark.parametrize(("text", "message"), [
    ("error\n1.0\n", r"has no column wall_seconds; give an export with wall_seconds on every"),
    ("wall_seconds\n60\n\"\"\n", r"has 1 rows without a number in wall_seconds"),
    ("wall_seconds\n60\noops\n", r"has 1 rows without a number in wall_seconds"),
    ("", r"is not a CSV export \(No columns to parse from file\)"),
])
def test_a_bad_export_is_one_line(tmp_path, text, message):
    (tmp_path / "x.csv").write_text(text)
    with pytest.raises(ValueError, match=r"^robustness.cost\[0\].runs: '.*x.csv' " + message):
        ct.costs([CostPart("x", "m", "study", "x.csv")], tmp_path)


def test_a_replay_of_zero_hours_divides_nothing(tmp_path):
    _runs(tmp_path / "study.csv", [0.0, 0.0])
    pd.DataFrame({"fixed_core_hours": [0.0], "sequential_core_hours": [0.0]}).to_csv(
        tmp_path / "seq.csv", index=False)
    text = ct.cost_block(ct.costs([CostPart("s", "m", "study", "study.csv", "seq.csv")],
                                  tmp_path), DATASETS)
    assert "| 0.00 of 0.00 |" in text and "The sequential design" not in text


@pytest.mark.parametrize(("part", "field"), [
    ({"dataset": "cifar", "runs": "s.csv"}, "robustness.cost[1].dataset: 'cifar'"),
    ({"dataset": ["mnist5k"], "runs": "s.csv"}, "robustness.cost[1].dataset: ['mnist5k']"),
    ({"kind": "pilot", "runs": "s.csv"}, "robustness.cost[1].kind: 'pilot'"),
    ({"runs": "/abs.csv"}, "robustness.cost[1].runs: '/abs.csv'"),
    ({"runs": "s.csv", "sequential": "../s.csv"}, "robustness.cost[1].sequential: '../s.csv'"),
    ({"runs": "s.csv", "bogus": 1}, "robustness.cost[1].bogus"),
    ({}, "robustness.cost[1].runs: 'r.csv' is not allowed; give each export once"),
])
def test_a_malformed_part_names_its_field(part, field):
    good = {"title": "t", "dataset": "mnist5k", "kind": "study", "runs": "r.csv"}
    assert parse_cost([good], ["mnist5k"]) == (CostPart("t", "mnist5k", "study", "r.csv"),)
    with pytest.raises(ValueError) as err:
        parse_cost([good, {**good, **part}], ["mnist5k"])
    assert str(err.value).startswith(field) and "\n" not in str(err.value)


def test_the_committed_parts_cover_both_datasets_and_both_kinds():
    parts = load_study("robustness").robustness.cost
    assert {p.dataset for p in parts} == {"mnist5k", "fashion"}
    assert {p.kind for p in parts} == {"instrument", "study"}
    for p in parts:   # every part's export, and every replay named, is a committed file
        assert (ROOT / "results" / p.runs).is_file(), p
        assert p.sequential is None or (ROOT / "results" / p.sequential).is_file(), p


def test_the_parts_are_a_csv_with_empty_cells_where_not_run(tmp_path):
    _runs(tmp_path / "study.csv", [60.0, 120.0])
    parts = [CostPart("done", "m", "study", "study.csv"), CostPart("later", "f", "study", "x.csv")]
    frame = ct.cost_frame(ct.costs(parts, tmp_path))
    text = frame.to_csv(index=False, float_format="%.4f")
    assert text.splitlines()[1:] == ["done,m,study,results/study.csv,2,0.0500,90.0000,,",
                                     "later,f,study,results/x.csv,,,,,"]
