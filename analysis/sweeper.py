"""A Hydra sweeper that trains a plan's populations in waves and stops a space once every
hypothesis that needs it is decided (issue 24; docs/SWEEPS.md, "Sequential sweeps").

``dse-train +experiment=confirmatory hydra/sweeper=sequential`` expands the sweep like Hydra's
basic sweeper (``hydra.sweeper.params`` first, command-line sweeps of the same key win), then
launches it look by look of the plan's ``sequential`` design (`analysis.sequential.Design`):
wave k holds the jobs whose ``sample.index`` is among the first n_k indices of the sweep and
whose population (its label, `anynet.labels`: ``regnetx``, ``regnetx[silu]``) some open
hypothesis still needs; jobs of populations the plan never names are not launched. After each
wave it reads the records of ``sweep.dir``, judges the plan (``sweep.plan``) at the looks done
(`analysis.sequential.judge`) and writes the decisions so far to ``<sweep.dir>/sequential.csv``
(one file per folder, its rows tagged with the plan, so plans that share a folder keep their
own). The launcher (joblib,
submitit, …) runs each wave as it runs any batch; a rerun resumes, since jobs whose record exists
are skipped by the trainer and the judgement is recomputed from the records. It runs on the
launching machine and imports no torch.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from anynet.record import write_text_atomic

INDEX_KEY = "sample.index"
SPACE_KEY = "design_space"
DECISIONS_NAME = "sequential.csv"


def _fail(message: str) -> None:
    print(f"dse-train: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def expand(overrides: Sequence[Any]) -> list[list[str]]:
    """Every job of a grid of parsed Hydra overrides (sweeps expanded, in their order; the last
    override of a key wins), as lists of ``key=value`` strings."""
    by_key: dict[str, list[str]] = {}
    for o in overrides:
        key = o.get_key_element()
        if o.is_sweep_override():
            if not o.is_discrete_sweep():
                _fail(f"{key}: a {o.value_type.name} sweep is not allowed in a sequential sweep; "
                      "use a list or a range")
            by_key[key] = [f"{key}={v}" for v in o.sweep_string_iterator()]
        else:
            by_key[key] = [f"{key}={o.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*by_key.values())]


def value_of(job: Sequence[str], key: str) -> str | None:
    """The value a job's overrides give `key` (None if they do not set it)."""
    for item in job:
        k, _, v = item.partition("=")
        if k.lstrip("+~") == key:
            return v
    return None


def job_labels(jobs: Sequence[Sequence[str]], space_config: Callable[[list[str]], Any]
               ) -> list[str]:
    """The population label (`anynet.labels`) of each job: its composed ``design_space``
    node, read through `space_config` (overrides -> the node as plain containers, resolved),
    once per distinct set of overrides besides ``sample.index`` (the label never depends on
    the member). A plan of labels (``regnetx[silu]``) thus stops the jobs of that population
    only, whatever overrides (block=, window=, design_space.*) make it."""
    from anynet.labels import config_label

    cache: dict[tuple[str, ...], str] = {}
    out = []
    for job in jobs:
        key = tuple(o for o in job if o.partition("=")[0].lstrip("+~") != INDEX_KEY)
        if key not in cache:
            node = space_config(list(job))
            name = str(node.get("name", value_of(job, SPACE_KEY)))
            cache[key] = config_label(name, node)
        out.append(cache[key])
    return out


def _plan(config: DictConfig):
    """The plan named by ``sweep.plan`` with its sequential design; one line and exit 2 if it
    is missing, malformed or has no ``sequential:`` section (nothing is trained)."""
    from analysis.plan import find_plan, load_plan

    name = OmegaConf.select(config, "sweep.plan", default=None)
    if name is None:
        _fail("sweep.plan: null is not allowed with hydra/sweeper=sequential; name a plan "
              "of conf/plan/ that has a `sequential:` section")
    try:
        plan = load_plan(find_plan(str(name)))
    except ValueError as e:
        line = str(e).splitlines()[0]
        _fail(f"sweep.{line}" if line.startswith("plan: ") else f"sweep.plan: {line}")
    if plan.sequential is None:
        _fail(f"sweep.plan: {name!r} has no `sequential:` section (looks, spending, "
              "futility, power); a sequential sweep needs one")
    return plan, plan.sequential


