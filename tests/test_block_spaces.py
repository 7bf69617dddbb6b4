"""Design spaces of the paper's other blocks, activations, stems, stage counts and flop regimes
(issue 25; docs/DESIGN_SPACES.md "Blocks, activations, stems, stages and flop regimes"): the
``block`` and ``window`` config groups, the ``block_type``/``activation``/``stem_type`` keys,
the block rule on built stages (sampling/stage_rule.py), exact sizes, analytic complexity
against fvcore, and population hashes that do not move for the spaces that existed before."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from anynet import AnyNetSpec, complexity
from anynet.blocks import ACTIVATIONS, BLOCK_TYPES, STEM_TYPES
from anynet.measure import measured_complexity
from anynet.record import make_population
from anynet.regnet import adjust
from conf.schema import DesignSpaceKeys
from sampling import load_design_space, space_from_config
from sampling.batch_complexity import batch_complexity
from sampling.cli import _validate as validate_sample
from sampling.cli import network_line, summary
from sampling.config import compose
from sampling.constraints import StageArrays
from sampling.precheck import precheck
from sampling.space import DesignSpace, hashed_config
from sampling.stage_rule import MASK, admitted

SMALL = ["geometry=small", "design_space.resolution=28", "design_space.in_channels=1",
         "design_space.num_classes=10"]
BIG_G = 65536  # the one group width of conf/block/{v,vr,r}.yaml
SPACE_DOMAINS = {"anynetx_a": ([1, 2, 4], [1, 2, 4, 8, 16, 32]),
                 "regnetx": ([1, 2, 4], [1, 2, 4, 8, 16, 32])}


def population_hash(space: DesignSpace, seed: int = 0) -> str:
    """The record's population hash (train.job.population_of) of members drawn with `seed`."""
    windows = {w.metric: [w.low, w.high] for w in space.windows}
    return make_population(hashed_config(space.config, space.windows), windows, seed)["hash"]


def follows_block_rule(spec: AnyNetSpec) -> bool:
    """docs/PAPER.md §1.6, written out here: V/VR b = 1 and g = w, R g = w / b."""
    stages = zip(spec.widths, spec.bottleneck_ratios, spec.group_widths, strict=True)
    if spec.block_type in ("V", "VR"):
        return all(b == 1 and g == w for w, b, g in stages) and spec.se_ratio == 0
    if spec.block_type == "R":
        return all(g * b == w for w, b, g in stages)
    return all((w / b) % g == 0 for w, b, g in stages)


def shallowest(space: DesignSpace, n: int = 8) -> AnyNetSpec:
    """The member of the first `n` with the fewest blocks: the cheapest to count with fvcore."""
    return min((s.spec for s in space.sample_many(range(n), 0).samples),
               key=lambda s: (s.depth, sum(s.widths)))


def fvcore_equal(spec: AnyNetSpec, resolution: int = 28) -> None:
    torch.manual_seed(0)
    assert complexity(spec, resolution) == measured_complexity(spec, resolution), spec


# -- keys and groups --------------------------------------------------------------------------

def test_the_keys_allow_anynets_vocabulary():
    allowed = {f.name: f.metadata["allowed"].choices for f in dataclasses.fields(DesignSpaceKeys)}
    assert allowed["block_type"] == BLOCK_TYPES
    assert allowed["activation"] == ACTIVATIONS
    assert allowed["stem_type"] == STEM_TYPES


# Population hashes of the spaces before the block keys and groups existed (computed with the
# code of commit 7001c09): keys at their defaults, `block=x` on a space without SE and
# `window=400mf` leave every population as it was.
BEFORE = {
    ("anynetx_a", "paper", 224): "eda284943f6c", ("anynetx_a", "small", 28): "41f19890b9b9",
    ("anynetx_b", "paper", 224): "06febc7e500e", ("anynetx_b", "small", 28): "e711252c08ee",
    ("anynetx_c", "paper", 224): "6a4ddde725c6", ("anynetx_c", "small", 28): "a0895f30e10a",
    ("anynetx_d", "paper", 224): "8422855a945c", ("anynetx_d", "small", 28): "60ed330128a2",
    ("anynetx_e", "paper", 224): "0359c9daa39a", ("anynetx_e", "small", 28): "6b5c74a9bb14",
    ("anynetx_e", "paper", 28): "907629c0a42d", ("regnetx", "paper", 28): "dff58d691ac8",
    ("regnetx", "paper", 224): "22f752e04d59", ("regnetx", "small", 28): "1eadedb4fc62",
    ("regnetx_refined", "paper", 224): "5186cc4286ab",
    ("regnetx_refined", "small", 28): "5b8612517bc2",
    ("regnety", "paper", 224): "d571f8f31c1c", ("regnety", "small", 28): "aec59f7178bc",
}


