"""The claims catalogue of docs/RESULTS.md (``dse-study claims docs [--check]``): one row per
claim of ``conf/study/claims.yaml`` (`analysis.claims`), in the order of docs/PAPER.md §7, with
what tests it, on which instrument, n, the estimate with its 95 % interval, the verdict with
the Holm-corrected p that decides it (a sequential plan's: the look that decided it, whose n,
estimate and interval the row prints, and the bound its p crossed), and the command that
reproduces it. A planned claim reads "planned, not run" until a study that names its plan has
its verdicts CSV; then it reads as that verdict. `BLOCKS` renders the
``<!-- generated: claims -->`` block (`analysis.docblocks`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .claims import Measured, Planned, Resolved, resolve
from .docblocks import table
from .study import load_study, study_names

CLAIMS = "claims"  # conf/study/claims.yaml


def load(results: Path) -> list[Resolved]:
    """Every claim of the catalogue looked up under the results folder `results`."""
    studies = {name: load_study(name) for name in study_names()}
    return resolve(studies[CLAIMS].claims, studies, results)


def _num(v: Any, digits: int = 3) -> str:
    return "–" if pd.isna(v) else f"{float(v):.{digits}g}".replace("-", "−")


def _p(p: Any) -> str:
    return "–" if pd.isna(p) else (f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _count(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else str(int(v))


# How a sequential plan's hypothesis stopped without a rejection (`analysis.sequential`).
_UNRESOLVED = {"futility": "both directions stopped for futility",
               "last look": "no bound crossed by the last look"}


def _sequential_verdict(row: Mapping[str, Any]) -> str:
    """A sequential plan's verdict (`analysis.sequential.sequential_verdicts`): the look that
    decided it and the efficacy bound its p crossed (no Holm-corrected p exists there: Holm
    runs across looks as local levels)."""
    v = str(row["verdict"])
    look = f"look {_count(row['look'])}, {_count(row['n_look'])} models per space"
    if v == "contradicted":
        return (f"**contradicted**: the opposite holds here (opposite p "
                f"{_p(row['p_contra'])} ≤ bound {_p(row['efficacy_p_contra'])}; {look})")
    if v == "not resolved":
        why = _UNRESOLVED.get(str(row.get("stop")), str(row.get("stop")))
        return f"not resolved ({why}; {look})"
    return f"**{v}** (p {_p(row['p'])} ≤ bound {_p(row['efficacy_p'])}; {look})"


def _verdict(row: Mapping[str, Any]) -> str:
    """The verdict, said plainly, with the Holm-corrected p that decides it (a sequential
    plan's: with its look and bound, `_sequential_verdict`)."""
    if "look" in row and not pd.isna(row["look"]):
        return _sequential_verdict(row)
    v = str(row["verdict"])
    if v == "contradicted":
        return (f"**contradicted**: the opposite holds here (opposite p, Holm, "
                f"{_p(row['p_contra_corrected'])})")
    p = f"(p, Holm, {_p(row['p_corrected'])})"
    return f"{v} {p}" if v == "not resolved" else f"**{v}** {p}"


def _estimate(row: Mapping[str, Any]) -> str:
    return (f"{_num(row['estimate'])} [{_num(row['low'])}, {_num(row['high'])}] "
            f"({row['estimand']})")


def _n(row: Mapping[str, Any]) -> str:
    b = row.get("n_b")
    return _count(row["n_a"]) + ("" if b is None or pd.isna(b) else f" / {_count(b)}")


def _measured(r: Resolved) -> tuple[str, str]:
    """What was measured and its value, from the table's row."""
    t: Measured = r.claim.test  # type: ignore[assignment]
    sel = ", ".join(f"{k} = {v}" for k, v in t.where.items())
    what = f"measured: `{t.column}` of results/{t.file}" + (f" ({sel})" if sel else "")
    value = r.row[t.column]
    x = _number(value)
    text = str(value) if x is None else _num(x)
    if t.low and t.high:
        text += f" [{_num(_number(r.row[t.low]))}, {_num(_number(r.row[t.high]))}]"
    return what, f"{t.column}: {text}"


def row(r: Resolved) -> list[str]:
    """The cells of one claim: id, claim, tested by, instrument, n, estimate, verdict,
    command."""
    c, t = r.claim, r.claim.test
    claim = f"{c.text} ({c.source})"
    if r.status == "untestable":
        return [c.id, claim, t.reason, "–", "–", "–", "not testable here", "–"]
    if r.status == "unplanned":
        return [c.id, claim, t.reason, "–", "–", "–", "not planned yet", "–"]
    name = r.study.name if r.study is not None else None
    if r.status == "measured":
        what, value = _measured(r)
        verdict = ("measured; no plan judges it" if not t.verdict else
                   f"**{r.row[t.verdict]}** (the rule of conf/study/{t.study}.yaml)")
        return [c.id, claim, what, r.instrument, _count(r.n), value, verdict,
                f"`{t.command}`"]
    reproduce = f"`dse-study {name} verdicts`" if name else "–"
    if r.status == "planned":
        return [c.id, claim, f"`{t.hypothesis}` of {t.path} (planned)", r.instrument, "–",
                "–", f"planned, not run: {t.path}", reproduce]
    hyp = t.hypothesis if isinstance(t, Planned) else t.id
    plan = f" ({t.path})" if isinstance(t, Planned) else ""
    return [c.id, claim, f"{name}: `{hyp}`{plan}", r.instrument, _n(r.row), _estimate(r.row),
            _verdict(r.row), reproduce]


def _status(r: Resolved) -> str:
    """Where one claim stands: its verdict where a plan or a stated rule gives one."""
    if r.status == "verdict":
        return str(r.row["verdict"])
    t = r.claim.test
    if r.status == "measured" and t.verdict:
        return str(r.row[t.verdict])
    return r.status


def _tally(rows: list[Resolved]) -> str:
    """How many claims stand where."""
    counts = Counter(_status(r) for r in rows)
    order = [("supported", "supported"), ("equivalent", "equivalent"),
             ("contradicted", "contradicted"), ("not resolved", "not resolved"),
             ("measured", "measured without a verdict"), ("planned", "planned and not run"),
             ("unplanned", "not planned yet"), ("untestable", "not testable here")]
    parts = [f"{counts[k]} {label}" for k, label in order if counts[k]]
    return f"{len(rows)} claims: " + ", ".join(parts) + "."


def claims_block(rows: list[Resolved]) -> str:
    """The catalogue: a tally, then one row per claim, its §7 topic on the topic's first row."""
    cells, last = [], None
    for r in rows:
        topic = r.claim.topic if r.claim.topic != last else ""
        last = r.claim.topic
        cells.append([_cell(topic), *(_cell(x) for x in row(r))])
    return _tally(rows) + "\n\n" + table(
        ["topic (docs/PAPER.md §7)", "claim", "the paper says", "tested by", "instrument", "n",
         "estimate [95 %]", "verdict", "reproduce"], cells)


BLOCKS: dict[str, Callable[[list[Resolved]], str]] = {"claims": claims_block}