def decisions_text(path: Path, plan: str, rows: Sequence[dict[str, Any]]) -> str:
    """The text of ``sequential.csv`` with `plan`'s decisions replaced by `rows`: one file per
    sweep folder, a ``plan`` column keeping apart the plans that share the folder (issue 25's
    six plans share runs/paper and its shared arms). Rows of other plans are kept as read."""
    import pandas as pd

    mine = pd.DataFrame([{"plan": plan, **r} for r in rows])
    if path.is_file():
        old = pd.read_csv(path)
        if "plan" in old.columns:
            mine = pd.concat([old[old["plan"] != plan], mine], ignore_index=True)
    return mine.to_csv(index=False)


def sequential_sweep(sweeper: Sweeper, params: dict[str, str], arguments: list[str]) -> list:
    """The sweep of `hydra_plugins.dse_sequential_sweeper.SequentialSweeper` (set up by Hydra:
    its `config`, `launcher`, `hydra_context`): see the module docstring."""
    from analysis.sequential import judge, spaces_of
    from analysis.sweep import load_sweep

    config, launcher = sweeper.config, sweeper.launcher
    plan, design = _plan(config)
    parser = OverridesParser.create(config_loader=sweeper.hydra_context.config_loader)
    jobs = expand(parser.parse_overrides(
        [f"{k}={v}" for k, v in params.items()] + list(arguments)))
    indices = sorted({int(v) for job in jobs if (v := value_of(job, INDEX_KEY)) is not None})
    if len(indices) != plan.n_per_space:
        _fail(f"{INDEX_KEY}: the sweep has {len(indices)} sample indices; plan "
              f"{plan.name!r} is planned at n_per_space {plan.n_per_space}: sweep "
              f"{INDEX_KEY}=range(0,{plan.n_per_space}) or change the plan")
    loader = sweeper.hydra_context.config_loader

    def space_config(job: list[str]) -> Any:
        composed = loader.load_sweep_config(master_config=config, sweep_overrides=job)
        return OmegaConf.to_container(composed.design_space, resolve=True)

    labels = job_labels(jobs, space_config)
    # only the plan's populations are trained: a grid is a product, and its other jobs
    # (``design_space=regnetx,anynetx_e design_space.stages=3,5`` makes four) serve no hypothesis
    needed = frozenset(s for h in plan.hypotheses for s in spaces_of(h.params))
    missing = sorted(needed - set(labels))
    if missing:
        _fail(f"sweep.plan: plan {plan.name!r} needs the population {missing[0]!r}, which no job "
              f"of this sweep makes (it makes {', '.join(sorted(set(labels)))}); add the "
              "overrides that make it")
    sizes = design.sizes(len(indices))
    sweep_dir = Path(str(config.sweep.dir)).expanduser()
    returns: list = []
    start = 0
    for k, size in enumerate(sizes):
        first = set(indices[:size]) - set(indices[:sizes[k - 1]] if k else ())
        wave = [job for job, label in zip(jobs, labels, strict=True)
                if int(value_of(job, INDEX_KEY)) in first and label in needed]
        if wave:
            sweeper.validate_batch_is_legal(wave)
            returns.append(launcher.launch(wave, initial_job_idx=start))
            start += len(wave)
        try:
            verdict = judge(load_sweep(sweep_dir), plan, design, len(indices), k + 1)
        except ValueError as e:
            _fail(f"sweep.plan: cannot judge look {k + 1}: {str(e).splitlines()[0]}")
        write_text_atomic(sweep_dir / DECISIONS_NAME,
                          decisions_text(sweep_dir / DECISIONS_NAME, plan.name, verdict.rows))
        needed = verdict.needed
        open_ = sum(look is None for look in verdict.decided.values())
        still = (f"still training {', '.join(sorted(needed))}" if needed
                 else "every hypothesis decided")
        noun = "hypothesis" if open_ == 1 else "hypotheses"
        print(f"dse-train: look {k + 1}/{len(sizes)} at {size} models per space: {open_} "
              f"{noun} open; {still} ({sweep_dir / DECISIONS_NAME})", flush=True)
        if not needed:
            break
    return returns
