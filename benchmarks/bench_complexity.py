"""Analytic `complexity` vs building the model and counting with fvcore, on the same specs.

    python benchmarks/bench_complexity.py [--n 200] [--resolution 224] [--seed 0] [--repeats 5]
        [--threads 1] [--json PATH]

Draws `n` random AnyNet specs (4 stages, X and Y blocks alternating, widths up to 256) from a
seeded numpy RNG, then times
  * analytic: ``anynet.complexity(spec, resolution)`` (best of `repeats` passes over all specs);
  * fvcore:   ``build_model`` + ``FlopCountAnalysis`` (BN/pooling handles set to 0, plus bias
    sizes, as in tests/test_complexity.py) + ``parameter_count``, one pass;
checks that both give the same flops and params for every spec, and prints a table and the ratio.
``--json PATH`` also writes the figures and the machine (CPU model, cores, torch version, date;
the committed run is ``results/bench_complexity.json``, for README "Benchmarks"; run it
on a quiet machine):

    python benchmarks/bench_complexity.py --json results/bench_complexity.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from anynet import AnyNetSpec, adjust_compatibility, complexity
from anynet.measure import measured_complexity
from anynet.system import benchmark_machine, check_cpu_count, check_output_file


def random_specs(n: int, seed: int) -> list[AnyNetSpec]:
    """`n` AnyNetX_A-like specs (smaller depths and widths), half with SE (Y blocks)."""
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        ws = [int(w) for w in 8 * rng.integers(1, 33, size=4)]
        bs = [float(b) for b in rng.choice([1.0, 2.0, 4.0], size=4)]
        gs = [int(g) for g in rng.choice([1, 2, 4, 8, 16, 32], size=4)]
        ws, gs = adjust_compatibility(ws, bs, gs)
        specs.append(AnyNetSpec(
            depths=[int(d) for d in rng.integers(1, 5, size=4)], widths=ws,
            bottleneck_ratios=bs, group_widths=gs, strides=[2, 2, 2, 2],
            se_ratio=0.25 if i % 2 else 0.0,
        ))
    return specs


def fvcore_complexity(spec: AnyNetSpec, resolution: int) -> dict[str, int]:
    """Build the model and count pycls-convention flops and params with fvcore."""
    return measured_complexity(spec, resolution, acts=False)


def check_args(args: argparse.Namespace) -> None:
    """Every option checked before anything is measured (the --json file writable,
    `check_output_file`); ValueError or OSError with one line naming the option otherwise."""
    for field, value in (("--n", args.n), ("--repeats", args.repeats),
                         ("--resolution", args.resolution)):
        if value < 1:
            raise ValueError(f"{field}: {value} is not allowed; use an integer >= 1")
    check_cpu_count(args.threads, "--threads")
    if args.json:
        check_output_file(args.json, "--json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    try:
        check_args(args)
    except ValueError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except OSError as exc:  # check_output_file: "--json: cannot write PATH (REASON); ..."
        parser.exit(1, f"{parser.prog}: error: {exc.strerror or exc}\n")
    load0 = os.getloadavg()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    specs = random_specs(args.n, args.seed)
    r = args.resolution

    passes = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        analytic = [complexity(s, r) for s in specs]
        passes.append(time.perf_counter() - t0)
    t_analytic = min(passes)

    t0 = time.perf_counter()
    measured = [fvcore_complexity(s, r) for s in specs]
    t_fvcore = time.perf_counter() - t0

    mismatches = sum(
        (a["flops"], a["params"]) != (m["flops"], m["params"])
        for a, m in zip(analytic, measured, strict=True)
    )
    gf = [a["flops"] / 1e9 for a in analytic]
    print(f"{len(specs)} specs at {r}px ({sum(s.se_ratio > 0 for s in specs)} Y, "
          f"{sum(s.se_ratio == 0 for s in specs)} X), flops {min(gf):.3f}-{max(gf):.3f} GF "
          f"(median {statistics.median(gf):.3f}), torch threads {args.threads}")
    print(f"{'method':<34}{'total s':>10}{'per spec ms':>14}")
    print(f"{'analytic complexity (best of ' + str(args.repeats) + ')':<34}"
          f"{t_analytic:>10.4f}{1e3 * t_analytic / len(specs):>14.4f}")
    print(f"{'build_model + fvcore':<34}{t_fvcore:>10.2f}{1e3 * t_fvcore / len(specs):>14.2f}")
    print(f"speed-up: {t_fvcore / t_analytic:,.0f}x   mismatches: {mismatches}/{len(specs)}")
    if args.json:
        n = len(specs)
        out = {"specs": n, "resolution": r, "threads": args.threads, "seed": args.seed,
               "repeats": args.repeats, "y_specs": sum(s.se_ratio > 0 for s in specs),
               "gflops": {"min": min(gf), "median": statistics.median(gf), "max": max(gf)},
               "analytic_s": t_analytic, "analytic_per_spec_ms": 1e3 * t_analytic / n,
               "fvcore_s": t_fvcore, "fvcore_per_spec_ms": 1e3 * t_fvcore / n,
               "ratio": t_fvcore / t_analytic, "mismatches": mismatches,
               "load_before": load0[0], "load_after": os.getloadavg()[0],
               "machine": benchmark_machine(
                   cpu_capability=torch.backends.cpu.get_cpu_capability(),
                   torch_build=torch.version.git_version)}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    if mismatches:
        raise SystemExit("analytic complexity disagrees with fvcore")


if __name__ == "__main__":
    main()
