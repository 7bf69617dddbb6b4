"""`dse-sample design_space=<name> n=500 out=pop.jsonl`: draw a population without training (the
analogue of pycls's sweep setup, docs/PAPER.md §5). One JSON line per member (index, seed, spec,
complexity, RegNet parameters); prints the acceptance rate and complexity ranges."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

import conf
from anynet.record import write_text_atomic

from .config import space_from_config
from .space import Population


def summary(name: str, pop: Population) -> str:
    lines = [f"{name}: {len(pop.samples)} members from {pop.stats.tried:,} candidates, "
             f"acceptance rate {pop.stats.acceptance_rate:.3%}"]
    for m in ("flops", "params", "acts"):
        vals = [s.complexity[m] for s in pop.samples]
        if vals:
            lines.append(f"  {m:6s} min {min(vals):>15,}  max {max(vals):>15,}")
    for check, count in sorted(pop.stats.rejected.items(), key=lambda kv: -kv[1]):
        lines.append(f"  rejected by {check}: {count:,}")
    return "\n".join(lines)


def run(cfg: DictConfig) -> int:
    if cfg.get("out") is None:
        print("dse-sample: out: missing; give out=<path.jsonl>", file=sys.stderr)
        return 2
    out = Path(str(cfg.out))
    if out.exists():
        print(f"dse-sample: {out} exists; refusing to overwrite (choose another out=)",
              file=sys.stderr)
        return 1
    n, seed = cfg.n, cfg.seed
    for key, v in (("n", n), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            print(f"dse-sample: {key}: {v!r} is not allowed; use an integer >= 0",
                  file=sys.stderr)
            return 2
    try:
        space = space_from_config(cfg.design_space)
        pop = space.sample_many(range(n), seed)
    except ValueError as exc:
        print(f"dse-sample: {exc}", file=sys.stderr)
        return 1
    lines = [json.dumps({"design_space": space.name, **s.to_dict()}) for s in pop.samples]
    try:
        write_text_atomic(out, "".join(line + "\n" for line in lines))
    except OSError as exc:
        print(f"dse-sample: out: {exc}", file=sys.stderr)
        return 1
    print(summary(space.name, pop))
    print(f"wrote {out}")
    return 0


@hydra.main(config_path=str(conf.path()), config_name="sample", version_base=None)
def _main(cfg: DictConfig) -> None:
    code = run(cfg)
    if code:
        sys.exit(code)


def main() -> None:
    from .precheck import precheck

    precheck("dse-sample", "sample", sys.argv[1:])
    _main()
