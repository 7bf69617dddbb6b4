"""Generated blocks of a Markdown page: the one home of the marker format, the Markdown table,
the committed-CSV reader and the spaces' display names that the table sets of `dse-study NAME
docs` share (`analysis.study_cli.TABLE_SETS`).

A block is the text between ``<!-- generated: NAME -->`` and ``<!-- /generated -->``: markers
alone on their lines hold a block (tables, lists), markers inside a line hold inline text.
Everything outside the markers is left byte for byte. Bad input raises a one-line ValueError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .study import space_names

MARKER = re.compile(r"<!-- generated: ([\w-]+) -->(.*?)<!-- /generated -->", re.DOTALL)
# How the docs' tables name the design spaces (conf/study/_spaces.yaml, the one table every
# study shares; a space not listed prints as its config name).
SPACE_NAMES = {**space_names(), "pooled": "pooled"}


def space_name(space: str) -> str:
    """`space` as the docs' tables print it (`SPACE_NAMES`)."""
    return SPACE_NAMES.get(space, space)


def table(head: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: the header, its rule, one line per row of cells."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def read_csv(path: Path, source: str) -> pd.DataFrame:
    """A committed results CSV; a missing file is a one-line ValueError that says where it
    comes from (`source`)."""
    if not path.is_file():
        raise ValueError(f"results: {str(path)!r} does not exist; {source}")
    return pd.read_csv(path)


def render(doc: str, blocks: Mapping[str, Callable[[], str]]) -> str:
    """`doc` with every generated block rewritten by its function in `blocks`; every block of
    `blocks` must appear in `doc` and every block of `doc` must be known."""
    found = [m.group(1) for m in MARKER.finditer(doc)]
    unknown = sorted(set(found) - set(blocks))
    if unknown:
        raise ValueError(f"doc: generated block {unknown[0]!r} is not known; use one of "
                         + ", ".join(blocks))
    absent = [n for n in blocks if n not in found]
    if absent:
        raise ValueError(f"doc: has no generated block {absent[0]!r} "
                         f"(<!-- generated: {absent[0]} --> … <!-- /generated -->)")
    texts = {n: blocks[n]() for n in dict.fromkeys(found)}

    def fill(m: re.Match[str]) -> str:
        text = texts[m.group(1)]
        if "\n" in m.group(2):  # a block: blank lines keep tables and lists apart in Markdown
            body = f"\n\n{text}\n\n"
        elif "\n" in text:
            raise ValueError(f"doc: inline block {m.group(1)!r} got several lines; put its "
                             "markers on lines of their own")
        else:
            body = text
        return f"<!-- generated: {m.group(1)} -->{body}<!-- /generated -->"

    return MARKER.sub(fill, doc)


def stale_blocks(old: str, new: str) -> list[str]:
    """The names of the blocks that differ between two renderings of one page."""
    return [a.group(1) for a, b in zip(MARKER.finditer(old), MARKER.finditer(new), strict=True)
            if a.group(0) != b.group(0)]


def bind(blocks: Mapping[str, Callable[[Any], str]], inputs: Any) -> dict[str, Callable[[], str]]:
    """A table set's blocks (name -> function of its inputs) bound to `inputs`, for `render`."""
    return {name: partial(block, inputs) for name, block in blocks.items()}


def check(doc: str, blocks: Mapping[str, Callable[[Any], str]], inputs: Any) -> list[str]:
    """The generated blocks of the page text `doc` that `blocks` over `inputs` would rewrite
    (empty: the page is up to date)."""
    return stale_blocks(doc, render(doc, bind(blocks, inputs)))

