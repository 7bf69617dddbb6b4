"""The claims catalogue (conf/study/claims.yaml, analysis.claims, analysis.claims_tables; issue
25): every topic of docs/PAPER.md §7 has a claim; a claim's row shows its committed verdict
CSV's numbers; a planned claim reads "planned, not run" until a study naming its plan has
verdicts, then reads as them; a bad entry is one line; `dse-study claims check` passes."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import claims_tables, study_cli
from analysis.claims import Committed, Planned, Untestable, check, parse_catalogue, resolve
from analysis.docblocks import MARKER
from analysis.plan import COLUMNS
from analysis.study import load_study, parse_study, study_names

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DOC = ROOT / "docs" / "RESULTS.md"


@pytest.fixture(scope="module")
def studies():
    return {name: load_study(name) for name in study_names()}


@pytest.fixture(scope="module")
def catalogue(studies):
    return studies["claims"].claims


def _paper_topics() -> list[str]:
    """The topic column of docs/PAPER.md §7's table, in order."""
    text = (ROOT / "docs" / "PAPER.md").read_text()
    section = text.split("## 7. ", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ")]
    assert rows[0].startswith("| topic |")
    return [ln.strip("|").split("|")[0].strip() for ln in rows[1:]]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _num(x: float) -> str:
    return f"{x:.3g}".replace("-", "−")


def test_every_paper_topic_has_a_claim_in_the_papers_order(catalogue):
    topics = _paper_topics()
    assert len(topics) >= 20
    claimed = [c.topic for c in catalogue.claims]
    assert set(claimed) == set(topics), set(topics) ^ set(claimed)
    # in §7's order: a topic's claims stand together
    assert list(dict.fromkeys(claimed)) == topics
    # the rows the brief splits: the generalization row is ten claims, each its own source: the
    # order RegNetX > E > A under four conditions, one claim per link (a verdict never covers
    # half of its row's text), X best of the blocks, and residuals not helping V
    general = [c for c in catalogue.claims if c.topic == "generalization"]
    assert len(general) == 10 and len({c.test for c in general}) == 10
    links = {c.test.plan: [] for c in general if "RegNetX > AnyNetX_E > AnyNetX_A" in c.text}
    for c in general:
        if c.test.plan in links and "link" in c.text:
            links[c.test.plan].append(c.test.hypothesis)
    assert sorted(links) == ["blocks", "epochs", "flops", "stages"]
    assert all(len(ids) == 2 and any(i.startswith("e_better_a") for i in ids)
               for ids in links.values()), links
    kinds = {type(c.test) for c in catalogue.claims}
    assert {Committed, Planned, Untestable} <= kinds


def test_every_committed_hypothesis_of_a_judged_plan_is_a_claim(catalogue, studies):
    """The confirmatory study's ten hypotheses and the baselines study's two each have a claim
    that points at them, once."""
    for name in ("confirmatory", "baselines"):
        ids = [c.test.id for c in catalogue.claims
               if isinstance(c.test, Committed) and c.test.study == name]
        committed = pd.read_csv(RESULTS / studies[name].verdicts)
        assert sorted(ids) == sorted(committed["id"]), name


def test_a_committed_row_shows_its_verdict_csvs_numbers(catalogue, studies):
    rows = resolve(catalogue, studies, RESULTS)
    seen = 0
    for r in rows:
        if not isinstance(r.claim.test, Committed):
            continue
        name = r.claim.test.study
        v = pd.read_csv(RESULTS / studies[name].verdicts).set_index("id").loc[r.claim.test.id]
        cells = claims_tables.row(r)
        assert cells[2] == f"{name}: `{r.claim.test.id}`"
        n = str(int(v.n_a)) + ("" if pd.isna(v.n_b) else f" / {int(v.n_b)}")
        assert cells[4] == n
        assert cells[5].startswith(f"{_num(v.estimate)} [{_num(v.low)}, {_num(v.high)}]")
        assert v.verdict in cells[6]
        seen += 1
    assert seen == 12  # the confirmatory study's 10, the baselines study's 2
    e_d = next(claims_tables.row(r) for r in rows if r.claim.id == "e_better_d")
    assert e_d[5].startswith("0.152 [0.0343, 0.252]")  # results/confirmatory_verdicts.csv
    assert e_d[6].startswith("**contradicted**: the opposite holds here")
    assert "0.0077" in e_d[6]  # its opposite p, Holm


def test_a_planned_row_whose_sequential_study_ran_shows_its_verdicts_look(catalogue, studies):
    """A planned claim reads as the verdict of the study that ran its plan (results/paper/
    <plan>_verdicts.csv: se and activation so far): the estimate at the deciding look, its n and
    the look."""
    rows = resolve(catalogue, studies, RESULTS)
    seen = set()
    for r in rows:
        if not isinstance(r.claim.test, Planned):
            continue
        ran = [s for s in studies.values() if s.plan == r.claim.test.plan and s.verdicts
               and (RESULTS / s.verdicts).is_file()]
        if not ran:
            continue
        v = pd.read_csv(RESULTS / ran[0].verdicts).set_index("id").loc[r.claim.test.hypothesis]
        cells = claims_tables.row(r)
        assert cells[4] == f"{int(v.n_a)}" + ("" if pd.isna(v.n_b) else f" / {int(v.n_b)}")
        assert int(v.n_a) <= int(v.n_look)  # a subgroup of the look's models, or all of them
        assert cells[5].startswith(f"{_num(v.estimate)} [{_num(v.low)}, {_num(v.high)}]")
        assert v.verdict in cells[6]
        assert cells[6].endswith(f"look {int(v.look)}, {int(v.n_look)} models per space)")
        seen.add(ran[0].name)
    assert {"se", "activation"} <= seen


def test_the_committed_block_is_the_catalogue_after_the_lead_tables(catalogue):
    text = DOC.read_text()
    blocks = {m.group(1): m.group(2) for m in MARKER.finditer(text)}
    names = [m.group(1) for m in MARKER.finditer(text)]
    assert names.index("claims") == names.index("paper-comparison") + 1
    lines = [ln for ln in blocks["claims"].splitlines() if ln.startswith("| ")][1:]
    assert [_cells(ln)[1] for ln in lines] == [c.id for c in catalogue.claims]
    for line, c in zip(lines, catalogue.claims, strict=True):
        verdict = _cells(line)[7]
        if isinstance(c.test, Untestable):
            assert verdict == "not testable here"
        if isinstance(c.test, Planned):
            # run: a fixed-n plan's verdict with its Holm p, a sequential one's with its look
            assert (verdict == f"planned, not run: {c.test.path}" or "Holm" in verdict
                    or re.search(r"; look \d, \d+ models per space\)$", verdict)), verdict


@pytest.fixture()
def demo(tmp_path, monkeypatch, studies):
    """A plan of one hypothesis in a user config folder, a study that names it, a catalogue
    with a claim planned on it, and an empty results folder."""
    user = tmp_path / "user"
    (user / "plan").mkdir(parents=True)
    (user / "plan" / "demo_plan.yaml").write_text(
        "hypotheses:\n  - id: y_better_x\n    text: Y beats X\n    kind: better\n"
        "    a: regnety\n    b: regnetx\n    test: mwu\n")
    monkeypatch.setenv("ANYNET_DSE_CONF", str(user))
    study = parse_study("demo", {
        "plan": "demo_plan", "models": "demo.csv", "verdicts": "demo_verdicts.csv",
        "data": {"resolution": 28, "in_channels": 1, "num_classes": 10, "stem_width": 32}})
    cat = parse_catalogue({
        "instruments": {"demo": "demo data"}, "planned_instrument": "to be chosen",
        "rows": [{"id": "se", "topic": "SE", "text": "Y beats X", "source": "[DDS] Fig. 14",
                  "planned": {"plan": "conf/plan/demo_plan.yaml",
                              "hypothesis": "y_better_x"}}]})
    results = tmp_path / "results"
    results.mkdir()
    return cat, {**studies, "demo": study}, results


def test_a_planned_row_fills_in_once_its_verdict_csv_is_written(demo, studies):
    cat, with_demo, results = demo
    # no study names the plan yet: planned, on the catalogue's planned instrument
    (r,) = resolve(cat, studies, results)
    assert r.status == "planned" and r.instrument == "to be chosen"
    assert claims_tables.row(r)[4:7] == ["–", "–", "planned, not run: conf/plan/demo_plan.yaml"]
    # a study names it but has not run
    (r,) = resolve(cat, with_demo, results)
    assert r.status == "planned" and claims_tables.row(r)[-1] == "`dse-study demo verdicts`"
    # its verdicts are written: the row reads them
    row = dict.fromkeys(COLUMNS, "")
    row |= {"id": "y_better_x", "kind": "better", "family": "main", "metric": "all",
            "estimand": "median(a)/median(b) - 1", "estimate": -0.125, "low": -0.2,
            "high": -0.05, "n_a": 40, "n_b": 40, "p": 0.001, "p_corrected": 0.004,
            "p_contra": 1.0, "p_contra_corrected": 1.0, "verdict": "supported"}
    pd.DataFrame([row], columns=COLUMNS).to_csv(results / "demo_verdicts.csv", index=False)
    (r,) = resolve(cat, with_demo, results)
    cells = claims_tables.row(r)
    assert r.status == "verdict" and r.instrument == "demo data"
    assert cells[2] == "demo: `y_better_x` (conf/plan/demo_plan.yaml)"
    assert cells[4:7] == ["40 / 40", "−0.125 [−0.2, −0.05] (median(a)/median(b) - 1)",
                          "**supported** (p, Holm, 0.004)"]
    assert claims_tables.claims_block([r]).startswith("1 claims: 1 supported.")


def test_a_planned_row_renders_while_its_plan_is_unwritten(studies):
    cat = parse_catalogue({"planned_instrument": "later", "rows": [
        {"id": "x", "topic": "SE", "text": "t", "source": "s",
         "planned": {"plan": "conf/plan/not_written_yet.yaml", "hypothesis": "h"}}]})
    (r,) = resolve(cat, studies, RESULTS)
    assert claims_tables.row(r)[6] == "planned, not run: conf/plan/not_written_yet.yaml"


def test_an_unplanned_claim_says_what_it_needs_and_is_no_verdict(studies):
    cat = parse_catalogue({"planned_instrument": "later", "rows": [
        {"id": "x", "topic": "SE", "text": "t", "source": "s", "unplanned": "needs a plan kind"}]})
    (r,) = resolve(cat, studies, RESULTS)
    assert r.status == "unplanned"
    cells = claims_tables.row(r)
    assert cells[2] == "needs a plan kind" and cells[6] == "not planned yet"
    assert "1 not planned yet" in claims_tables.claims_block([r])


_GOOD = {"id": "x", "topic": "SE", "text": "t", "source": "s"}


@pytest.mark.parametrize(("entry", "names"), [
    ({**_GOOD, "untestable": "r", "planned": {"plan": "conf/plan/se.yaml", "hypothesis": "h"}},
     ["claims.rows[0]", "exactly one of", "planned and untestable"]),
    (_GOOD, ["claims.rows[0]", "exactly one of", "none"]),
    ({**_GOOD, "hypothesis": {"study": "nope", "id": "A_eq_B"}},
     ["hypothesis.study", "'nope'", "confirmatory"]),
    ({**_GOOD, "hypothesis": {"study": "speed", "id": "A_eq_B"}},
     ["hypothesis.study", "'speed'", "with verdicts"]),
    ({**_GOOD, "hypothesis": {"study": "confirmatory", "id": "nope"}},
     ["hypothesis.id", "'nope'", "D_better_C"]),
    ({**_GOOD, "planned": {"plan": "conf/plan/refinement.yaml", "hypothesis": "nope"}},
     ["planned.hypothesis", "'nope'", "A_eq_B"]),
    ({**_GOOD, "planned": {"plan": "plan/se.yaml", "hypothesis": "h"}},
     ["planned.plan", "plan/se.yaml", "conf/plan/<name>.yaml"]),
    ({**_GOOD, "planned": {"plan": "conf/plan/refinement.yaml", "hypothesis": "A_eq_B"}},
     ["planned.plan", "ablation, confirmatory"]),
    ({**_GOOD, "measured": {"study": "nope", "file": "f.csv", "column": "c", "command": "x"}},
     ["measured.study", "'nope'"]),
    ({**_GOOD, "untestable": "r", "bogus": 1}, ["claims.rows[0].bogus", "the keys"]),
])
def test_a_bad_entry_is_one_line(studies, entry, names):
    with pytest.raises(ValueError) as exc:
        check(parse_catalogue({"planned_instrument": "p", "rows": [entry]}), studies)
    message = str(exc.value)
    assert "\n" not in message
    for name in names:
        assert name in message, (name, message)


def test_a_bad_entry_given_to_dse_study_is_one_line_and_writes_nothing(capsys):
    before = DOC.read_bytes()
    bad = "claims.rows=[{id:x,topic:t,text:t,source:s,hypothesis:{study:confirmatory,id:no}}]"
    with pytest.raises(SystemExit) as exit_:
        study_cli.main(["claims", "docs", bad])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(r"dse-study: error: claims\.rows\[0\] \(x\)\.hypothesis\.id: 'no' .*",
                        err)
    assert DOC.read_bytes() == before


def test_a_measured_row_reads_its_table(catalogue, studies):
    rows = {r.claim.id: r for r in resolve(catalogue, studies, RESULTS)}
    line = pd.read_csv(RESULTS / "confirmatory" / "width_line.csv").iloc[0]
    cells = claims_tables.row(rows["width_line_48"])
    assert cells[4] == str(int(line["top"])) and cells[5] == f"slope: {line['slope']:.3g}"
    assert cells[6] == "measured; no plan judges it"


def test_a_measured_row_with_a_stated_rule_shows_and_counts_its_verdict(catalogue, studies):
    """k32_suffices reads the search study's verdict column (its rule: conf/study/search.yaml);
    the tally counts it under that verdict, not as "measured without a verdict"."""
    rows = resolve(catalogue, studies, RESULTS)
    by_id = {r.claim.id: r for r in rows}
    line = pd.read_csv(RESULTS / "paper" / "search_verdicts.csv").iloc[0]
    cells = claims_tables.row(by_id["k32_suffices"])
    assert cells[4] == str(int(line["n"]))
    assert cells[5].startswith(f"estimate: {line['estimate']:.3g} [")
    assert cells[6] == f"**{line['verdict']}** (the rule of conf/study/search.yaml)"
    measured = sum(r.status == "measured" and not r.claim.test.verdict for r in rows)
    tally = claims_tables.claims_block(rows).split("\n", 1)[0]
    assert f"{measured} measured without a verdict" in tally


def test_claims_check_passes_on_the_committed_tree():
    """`dse-study claims check`: the page's every block (the catalogue's and the refinement
    studies', which share docs/RESULTS.md) is what the committed files give."""
    assert study_cli.run(["claims", "check"]) == 0


def test_the_table_sets_of_one_page_name_distinct_blocks():
    pages: dict[str, list[str]] = {}
    for s in study_cli.TABLE_SETS.values():
        pages.setdefault(s.doc, []).extend(s.blocks)
    for page, names in pages.items():
        assert len(names) == len(set(names)), page