@pytest.mark.parametrize(("name", "geometry", "resolution"), sorted(BEFORE))
def test_existing_population_hashes_are_unchanged(name, geometry, resolution):
    space = load_design_space(name, [f"geometry={geometry}",
                                     f"design_space.resolution={resolution}"])
    assert population_hash(space) == BEFORE[name, geometry, resolution]


@pytest.mark.parametrize(("name", "geometry", "resolution"), [
    ("anynetx_e", "small", 28), ("regnetx", "small", 28), ("regnety", "paper", 224)])
def test_the_new_keys_at_their_defaults_leave_the_population(name, geometry, resolution):
    base = [f"geometry={geometry}", f"design_space.resolution={resolution}"]
    same = [[*base, "window=400mf"],
            [*base, "design_space.block_type=X", "design_space.activation=relu",
             "design_space.stem_type=simple"]]
    if name != "regnety":
        same.append([*base, "block=x"])
    for overrides in same:
        assert population_hash(load_design_space(name, overrides)) == BEFORE[
            name, geometry, resolution], overrides
    for changed in (["block=v"], ["design_space.activation=silu"], ["window=800mf"],
                    ["design_space.stem_type=resnet"], ["design_space.stages=5"]):
        assert population_hash(load_design_space(name, [*base, *changed])) != BEFORE[
            name, geometry, resolution], changed


@pytest.mark.parametrize("family_space", sorted(SPACE_DOMAINS))
@pytest.mark.parametrize("block", ["x", "y", "v", "vr", "r"])
def test_a_block_group_composes_exactly_the_domains_the_block_admits(family_space, block):
    cfg = OmegaConf.to_container(compose("space", [f"design_space={family_space}",
                                                   f"block={block}"]).design_space)
    b, g = SPACE_DOMAINS[family_space]
    want_b = [1] if block in ("v", "vr") else b
    want_g = [BIG_G] if block in ("v", "vr", "r") else g
    assert cfg["block_type"] == {"y": "X"}.get(block, block.upper())
    assert cfg["se_ratio"] == (0.25 if block == "y" else 0.0)
    assert cfg["domains"]["bottleneck_ratio"] == {"dist": "choice", "values": want_b}
    assert cfg["domains"]["group_width"] == {"dist": "choice", "values": want_g}
    assert cfg["activation"] == "relu" and cfg["stem_type"] == "simple"


# -- sampling under the block rule ------------------------------------------------------------

@pytest.mark.parametrize("name", ["anynetx_e", "regnetx"])
@pytest.mark.parametrize("block", ["v", "vr", "r", "y"])
def test_sampled_members_obey_the_block_rule_and_are_members(name, block):
    space = load_design_space(name, [f"block={block}", *SMALL])
    pop = space.sample_many(range(6), 0)
    specs = [s.spec for s in pop.samples]
    assert {s.block for s in specs} == {"Y" if block == "y" else block.upper()}
    assert all(follows_block_rule(s) for s in specs)
    assert all(space.contains(s) for s in specs)
    # the batch counts (used by the window) are the scalar ones, block and stem type included
    a = StageArrays.from_specs(specs)
    cx = batch_complexity(a.depths, a.widths, a.ratios, a.groups, space.strides, space.fixed)
    for i, s in enumerate(pop.samples):
        assert {k: int(v[i]) for k, v in cx.items()} == s.complexity == complexity(s.spec, 28)
    # a member of one block's space is no member of another's
    other = load_design_space(name, ["block=x" if block != "x" else "block=v", *SMALL])
    assert not any(other.contains(s) for s in specs)


@pytest.mark.parametrize("name", ["anynetx_e", "regnetx"])
def test_activation_and_stem_reach_every_member(name):
    space = load_design_space(name, ["design_space.activation=silu",
                                     "design_space.stem_type=resnet", *SMALL])
    specs = space.sample_many(range(4), 0).samples
    assert {(s.spec.activation, s.spec.stem_type) for s in specs} == {("silu", "resnet")}
    assert all(s.complexity == complexity(s.spec, 28) for s in specs)
    assert all(space.contains(s.spec) for s in specs)
    plain = load_design_space(name, SMALL)
    assert not plain.contains(specs[0].spec)


