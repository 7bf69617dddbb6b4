"""Analytic `complexity` vs building the model and counting with fvcore, on the same specs.

    python benchmarks/bench_complexity.py [--n 200] [--resolution 224] [--seed 0] [--repeats 5]

Draws `n` random AnyNet specs (4 stages, X and Y blocks alternating, widths up to 256) from a
seeded numpy RNG, then times
  * analytic: ``anynet.complexity(spec, resolution)`` (best of `repeats` passes over all specs);
  * fvcore:   ``build_model`` + ``FlopCountAnalysis`` (BN/pooling handles set to 0, plus bias
    sizes, as in tests/test_complexity.py) + ``parameter_count``, one pass;
checks that both give the same flops and params for every spec, and prints a table and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from anynet import AnyNetSpec, adjust_compatibility, complexity
from anynet.measure import measured_complexity


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
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
    if mismatches:
        raise SystemExit("analytic complexity disagrees with fvcore")


if __name__ == "__main__":
    main()
