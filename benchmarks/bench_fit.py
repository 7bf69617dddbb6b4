"""Time of the quantized linear fit ([DDS] §3.3, Fig. 8) over AnyNetX_E-like networks, one core.

    python benchmarks/bench_fit.py [--n 500] [--seed 0] [--core C] [--json PATH]

What it measures: the wall time of ``fit_regnet(spec.block_widths())`` for each of N specs drawn
by `analysis.testing.random_anynet_spec` with ``sorted_stages=True`` (AnyNetX_E-like: shared b
and g, non-decreasing widths and depths, d_i in 1..16 and w_i in 8..1024 log-uniform, [DDS]
§3.2), from a numpy generator seeded by ``--seed``. docs/ANALYSIS.md, "The quantized linear
fit" / "Ties in w_m" (its "Timing" item), describes the cost: the grid search evaluates
max(512, max width)/q x 31 (w0, wm) pairs plus its refinements, and the tie scan 1,501 pairs at
the fitted w0 plus a few dozen bisection steps. The stated target is < 60 s for 500 networks.

Baseline: none in the same run. `analysis.fit` exposes no public way to run the coarse grid
alone (it is a private step of `fit_regnet`), so the total is reported against the target only.

Conditions: the process is pinned to one CPU (``os.sched_setaffinity``, so numpy's threads too;
``--core``, default the first this process may use) and the fit uses no torch. `fit_regnet`
memoizes its result per process, so the N specs are drawn with distinct block widths (a repeat
is redrawn, and counted) and every timed call is a first fit. ``--json PATH`` also writes the
figures and the machine (CPU model, cores, torch version, date; the committed run is
``results/bench_fit.json``, for README "Benchmarks"; run it on a quiet machine):

    python benchmarks/bench_fit.py --json results/bench_fit.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import fit_regnet
from analysis.testing import random_anynet_spec
from anynet import AnyNetSpec
from anynet.system import benchmark_machine, check_output_file

TARGET_S, TARGET_N = 60.0, 500  # docs/ANALYSIS.md "Timing": < 60 s for 500 networks
MAX_DRAWS_PER_SPEC = 100  # distinct widths are drawn; give up after this many draws per spec


@dataclass(frozen=True)
class Draw:
    """The specs to fit (distinct block widths) and how many repeats were redrawn."""

    specs: list[AnyNetSpec]
    redrawn: int


def draw_specs(n: int, seed: int) -> Draw:
    """`n` AnyNetX_E-like specs with pairwise distinct block widths (`fit_regnet` memoizes)."""
    rng = np.random.default_rng(seed)
    specs: list[AnyNetSpec] = []
    seen: set[tuple[int, ...]] = set()
    redrawn = 0
    while len(specs) < n:
        if len(specs) + redrawn >= MAX_DRAWS_PER_SPEC * n:
            raise ValueError(f"--n: {n} is not allowed; only {len(specs)} distinct specs came "
                             f"in {len(specs) + redrawn} draws")
        spec = random_anynet_spec(rng, sorted_stages=True)
        key = tuple(spec.block_widths())
        if key in seen:
            redrawn += 1
            continue
        seen.add(key)
        specs.append(spec)
    return Draw(specs, redrawn)


def time_fits(specs: list[AnyNetSpec]) -> tuple[list[float], list[float]]:
    """Each spec's fit time in seconds and its e_fit, in order."""
    seconds, errors = [], []
    for spec in specs:
        widths = spec.block_widths()
        t0 = time.perf_counter()
        fit = fit_regnet(widths)
        seconds.append(time.perf_counter() - t0)
        errors.append(fit.e_fit)
    return seconds, errors


def pin_to_core(core: int | None) -> int | None:
    """Pin this process to `core` (default: the first CPU it may use); None where the OS has no
    affinity call (then it is not pinned)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[0] if core is None else core
    if core not in allowed:
        raise ValueError(f"--core: {core} is not allowed; use one of {allowed} (the CPUs this "
                         "process may use, os.sched_getaffinity)")
    os.sched_setaffinity(0, {core})
    return core


def check_args(args: argparse.Namespace) -> None:
    """Options checked before anything is measured; one-line ValueError or OSError."""
    if args.n < 1:
        raise ValueError(f"--n: {args.n} is not allowed; use an integer >= 1")
    if args.seed < 0:
        raise ValueError(f"--seed: {args.seed} is not allowed; use an integer >= 0")
    if args.json:
        check_output_file(args.json, "--json")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=TARGET_N, help="networks to fit")
    ap.add_argument("--seed", type=int, default=0, help="numpy seed of the spec draws")
    ap.add_argument("--core", type=int, default=None,
                    help="the CPU to pin to (default: the first this process may use)")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)
    try:
        check_args(args)
        facts = benchmark_machine()  # before pinning: "cores" is what the machine offers
        core = pin_to_core(args.core)
        draw = draw_specs(args.n, args.seed)
    except ValueError as exc:
        ap.exit(2, f"{ap.prog}: error: {exc}\n")
    except OSError as exc:  # check_output_file: "--json: cannot write PATH (REASON); ..."
        ap.exit(1, f"{ap.prog}: error: {exc.strerror or exc}\n")
    load0 = os.getloadavg()
    seconds, errors = time_fits(draw.specs)
    load1 = os.getloadavg()
    n, total = len(seconds), sum(seconds)
    blocks = [len(s.block_widths()) for s in draw.specs]
    wide = sum(max(s.widths) > 512 for s in draw.specs)
    projected = TARGET_N * total / n
    print(f"fit_regnet on {n} AnyNetX_E-like specs (seed {args.seed}, {draw.redrawn} repeats "
          f"redrawn; {min(blocks)}-{max(blocks)} blocks, {wide} with a width > 512), "
          f"pinned to CPU {core}")
    print(f"  total            {total:9.2f} s")
    median_ms, max_ms = 1e3 * statistics.median(seconds), 1e3 * max(seconds)
    print(f"  per spec         {1e3 * total / n:9.1f} ms  (median {median_ms:.1f}, max "
          f"{max_ms:.1f})")
    print(f"  for {TARGET_N} specs      {projected:9.1f} s  (target < {TARGET_S:.0f} s; no "
          "same-run baseline: analysis.fit has no public coarse-grid-only call)")
    print(f"  median e_fit     {statistics.median(errors):9.4f}")
    print(f"  load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    if args.json:
        out = {"n": n, "seed": args.seed, "sorted_stages": True, "q": 8, "core": core,
               "redrawn": draw.redrawn,
               "blocks": {"min": min(blocks), "median": statistics.median(blocks),
                          "max": max(blocks)},
               "specs_wider_than_512": wide, "total_s": total, "per_spec_s": total / n,
               "per_spec_s_median": statistics.median(seconds), "per_spec_s_max": max(seconds),
               "projected_500_s": projected, "target_s": TARGET_S, "target_n": TARGET_N,
               "meets_target": projected < TARGET_S, "baseline": None,
               "baseline_note": "analysis.fit exposes no public way to run the coarse grid "
                                "alone; total reported against the target only",
               "e_fit_median": statistics.median(errors), "load_before": load0[0],
               "load_after": load1[0], "machine": facts}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