def test_a_regnet_block_rule_rejects_by_a_named_mask_never_an_exception():
    """X's domains under block_type V: only stages whose raw g reaches the width are V
    stages; the others are rejected under `MASK` and every member follows the rule."""
    space = load_design_space("regnetx", ["design_space.block_type=V",
                                          "design_space.complexity.flops=[0,0]",
                                          "design_space.resolution=28"])
    pop = space.sample_many(range(3), 0)
    assert pop.stats.rejected[MASK] > 0
    assert all(follows_block_rule(s.spec) for s in pop.samples)


@pytest.mark.parametrize("block_type", BLOCK_TYPES)
def test_the_stage_rule_is_the_specs_validation(block_type):
    """`admitted` on every built stage of a grid agrees with `AnyNetSpec`'s own validation."""
    w, b, g = np.meshgrid(np.arange(8, 97, 8), [0.25, 0.5, 1, 2, 4, 3],
                          [1, 2, 3, 4, 8, 12, 16, 24, 32, 48, 96, BIG_G], indexing="ij")
    w2, g2 = adjust(w.ravel(), b.ravel(), g.ravel())
    got = admitted(w2, b.ravel(), g2, block_type)
    for wi, bi, gi, ok in zip(w2.tolist(), b.ravel().tolist(), g2.tolist(), got.tolist(),
                              strict=True):
        try:
            AnyNetSpec([1], [wi], [bi], [gi], strides=[2], block_type=block_type)
            valid = True
        except ValueError:
            valid = False
        assert ok == valid, (wi, bi, gi)


def _tiny(block_type: str, b: list[float], g: list[int], **constraints: bool) -> dict[str, Any]:
    return {"name": "tiny", "family": "anynet", "stages": 2, "resolution": 28,
            "in_channels": 1, "num_classes": 10, "block_type": block_type,
            "domains": {"depth": {"dist": "choice", "values": [1, 2]},
                        "width": {"dist": "choice", "values": [8, 16, 24, 32, 40, 48]},
                        "bottleneck_ratio": {"dist": "choice", "values": b},
                        "group_width": {"dist": "choice", "values": g}},
            "constraints": constraints}


def _brute_size(block_type: str, b: list[float], g: list[int], shared_b: bool) -> int:
    """Raw tuples (a shared b once) whose built 2-stage network is a valid spec of
    `block_type` with non-decreasing widths: the spec's validation is the oracle."""
    count = 0
    stage = list(itertools.product([1, 2], [8, 16, 24, 32, 40, 48], b, g))
    for s1, s2 in itertools.product(stage, stage):
        if shared_b and s1[2] != s2[2]:
            continue
        ws, gs = adjust(np.array([s1[1], s2[1]]), np.array([s1[2], s2[2]]),
                        np.array([s1[3], s2[3]]))
        try:
            AnyNetSpec([s1[0], s2[0]], ws.tolist(), [s1[2], s2[2]], gs.tolist(),
                       block_type=block_type)
        except ValueError:
            continue
        count += int(ws[1] >= ws[0])
    return count


@pytest.mark.parametrize(("block_type", "b", "g"), [
    ("V", [1, 2], [8, 16, 64]), ("VR", [1], [8, 24, 64]), ("R", [1, 2, 0.5], [4, 8, 32]),
    ("X", [0.25, 1, 4], [1, 16])])
def test_size_counts_exactly_the_raw_tuples_the_block_admits(block_type, b, g):
    space = space_from_config(_tiny(block_type, b, g, increasing_widths=True,
                                    shared_bottleneck_ratio=True))
    assert space.size() == _brute_size(block_type, b, g, shared_b=True)
    specs = [s.spec for s in space.sample_many(range(20), 0).samples]
    assert all(follows_block_rule(s) and space.contains(s) for s in specs)


# -- complexity against fvcore ----------------------------------------------------------------

@pytest.mark.parametrize(("name", "block"), [("regnetx", "v"), ("anynetx_e", "vr"),
                                             ("regnetx", "r"), ("anynetx_e", "y")])
def test_complexity_equals_fvcore_for_a_member_of_each_block(name, block):
    extra = ["design_space.activation=silu"] if block == "y" else []
    fvcore_equal(shallowest(load_design_space(name, [f"block={block}", *extra, *SMALL])))


