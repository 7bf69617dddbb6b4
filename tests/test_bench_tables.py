"""analysis.bench_tables and docs/DESIGN_SPACES.md "Speed": the committed page's sampler table is
what the committed results/bench_sampler.json renders (``dse-study benchmarks docs --check``), a
hand edit is caught, the target sentence follows the figures, and a missing or foreign file is
one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis import bench_tables as tables
from analysis import docblocks

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "DESIGN_SPACES.md"
RESULTS = ROOT / "results"


@pytest.fixture(scope="module")
def committed():
    return tables.load(RESULTS)


def test_committed_doc_is_up_to_date(committed):
    assert docblocks.check(DOC.read_text(), tables.BLOCKS, committed) == []


def test_every_space_of_the_json_is_a_row_with_its_figures(committed):
    block = tables.sampler_block(committed)
    for name, s in committed["spaces"].items():
        row = next(line for line in block.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {s['exact_per_s']:.0f} |" in row
        assert f"({s['baseline_accepted']}/{s['baseline_tried']})" in row


def test_the_target_sentence_follows_the_figures(committed):
    bench = json.loads(json.dumps(committed))
    names = list(bench["spaces"])
    for s in bench["spaces"].values():
        s["exact_per_s"] = 2000.0
    bench["spaces"][names[-1]]["exact_per_s"] = 999.0
    text = tables.sampler_block(bench)
    assert f"holds for {', '.join(names[:-1])}; it does not for {names[-1]}." in text
    bench["spaces"][names[-1]]["exact_per_s"] = 1000.0
    assert "(every space)." in tables.sampler_block(bench)


def test_a_baseline_that_accepted_nothing_gives_a_lower_bound(committed):
    bench = json.loads(json.dumps(committed))
    name = next(iter(bench["spaces"]))
    bench["spaces"][name].update(ratio=None, ratio_at_least=1234.4, baseline_accepted=0)
    assert "| > 1234 |" in tables.sampler_block(bench)


def test_hand_edit_is_caught_and_undone(committed):
    text = DOC.read_text()
    s = committed["spaces"]["regnetx"]
    cell = f"| regnetx | {s['exact_per_s']:.0f} |"
    assert text.count(cell) == 1
    edited = text.replace(cell, f"| regnetx | {s['exact_per_s'] + 500:.0f} |")
    assert docblocks.check(edited, tables.BLOCKS, committed) == ["sampler-speed"]
    assert docblocks.render(edited, docblocks.bind(tables.BLOCKS, committed)) == text


def test_missing_or_foreign_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"does not exist; run python benchmarks/bench_sampler"):
        tables.load(tmp_path)
    (tmp_path / tables.SAMPLER).write_text('{"n": 3}')
    with pytest.raises(ValueError, match=r"lacks seed; it is not a bench_sampler.py --json"):
        tables.load(tmp_path)
    good = json.loads((RESULTS / tables.SAMPLER).read_text())
    del good["spaces"]["regnetx"]["baseline_tried"]
    (tmp_path / tables.SAMPLER).write_text(json.dumps(good))
    with pytest.raises(ValueError, match=r"lacks spaces.regnetx.baseline_tried;"):
        tables.load(tmp_path)
    (tmp_path / tables.SAMPLER).write_text(json.dumps({**good, "spaces": []}))
    with pytest.raises(ValueError, match=r"lacks spaces \(a non-empty mapping\)"):
        tables.load(tmp_path)
    (tmp_path / tables.SAMPLER).write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"lacks n;"):
        tables.load(tmp_path)
    (tmp_path / tables.SAMPLER).write_text("{not json")
    with pytest.raises(ValueError, match=r"is not JSON; run python benchmarks/bench_sampler"):
        tables.load(tmp_path)
