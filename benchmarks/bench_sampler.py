"""Accepted samples per second per design space at the paper's window (360-400MF at 224 px):
the exact vectorized sampler (`DesignSpace.sample_many`) against the straightforward
per-candidate rejection loop (draw raw parameters one by one, build the spec, check every
constraint and `anynet.complexity`), measured in the same run.

    python benchmarks/bench_sampler.py [--n 2000] [--baseline-seconds 5] [--spaces a,b]
        [--json PATH]

``--json PATH`` also writes the figures per space and the machine (CPU model, cores, torch
version, date; the committed run is ``results/bench_sampler.json``, for README "Benchmarks";
run it on a quiet machine):

    python benchmarks/bench_sampler.py --json results/bench_sampler.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from anynet import AnyNetSpec, adjust_compatibility, complexity, regnet_spec, regnet_stages
from anynet.system import benchmark_machine, check_output_file
from sampling import AnyNetSpace, DesignSpace, load_design_space
from sampling.constraints import NAMED

SPACES = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx",
          "regnetx_refined", "regnety"]


def _draw(rng: np.random.Generator, dist) -> float:
    return dist.values[rng.choice(len(dist), p=dist.probs)].item()


def naive_candidate(space: DesignSpace, rng: np.random.Generator) -> AnyNetSpec | None:
    """One candidate of the straightforward loop (None when it fails the RegNet stage rule)."""
    st = space.fixed
    fixed = dict(strides=list(space.strides), stem_width=st.stem_width,
                 stem_stride=st.stem_stride, se_ratio=st.se_ratio, in_channels=st.in_channels,
                 num_classes=st.num_classes)
    if isinstance(space, AnyNetSpace):
        n = len(space.strides)
        b0, g0 = _draw(rng, space.db), _draw(rng, space.dg)
        ds = [_draw(rng, space.dd) for _ in range(n)]
        ws = [_draw(rng, space.dw) for _ in range(n)]
        bs = [b0 if space.shared_b else _draw(rng, space.db) for _ in range(n)]
        gs = [g0 if space.shared_g else _draw(rng, space.dg) for _ in range(n)]
        ws, gs = adjust_compatibility(ws, bs, gs)
        return AnyNetSpec(depths=ds, widths=ws, bottleneck_ratios=bs, group_widths=gs, **fixed)
    p = {k: _draw(rng, d) for k, d in space.dists.items()}
    stages = regnet_stages(p["depth"], p["w0"], p["wa"], p["wm"])
    if stages.num_stages != len(space.strides) or stages.skipped_stage:
        return None
    fixed.pop("strides")
    return regnet_spec(p["depth"], p["w0"], p["wa"], p["wm"], p["group_width"],
                       p["bottleneck_ratio"], **fixed)


def naive_rate(space: DesignSpace, seconds: float) -> tuple[float, int, int]:
    rng = np.random.default_rng(0)
    accepted = tried = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        tried += 1
        spec = naive_candidate(space, rng)
        if spec is None or not all(NAMED[c].check(spec) for c in space.named):
            continue
        cx = complexity(spec, space.fixed.resolution)
        accepted += all(w.check(cx[w.metric]) for w in space.windows)
    return accepted / (time.perf_counter() - t0), accepted, tried


def fast_rate(space: DesignSpace, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    pop = space.sample_many(range(n), seed=0)
    return n / (time.perf_counter() - t0), pop.stats.acceptance_rate


def space_figures(space: DesignSpace, fast: float, acceptance: float, slow: float, got: int,
                  tried: int, baseline_seconds: float) -> dict:
    """One space's JSON entry. With no accepted baseline sample the ratio is unknown
    (``ratio`` null) but at least ``ratio_at_least`` (the baseline's rate is < 1/seconds)."""
    return {"resolution": space.fixed.resolution,
            "windows": [{"metric": w.metric, "low": w.low, "high": w.high}
                        for w in space.windows],
            "exact_per_s": fast, "exact_acceptance_rate": acceptance, "baseline_per_s": slow,
            "baseline_accepted": got, "baseline_tried": tried,
            "ratio": fast / slow if got else None,
            "ratio_at_least": None if got else fast * baseline_seconds}


def load_spaces(names: str) -> dict[str, DesignSpace]:
    """The spaces of ``--spaces`` (comma-separated), each checked before anything is timed."""
    listed = [n.strip() for n in names.split(",") if n.strip()]
    if not listed:
        raise ValueError(f"--spaces: {names!r} is empty; give comma-separated design spaces")
    return {name: load_design_space(name) for name in listed}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="members drawn by the exact sampler")
    ap.add_argument("--baseline-seconds", type=float, default=5.0)
    ap.add_argument("--spaces", default=",".join(SPACES))
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)
    try:
        if args.n < 1:
            raise ValueError(f"--n: {args.n} is not allowed; use an integer >= 1")
        if not args.baseline_seconds > 0:
            raise ValueError(f"--baseline-seconds: {args.baseline_seconds} is not allowed; "
                             "use a number > 0")
        spaces = load_spaces(args.spaces)
        if args.json:
            check_output_file(args.json, "--json")
    except ValueError as exc:
        ap.exit(2, f"{ap.prog}: error: {exc}\n")
    except OSError as exc:  # check_output_file: "--json: cannot write PATH (REASON); ..."
        ap.exit(1, f"{ap.prog}: error: {exc.strerror or exc}\n")
    load0 = os.getloadavg()
    figures: dict[str, dict] = {}
    print(f"{'space':16s} {'exact/s':>9s} {'accept':>8s} {'naive/s':>9s} "
          f"{'naive acc/tried':>16s} {'ratio':>8s}")
    for name, space in spaces.items():
        fast, acc = fast_rate(space, args.n)
        slow, got, tried = naive_rate(space, args.baseline_seconds)
        figures[name] = space_figures(space, fast, acc, slow, got, tried, args.baseline_seconds)
        ratio = f"{fast / slow:8.0f}" if got else f">{fast * args.baseline_seconds:7.0f}"
        print(f"{name:16s} {fast:9.0f} {acc:8.2%} {slow:9.2f} {f'{got}/{tried}':>16s} {ratio}",
              flush=True)
    if args.json:
        out = {"n": args.n, "baseline_seconds": args.baseline_seconds, "seed": 0,
               "spaces": figures, "load_before": load0[0], "load_after": os.getloadavg()[0],
               "machine": benchmark_machine()}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
