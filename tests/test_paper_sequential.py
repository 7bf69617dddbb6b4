"""The issue-25 plans judged look by look (issue 24's `sequential:` design on issue 25's plans,
docs/ANALYSIS.md "Sequential plans"): each plan of conf/plan/{se,activation,domains,blocks,
stages,flops,epochs}.yaml can be judged at every look on a sweep table of its populations, and a
planted large effect stops its populations early; and the commands of
conf/experiment/paper.yaml, and conf/experiment/epochs.yaml's own, compose and make the
populations their plans judge (nothing is trained).

The sweep tables are real models: the first 48 RegNetX rows of the committed confirmatory study
(results/confirmatory.csv, read as `dse-study` reads it, with specs) relabelled as every
population of a plan, their errors scaled where an effect is planted; the 800MF side of the
flops plan scaled as the plan's power analysis scales it (conf/study/flops.yaml power.scale)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

import conf
from analysis.fit import fit_models
from analysis.plan import FIT_COLUMNS, Plan, find_plan, load_plan
from analysis.power_analysis import plan_spaces, scaled_pilots
from analysis.sequential import judge
from analysis.study import load_study
from analysis.study_export import study_frame

ROOT = Path(__file__).resolve().parents[1]
PLANS = ("se", "activation", "domains", "blocks", "stages", "flops")  # one sweep, runs/paper
# epochs: its own sweep (proxy_long), conf/experiment/epochs.yaml; activation_long: the same sweep
SEQUENTIAL = (*PLANS, "epochs", "activation_long")

# Per plan: the errors multiplied to plant a large effect, the hypotheses it settles, and the
# populations no other hypothesis needs once they are settled (these must stop training).
PLANTED = {
    "se": ({"regnetx": 3.0}, {"y_better_x"}, {"regnetx", "regnety"}),
    "activation": ({"regnetx_dw": 3.0}, {"swish_better_g1"}, {"regnetx_dw", "regnetx_dw[silu]"}),
    "domains": ({"regnetx_ib": 3.0}, {"inverted_b_hurts"}, {"regnetx_b1", "regnetx_ib"}),
    "blocks": ({"regnetx[R]": 3.0, "regnetx[VR]": 3.0, "regnetx[V]": 3.0},
               {"x_best_block", "x_better_vr", "x_better_v"}, {"regnetx", "regnetx[R]"}),
    "stages": ({"regnetx[3 stages]": 3.0}, {"three_stages_worse"},
               {"regnetx", "regnetx[3 stages]"}),
    "flops": ({"anynetx_e[800MF]": 3.0, "anynetx_a[800MF]": 9.0},
              {"order_high_flops", "e_better_a_high_flops"},
              {"anynetx_e[800MF]", "anynetx_a[800MF]"}),
    "epochs": ({"anynetx_e": 3.0, "anynetx_a": 9.0},
               {"order_more_epochs", "e_better_a_more_epochs"},
               {"regnetx", "anynetx_e", "anynetx_a"}),
    "activation_long": ({"regnetx": 3.0}, {"swish_better_x_long"}, {"regnetx", "regnetx[silu]"}),
}

# A Hydra grid is a product: the populations a plan's command also makes, which no plan judges
# (the sequential sweeper launches none of their jobs: analysis.sweeper).
EXTRA = {
    "activation": {"regnetx_dw[800MF]", "regnetx_dw[silu, 800MF]"},
    "blocks": {"anynetx_e", "anynetx_a", "anynetx_e[R]", "anynetx_a[R]", "anynetx_e[VR]",
               "anynetx_a[VR]"},
    "stages": {"anynetx_e", "anynetx_a", "anynetx_e[3 stages]", "anynetx_a[3 stages]"},
    "flops": {"anynetx_e", "anynetx_a"},
}


def _plan(name: str) -> Plan:
    return load_plan(find_plan(name))


def _needs_fit(plan: Plan) -> bool:
    return any(h.params.get("parameter") in FIT_COLUMNS for h in plan.hypotheses)


@pytest.fixture(scope="module")
def regnetx() -> pd.DataFrame:
    """The first 64 RegNetX models of the confirmatory study by sample index, renumbered 0-63
    (a plan's table takes the first n_per_space of them: 48, or epochs' 64)."""
    df = study_frame(ROOT / "results" / "confirmatory.csv", load_study("paper").data)
    rows = df[df["design_space"] == "regnetx"].sort_values("index").head(64)
    return rows.assign(index=range(len(rows))).reset_index(drop=True)


@pytest.fixture(scope="module")
def regnetx_fitted(regnetx: pd.DataFrame) -> pd.DataFrame:
    """The same models with the quantized linear fit (fit_w0, fit_wa, ...), fitted once."""
    return fit_models(regnetx)


def _keyed(rows) -> list[tuple]:
    """`Judgement.rows` as comparable tuples (look, family, direction, id, p, decision)."""
    return sorted((r["look"], r["family"], r["direction"], r["id"], r["p"], r["decision"])
                  for r in rows)


def _sweep_table(name: str, plan: Plan, rows: pd.DataFrame) -> pd.DataFrame:
    """The plan's populations, each the RegNetX `rows` relabelled, its errors scaled by the
    planted factor and its columns by the study's power.scale; g = 1 for the g = 1 spaces.
    Each population has the plan's n_per_space models."""
    study = load_study(name)
    rows = rows[rows["index"] < plan.n_per_space]
    pilots = {space: rows.assign(design_space=space) for space in plan_spaces(plan)}
    pilots = scaled_pilots(plan, pilots, study.power.scale if study.power else None)
    factors, _, _ = PLANTED[name]
    for space, factor in factors.items():
        pilots[space] = pilots[space].assign(error=pilots[space]["error"] * factor)
    for space in pilots:
        if space.startswith("regnetx_dw"):
            pilots[space] = pilots[space].assign(g1=1, g2=1, g3=1, g4=1, g=1)
    return pd.concat(pilots.values(), ignore_index=True)


