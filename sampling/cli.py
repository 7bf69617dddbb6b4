"""`dse-sample design_space=<name> n=500 out=pop.jsonl`: draw a population without training (the
analogue of pycls's sweep setup, docs/PAPER.md §5). One JSON line per member (index, seed, spec,
complexity, RegNet parameters); prints the acceptance rate, the networks' block, activation,
stem and stage count where they are not the paper's, and the complexity ranges."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

import conf
from anynet import AnyNetSpec
from anynet.record import write_text_atomic
from anynet.system import quiet_broken_pipe

from .config import space_from_config
from .space import Population

PAPER_NETWORK = ("X", "relu", "simple", 4)  # block, activation, stem type, stages


def network_line(spec: AnyNetSpec) -> str | None:
    """What a population's networks are built of (every member shares it), where it is not
    the paper's X block, ReLU, simple stem and 4 stages (docs/PAPER.md §1.6): e.g.
    ``block V, activation relu, stem simple, 5 stages``; None at the paper's. Each member's
    JSONL spec carries the same: `block_type`, `activation` and `stem_type` where not default,
    one entry per stage."""
    if (spec.block_type, spec.activation, spec.stem_type, spec.num_stages) == PAPER_NETWORK:
        return None  # the paper's networks, X or Y blocks (the SE ratio is in every spec)
    return (f"block {spec.block}, activation {spec.activation}, stem {spec.stem_type}, "
            f"{spec.num_stages} stages")


def summary(name: str, pop: Population, network: str | None = None) -> str:
    """The lines dse-sample prints: members, candidates and acceptance rate, `network` (the
    `network_line`) if any, complexity ranges, and the candidates each check rejected."""
    lines = [f"{name}: {len(pop.samples)} members from {pop.stats.tried:,} candidates, "
             f"acceptance rate {pop.stats.acceptance_rate:.3%}"]
    if network:
        lines.append(f"  {network}")
    for m in ("flops", "params", "acts"):
        vals = [s.complexity[m] for s in pop.samples]
        if vals:
            lines.append(f"  {m:6s} min {min(vals):>15,}  max {max(vals):>15,}")
    # each check judges the candidates that passed the checks before it (`Stats`)
    for check, count in sorted(pop.stats.rejected.items(), key=lambda kv: -kv[1]):
        judged = pop.stats.judged[check]
        lines.append(f"  rejected by {check}: {count:,} of {judged:,} that reached it "
                     f"({count / judged:.1%})")
    return "\n".join(lines)


ROOT_KEYS = ("design_space", "data", "n", "seed", "out")  # conf/sample.yaml, composed


def check_config(cfg: Mapping[str, Any]) -> tuple[int, int, Path]:
    """``n``, ``seed`` and ``out`` of a composed dse-sample config; a one-line ValueError
    naming the key, the value and what is allowed otherwise. Checked before Hydra runs
    (`sampling.precheck`) and again by `run`."""
    unknown = sorted(set(cfg) - set(ROOT_KEYS))
    if unknown:
        raise ValueError(f"config: unknown key(s) {unknown}; allowed: {list(ROOT_KEYS)}")
    out = cfg.get("out")
    if out is None or not str(out).strip():
        raise ValueError(f"out: {out!r} is not allowed; give out=<path.jsonl> (never "
                         "overwritten)")
    n, seed = cfg.get("n"), cfg.get("seed")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: {n!r} is not allowed; use an integer >= 1 (the population "
                         "size: members 0 .. n-1)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: {seed!r} is not allowed; use an integer >= 0 (the "
                         "population seed)")
    return n, seed, Path(str(out)).expanduser()


def _validate(cfg: Mapping[str, Any]) -> None:
    """The precheck of a composed config: n, seed, out, and the design space builds."""
    check_config(cfg)
    space_from_config(cfg["design_space"])


def _error(message: str) -> None:
    print(f"dse-sample: error: {message}", file=sys.stderr, flush=True)


def run(cfg: DictConfig) -> int:
    """Draw and write the population; the exit status (2: bad input, 1: out exists or
    cannot be written)."""
    try:
        n, seed, out = check_config(cfg)
    except ValueError as exc:
        _error(str(exc))
        return 2
    if out.exists():
        _error(f"out: {out} exists; refusing to overwrite (choose another out=)")
        return 1
    try:
        space = space_from_config(cfg.design_space)
        pop = space.sample_many(range(n), seed)
    except ValueError as exc:
        _error(str(exc).splitlines()[0])
        return 2
    lines = [json.dumps({"design_space": space.name, **s.to_dict()}) for s in pop.samples]
    try:
        write_text_atomic(out, "".join(line + "\n" for line in lines))
    except OSError as exc:
        _error(f"out: cannot write {out} ({exc.strerror or exc}); give a writable path")
        return 1
    print(summary(space.name, pop, network_line(pop.samples[0].spec)))
    print(f"wrote {out}")
    return 0


@hydra.main(config_path=str(conf.path()), config_name="sample", version_base=None)
@quiet_broken_pipe  # inside Hydra too: Hydra reports a task's exceptions as a traceback
def _main(cfg: DictConfig) -> None:
    code = run(cfg)
    if code:
        sys.exit(code)


@quiet_broken_pipe
def main() -> None:
    from .precheck import precheck

    precheck("dse-sample", "sample", sys.argv[1:], validate=_validate)
    _main()
