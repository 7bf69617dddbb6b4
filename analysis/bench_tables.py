"""The generated block of docs/DESIGN_SPACES.md "Speed": accepted samples per second per design
space at the paper's window, from the committed run of ``benchmarks/bench_sampler.py --json``
(``results/bench_sampler.json``), and which spaces meet the README's target
(``dse-study benchmarks docs``). Nothing is measured here."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .docblocks import table

SAMPLER = "bench_sampler.json"
TARGET = 1000  # accepted samples per second, one process (README "Benchmarks")
COMMAND = ("python benchmarks/bench_sampler.py --n 2000 --baseline-seconds 5 "
           "--json results/bench_sampler.json")


TOP = ("n", "seed", "baseline_seconds", "spaces")  # what the block reads of the file ...
SPACE = ("exact_per_s", "exact_acceptance_rate", "baseline_per_s", "baseline_accepted",
         "baseline_tried", "ratio", "ratio_at_least")  # ... and of each space


def load(results: Path) -> Mapping[str, Any]:
    """The committed sampler benchmark; a missing, unreadable or incomplete file is one line
    naming what is wrong."""
    path = results / SAMPLER
    if not path.is_file():
        raise ValueError(f"results: {str(path)!r} does not exist; run {COMMAND}")
    try:
        found = json.loads(path.read_text())
    except ValueError:
        raise ValueError(f"results: {str(path)!r} is not JSON; run {COMMAND}") from None
    missing = [k for k in TOP if not isinstance(found, dict) or k not in found]
    spaces = found.get("spaces") if isinstance(found, dict) else None
    if not missing and not (isinstance(spaces, dict) and spaces):
        missing = ["spaces (a non-empty mapping)"]
    if not missing:
        missing = [f"spaces.{name}.{k}" for name, s in spaces.items() for k in SPACE
                   if not isinstance(s, dict) or k not in s]
    if missing or not isinstance(found.get("machine", {}), dict):
        what = missing[0] if missing else "machine (a mapping)"
        raise ValueError(f"results: {str(path)!r} lacks {what}; it is not a bench_sampler.py "
                         f"--json file; run {COMMAND}")
    return found


def _ratio(s: Mapping[str, Any]) -> str:
    """The exact sampler's rate over the baseline's, or a lower bound where the baseline
    accepted nothing in its time."""
    return f"{s['ratio']:.0f}" if s["ratio"] is not None else f"> {s['ratio_at_least']:.0f}"


def sampler_block(bench: Mapping[str, Any]) -> str:
    spaces = bench["spaces"]
    rows = [[name, f"{s['exact_per_s']:.0f}", f"{s['exact_acceptance_rate']:.2%}",
             f"{s['baseline_per_s']:.2f} ({s['baseline_accepted']}/{s['baseline_tried']})",
             _ratio(s)] for name, s in spaces.items()]
    head = ["space", "exact sampler, accepted/s", "acceptance",
            "per-candidate rejection loop, accepted/s", "ratio"]
    meet = [n for n, s in spaces.items() if s["exact_per_s"] >= TARGET]
    miss = [n for n, s in spaces.items() if s["exact_per_s"] < TARGET]
    machine = bench.get("machine", {})
    where = ", ".join(str(machine[k]) for k in ("cpu", "date") if machine.get(k))
    verdict = (f"The README's target of {TARGET:,} accepted/s holds for "
               + (", ".join(meet) if meet else "no space")
               + ("; it does not for " + ", ".join(miss) if miss else " (every space)") + ".")
    return "\n\n".join([table(head, rows),
                        f"{bench['n']} members per space (seed {bench['seed']}); the baseline "
                        f"ran {bench['baseline_seconds']:g} s per space"
                        + (f" ({where})" if where else "") + ". " + verdict])


BLOCKS: dict[str, Callable[[Mapping[str, Any]], str]] = {"sampler-speed": sampler_block}