def test_every_paper_plan_has_the_replays_sequential_design():
    design = load_study("sequential").sequential.design
    for name in SEQUENTIAL:
        plan = _plan(name)
        assert plan.sequential == design, name
        # epochs and activation_long share no population with the paper sweep; their n is
        # their own power's
        n, sizes = {"epochs": (64, (16, 32, 48, 64)),
                    "activation_long": (24, (6, 12, 18, 24))}.get(name, (48, (12, 24, 36, 48)))
        assert plan.n_per_space == n
        assert plan.sequential.sizes(plan.n_per_space) == sizes


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_a_paper_plan_is_judged_at_every_look_and_a_planted_effect_stops_early(name, request):
    plan = _plan(name)
    rows = request.getfixturevalue("regnetx_fitted" if _needs_fit(plan) else "regnetx")
    df = _sweep_table(name, plan, rows)
    design, n = plan.sequential, plan.n_per_space
    looks = [judge(df, plan, design, n, k) for k in range(1, 5)]
    ids = {h.id for h in plan.hypotheses}
    # at the last look every hypothesis has its decision, and no population is needed any more
    final = looks[-1]
    assert set(final.decided) == ids and all(1 <= look <= 4 for look in final.decided.values())
    assert final.needed == frozenset()
    # look k judges the first n_k models of each population; judged again later, its rows
    # and decisions stay as they were
    assert {(r["look"], r["n"]) for r in final.rows} <= set(enumerate(design.sizes(n), 1))
    for k, j in enumerate(looks, start=1):
        assert _keyed(j.rows) == _keyed(r for r in final.rows if r["look"] <= k)
        for hid, look in j.decided.items():
            assert look is None or look == final.decided[hid] <= k
    # the planted effect: its claims rejected before the last look, and their populations stop
    _, settled, leave = PLANTED[name]
    at = max(final.decided[h] for h in settled)
    assert at < 4
    for h in settled:
        decision = {(r["direction"], r["decision"]) for r in final.rows
                    if r["id"] == h and r["look"] == final.decided[h]}
        assert ("claim", "rejected") in decision, (h, decision)
    assert not leave & looks[at - 1].needed
    if at > 1:
        assert leave <= looks[at - 2].needed


# ---- the commands of conf/experiment/paper.yaml ----------------------------------------------

