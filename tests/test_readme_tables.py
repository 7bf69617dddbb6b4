"""README.md's lead (analysis/readme_tables.py, block ``two-datasets``): the committed README is
what the committed verdicts render, each dataset's verdict is one word (bold where decided,
marked where its study was not powered or the plan came after the data), and the tally is the
one of docs/RESULTS.md's full table."""

from __future__ import annotations

import re
from pathlib import Path

from analysis import readme_tables as rm
from analysis import robustness_tables as rt
from analysis import study_cli
from analysis.study import load_study

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def test_the_committed_readme_block_is_up_to_date(monkeypatch):
    monkeypatch.chdir(ROOT)
    files = study_cli.outputs(load_study("readme"), "docs", Path("results"))
    assert list(files) == [Path("README.md")]
    assert files[Path("README.md")] == (ROOT / "README.md").read_text()


def test_words_of_a_cell():
    assert rm._word(rt.Judged("supported", "**supported**: −0.32 [−0.43, −0.22]")) == \
        "**supported**"
    assert rm._word(rt.Judged("not resolved", "x", "not powered: 0.63 at n = 24, needs 48")) \
        == "not resolved (not powered)"
    assert rm._word(rt.Judged("not resolved", "x", "power 0.90 at n = 24")) == "not resolved"
    assert rm._word(rt.Judged("not resolved", "x", posthoc=True)) == "not resolved (post hoc)"
    assert rm._word(rt.Judged(None, "not run yet")) == "not run yet"


def test_one_row_per_claim_and_the_tally_of_the_full_table():
    inp = rt.load(RESULTS)
    lead, full = rm.lead_block(inp), rt.robustness_block(inp)
    rows = [line for line in lead.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(inp.config.rows)                 # the header and each claim
    tally = re.search(r"(\d+) of (\d+) claims robust", full)
    assert tally is not None and lead.count(f"{tally.group(0)} (both datasets agree") == 1
    for row, cells in zip(inp.config.rows, inp.cells, strict=True):
        line = next(r for r in rows if r.startswith(f"| {row.text} ({row.source}) |"))
        words = " | ".join(rm._word(c) for c in cells[:len(inp.config.datasets)])
        assert line.startswith(f"| {row.text} ({row.source}) | {words} | ")
