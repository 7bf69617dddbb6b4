"""Generated blocks of a Markdown page: the one home of the marker format that the
``results/*_tables.py`` scripts share.

A block is the text between ``<!-- generated: NAME -->`` and ``<!-- /generated -->``: markers
alone on their lines hold a block (tables, lists), markers inside a line hold inline text.
Everything outside the markers is left byte for byte. Bad input raises a one-line ValueError.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from anynet.record import write_text_atomic

MARKER = re.compile(r"<!-- generated: ([\w-]+) -->(.*?)<!-- /generated -->", re.DOTALL)


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


def update(doc: Path, render_doc: Callable[[str], str], check: bool, prog: str) -> int:
    """Rewrite `doc` with ``render_doc(text)``, or with `check` only report: 0 up to date or
    written, 1 stale under `check`. A missing page is a ValueError."""
    if not doc.is_file():
        raise ValueError(f"doc: {str(doc)!r} does not exist")
    old = doc.read_text()
    new = render_doc(old)
    if new == old:
        print(f"{doc}: generated blocks up to date")
        return 0
    if check:
        print(f"{doc}: generated blocks out of date: {', '.join(stale_blocks(old, new))} "
              f"(run python results/{prog})", file=sys.stderr)
        return 1
    write_text_atomic(doc, new)
    print(f"wrote {doc}")
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def cli(argv: list[str] | None, *, prog: str, description: str, doc: Path, results: Path,
        load: Callable[[Path], Any], blocks: Mapping[str, Callable[[Any], str]]) -> int:
    """The command line of a ``results/*_tables.py`` script: ``[--doc PAGE] [--results DIR]
    [--check]``; `load` reads the inputs under DIR, each of `blocks` renders one block from
    them. Bad input is one line on stderr and 2."""
    p = _Parser(prog=prog, description=description)
    p.add_argument("--doc", default=str(doc))
    p.add_argument("--results", default=str(results))
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when a generated block is out of date")
    try:
        args = p.parse_args(argv)
        inputs = load(Path(args.results))
        fill = {name: partial(block, inputs) for name, block in blocks.items()}
        return update(Path(args.doc), lambda text: render(text, fill), args.check, prog)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