def _commands() -> dict[str, list[str]]:
    """The sequential commands in the header of conf/experiment/paper.yaml (backslash
    continuations joined), by the plan they name, as their override tokens."""
    lines = [line[1:].strip() for line in
             (conf.path() / "experiment" / "paper.yaml").read_text().splitlines()
             if line.startswith("#")]
    text = re.sub(r"\\\s*\n\s*", " ", "\n".join(lines))
    out = {}
    for line in text.splitlines():
        if line.startswith("dse-train +experiment=paper hydra/sweeper=sequential"):
            tokens = line.split()[1:]
            plan = next(t.partition("=")[2] for t in tokens if t.startswith("sweep.plan="))
            out[plan] = tokens
    return out


def test_one_sequential_command_per_plan_covers_the_paper_sweep():
    """One command per plan, the plans in the order their populations first appear in
    conf/study/_paper.yaml; together the plans judge every population of the paper sweep."""
    commands = _commands()
    assert list(commands) == ["se", "activation", "domains", "blocks", "stages", "flops"]
    for name, tokens in commands.items():
        assert tokens[:3] == ["+experiment=paper", "hydra/sweeper=sequential",
                              f"sweep.plan={name}"]
    judged = {s for name in commands for s in plan_spaces(_plan(name))}
    assert judged == set(load_study("paper").order)


# epochs' command is its experiment alone (the sweeper and plan are in it); its folder and its
# first sample index (indices 0-23 are the proxy_long pilot of results/instrument/)
# activation_long's is its study's `experiment` (conf/study/activation_long.yaml), the command
# its docs give
OWN = {"epochs": (["+experiment=epochs"], "runs/epochs", 24),
       "activation_long": (shlex.split(load_study("activation_long").experiment)[1:],
                           "runs/epochs", 24)}


def _command(name: str) -> tuple[list[str], str, int]:
    """A plan's command tokens, its sweep folder and its first sample index."""
    return OWN.get(name) or (_commands()[name], "runs/paper", 0)


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_a_plans_command_composes_and_makes_its_populations(name):
    """What the sequential sweeper does before its first wave (`analysis.sweeper`): the grid
    of hydra.sweeper.params and the command's task overrides, each job labelled by its
    composed design space; checked against the plan's populations and its n."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from analysis.sweeper import INDEX_KEY, expand, job_labels, value_of

    tokens, folder, first = _command(name)
    parser = OverridesParser.create()
    fixed = [t for t, o in zip(tokens, parser.parse_overrides(tokens), strict=True)
             if not o.is_sweep_override()]

    def space(job: list[str]) -> dict:
        return OmegaConf.to_container(compose("config", job).design_space, resolve=True)

    with initialize_config_dir(config_dir=str(conf.path()), version_base=None):
        cfg = compose("config", fixed, return_hydra_config=True)
        assert cfg.hydra.sweeper._target_.endswith("SequentialSweeper")
        assert cfg.sweep.dir == folder and cfg.sweep.plan == name
        params = OmegaConf.to_container(cfg.hydra.sweeper.params, resolve=True)
        task = [t for t in tokens if not t.startswith("hydra")]
        jobs = expand(parser.parse_overrides([f"{k}={v}" for k, v in params.items()] + task))
        labels = job_labels(jobs, space)
    plan = _plan(name)
    assert set(labels) == set(plan_spaces(plan)) | EXTRA.get(name, set())
    indices = sorted({int(value_of(job, INDEX_KEY)) for job in jobs})
    assert indices == list(range(first, first + plan.n_per_space))
    assert all(labels.count(label) == plan.n_per_space for label in set(labels))


@pytest.mark.parametrize("name", ["epochs", "activation_long"])
def test_the_epochs_sweep_judges_none_of_its_pilots_models(name):
    """conf/plan/epochs.yaml's and activation_long.yaml's power read the proxy_long runs of
    results/instrument/small_geometry.csv (their conf/study/ files); the sweep's sample indices
    start after theirs, under the regime and seed the power reads."""
    study = load_study(name)
    runs = pd.read_csv(ROOT / "results" / study.power.pilot[0])
    pilot = runs[(runs["regime_name"] == study.power.regime)
                 & (runs["train_seed"] == study.power.seed)]
    assert study.power.regime == "proxy_long"
    pilots = sorted(set(study.power.pilots.values()))
    assert pilot.groupby("design_space").size().loc[pilots].eq(24).all()
    assert pilot["index"].max() < OWN[name][2]