@pytest.mark.parametrize("name", ["regnetx", "anynetx_e"])
@pytest.mark.parametrize("stages", [3, 5])
def test_three_and_five_stages_follow_the_geometry_and_count_exactly(name, stages):
    space = load_design_space(name, [f"design_space.stages={stages}", *SMALL])
    pop = space.sample_many(range(4), 0)
    assert {len(s.spec.depths) for s in pop.samples} == {stages}
    assert {s.spec.strides for s in pop.samples} == {(2,) * stages}
    assert all(s.spec.stem_stride == 1 and space.contains(s.spec) for s in pop.samples)
    fvcore_equal(min((s.spec for s in pop.samples), key=lambda s: s.depth))
    paper = load_design_space(name, [f"design_space.stages={stages}", "geometry=paper"])
    assert {len(s.spec.depths) for s in paper.sample_many(range(2), 0).samples} == {stages}


@pytest.mark.parametrize(("name", "domain", "values"), [
    ("anynetx_a", "bottleneck_ratio", [0.25, 0.5]), ("regnetx", "bottleneck_ratio", [0.25, 0.5]),
    ("anynetx_a", "group_width", [1]), ("regnetx", "group_width", [1])])
def test_inverted_bottlenecks_and_depthwise_convs_are_domains(name, domain, values):
    space = load_design_space(name, [f"design_space.domains.{domain}.values={values}", *SMALL])
    specs = [s.spec for s in space.sample_many(range(4), 0).samples]
    field = {"bottleneck_ratio": "bottleneck_ratios", "group_width": "group_widths"}[domain]
    assert {v for s in specs for v in getattr(s, field)} <= set(values)
    assert all(space.contains(s) for s in specs)
    if name == "anynetx_a":  # every raw (w, b, g) builds a valid X stage
        b, g = (len(values), 6) if domain == "bottleneck_ratio" else (3, len(values))
        assert space.size() == (16 * 128 * b * g) ** 4
    fvcore_equal(min(specs, key=lambda s: s.depth))


# -- flop regimes -----------------------------------------------------------------------------

@pytest.mark.parametrize(("window", "flops"), [
    ("400mf", [360e6, 400e6]), ("800mf", [720e6, 800e6]), ("1.6gf", [1.44e9, 1.6e9]),
    ("3.2gf", [2.88e9, 3.2e9]), ("6.4gf", [5.76e9, 6.4e9])])
def test_a_window_sets_the_reference_flops_of_a_regime(window, flops):
    space = load_design_space("regnetx", [f"window={window}", *SMALL])
    assert space.config["complexity"]["reference"]["flops"] == flops
    (w,) = space.windows
    assert (w.low, w.high) == (flops[0] * (28 / 224) ** 2, flops[1] * (28 / 224) ** 2)
    if window in ("400mf", "800mf"):
        for s in space.sample_many(range(3), 0).samples:
            assert w.low <= s.complexity["flops"] <= w.high


def test_the_groups_sweep_in_one_multirun(tmp_path):
    """The precheck composes every value of a sweep over the groups (both families)."""
    out = str(tmp_path / "pop.jsonl")
    for space in ("anynetx_e", "regnetx"):
        first = precheck("dse-sample", "sample", ["-m", f"design_space={space}",
                                                  "block=x,v,vr,r,y", "window=400mf,800mf",
                                                  "n=1", f"out={out}"],
                         validate=validate_sample)
        assert first["design_space"]["block_type"] == "X"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("argv", "line"), [
    (["design_space.block_type=Z"], "design_space.block_type: 'Z' is not allowed; use one of "
                                    "V, VR, R, X"),
    (["design_space.activation=gelu"], "design_space.activation: 'gelu' is not allowed"),
    (["block=v", "design_space.se_ratio=0.25"], "design_space.se_ratio: 0.25 is not allowed "
                                                "with block_type V"),
    (["block=zz"], "Could not find 'block/zz'"),
    (["-m", "window=400mf,7gf"], "Could not find 'window/7gf'"),
])
def test_bad_values_are_one_line(argv, line, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        precheck("dse-sample", "sample", [*argv, "n=1", f"out={tmp_path}/p.jsonl"],
                 validate=validate_sample)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and line in err, err


def test_dse_sample_names_the_networks_only_away_from_the_papers():
    x = load_design_space("regnety", SMALL)
    pop = x.sample_many(range(2), 0)
    assert network_line(pop.samples[0].spec) is None
    assert summary("regnety", pop, None).splitlines()[1].startswith("  flops ")
    v = load_design_space("regnetx", ["block=v", "design_space.stages=5",
                                      "design_space.activation=silu", *SMALL])
    pop = v.sample_many(range(2), 0)
    line = network_line(pop.samples[0].spec)
    assert line == "block V, activation silu, stem simple, 5 stages"
    assert summary("regnetx", pop, line).splitlines()[1] == f"  {line}"
