"""The README's lead (issue 21, item 4): the refinement's claims judged on two datasets, in
brief, from the same inputs as docs/RESULTS.md "Verdicts across two datasets"
(`analysis.robustness_tables.load`; block ``two-datasets`` of README.md, ``dse-study readme
docs``): per claim each dataset's verdict word, whether a reference vetoes it, and the rule's
reading."""

from __future__ import annotations

from collections.abc import Callable

from .docblocks import table
from .robustness_tables import Inputs, Judged, load, row_reading

__all__ = ["BLOCKS", "load"]

LINK = "docs/RESULTS.md#verdicts-across-two-datasets-issue-21"


def _word(cell: Judged) -> str:
    """A dataset's verdict in a word or two: bold where decided; an unresolved claim its study
    was not powered for says so, and a post-hoc verdict is marked."""
    if cell.verdict is None:
        return cell.text
    post = " (post hoc)" if cell.posthoc else ""
    if cell.verdict != "not resolved":
        return f"**{cell.verdict}**{post}"
    powered = cell.power is None or not cell.power.startswith("not powered")
    return "not resolved" + ("" if powered else " (not powered)") + post


def lead_block(inp: Inputs) -> str:
    """One row per claim: the paper's claim, each dataset's verdict, the reading; the tally."""
    cfg = inp.config
    n = len(cfg.datasets)
    rows, robust = [], 0
    for row, cells in zip(cfg.rows, inp.cells, strict=True):
        reading = row_reading(cfg, row, cells)
        robust += reading.startswith("**robust**")
        rows.append([f"{row.text} ({row.source})", *(_word(c) for c in cells[:n]),
                     reading.split(":")[0] if reading.startswith("**robust**") else reading])
    head = ["the paper's claim", *cfg.datasets.values(), "reading"]
    return (table(head, [[c.replace("|", "\\|") for c in r] for r in rows])
            + f"\n\n{robust} of {len(rows)} claims robust (both datasets agree and no "
            f"reference regime contradicts them); the estimates, intervals and the references' "
            f"verdicts are in [docs/RESULTS.md]({LINK}).")


BLOCKS: dict[str, Callable[[Inputs], str]] = {"two-datasets": lead_block}
