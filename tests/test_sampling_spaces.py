"""Design-space configs, determinism, sizes, membership, errors and the dse-sample CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import conf
from anynet import AnyNetSpec, complexity, zoo
from sampling import available, load_design_space, space_from_config
from sampling.config import compose

SPACES = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx",
          "regnetx_b1", "regnetx_dw", "regnetx_ib", "regnetx_refined", "regnety"]


def even_total_depth(spec: AnyNetSpec) -> bool:
    """A custom predicate for the dotted-path plug-in test."""
    return spec.depth % 2 == 0


def test_available_spaces():
    assert available() == SPACES


@pytest.mark.parametrize("child,parent,key", [
    ("anynetx_b", "anynetx_a", "shared_bottleneck_ratio"),
    ("anynetx_c", "anynetx_b", "shared_group_width"),
    ("anynetx_d", "anynetx_c", "increasing_widths"),
    ("anynetx_e", "anynetx_d", "increasing_depths"),
])
def test_refinements_compose_previous(child, parent, key):
    text = (conf.path() / "design_space" / f"{child}.yaml").read_text()
    assert f"- {parent}" in text and "domains" not in text  # composed, nothing copied
    a = OmegaConf.to_container(compose("space", [f"design_space={parent}"]).design_space)
    b = OmegaConf.to_container(compose("space", [f"design_space={child}"]).design_space)
    assert a["constraints"][key] is False and b["constraints"][key] is True
    a["constraints"][key] = True
    a["name"] = child
    assert a == b


def test_regnet_refined_ranges():
    cfg = compose("space", ["design_space=regnetx_refined"]).design_space
    assert cfg.domains.bottleneck_ratio["values"] == [1]
    assert cfg.domains.wm.low == 2.0 and cfg.domains.depth.high == 40
    assert cfg.domains.w0.high == 248 and cfg.domains.wa.low == 0.1
    assert compose("space", ["design_space=regnety"]).design_space.se_ratio == 0.25


def test_sizes_exact():
    s = {n: load_design_space(n).size() for n in SPACES}
    assert s["anynetx_a"] == (16 * 128 * 3 * 6) ** 4
    assert s["anynetx_b"] == (16 * 128 * 6) ** 4 * 3
    assert s["anynetx_c"] == (16 * 128) ** 4 * 3 * 6
    # monotone stages counted exactly (built widths after App. D, depths): pinned values
    assert s["anynetx_d"] == 15357526343680
    assert s["anynetx_e"] == 908291200380
    assert s["regnetx"] == 63 * 31 * 2559 * 1501 * 3 * 6
    assert s["regnetx_refined"] == 40 * 31 * 2559 * 1001 * 1 * 6
    assert s["regnety"] == s["regnetx"]


def test_size_chain_count_brute_force():
    """Chain counts on a tiny space equal enumeration of raw tuples."""
    import itertools

    from anynet import adjust_compatibility
    ov = ["design_space.stages=3", "design_space.domains.depth.high=3",
          "design_space.domains.width.high=24",
          "design_space.domains.bottleneck_ratio.values=[1,2]",
          "design_space.domains.group_width.values=[1,16]"]
    sp = load_design_space("anynetx_e", ov)
    stage = list(itertools.product([8, 16, 24], [1, 2], [1, 16]))
    count = 0
    for combo in itertools.product(stage, repeat=3):
        ws, bs, gs = zip(*combo, strict=True)
        if len(set(bs)) > 1 or len(set(gs)) > 1:
            continue
        built, _ = adjust_compatibility(list(ws), list(bs), list(gs))
        count += all(x <= y for x, y in zip(built, built[1:], strict=False))
    depth_chains = sum(1 for d in itertools.product([1, 2, 3], repeat=3) if sorted(d) == list(d))
    assert sp.size() == count * depth_chains


PINNED = [  # (space, overrides, index, depths, widths, b, g, flops), seed 0
    ("anynetx_a", [], 0, (1, 2, 3, 3), (240, 24, 160, 512), (1, 1, 2, 4), (2, 4, 1, 8),
     391907752),
    ("anynetx_a", [], 3, (4, 3, 2, 5), (64, 24, 864, 240), (2, 1, 2, 4), (8, 4, 8, 2),
     385308480),
    ("anynetx_e", [], 0, (1, 1, 2, 16), (8, 32, 104, 896), (4, 4, 4, 4), (2, 8, 26, 32),
     384415688),
    ("anynetx_e", [], 3, (3, 3, 4, 4), (16, 32, 384, 944), (2, 2, 2, 2), (8, 8, 8, 8),
     361942504),
    ("anynetx_e", [], 499, (2, 4, 5, 5), (24, 24, 192, 512), (1, 1, 1, 1), (24, 24, 32, 32),
     382553064),
    ("anynetx_e", ["design_space.resolution=28"], 3, (1, 1, 4, 6), (8, 16, 24, 664),
     (1, 1, 1, 1), (1, 1, 1, 1), 5911104),
    ("regnetx", [], 3, (6, 16, 24, 12), (88, 136, 216, 336), (4, 4, 4, 4), (1, 1, 1, 1),
     394948504),
]


@pytest.mark.parametrize("name,ov,index,d,w,b,g,flops", PINNED)
def test_pinned_samples(name, ov, index, d, w, b, g, flops):
    sp = load_design_space(name, ov)
    spec = sp.sample(index=index, seed=0)
    assert (spec.depths, spec.widths, spec.bottleneck_ratios, spec.group_widths) == (d, w, b, g)
    assert complexity(spec, sp.fixed.resolution)["flops"] == flops


def test_pure_function_of_config_seed_index():
    sp = load_design_space("anynetx_e")
    pop = sp.sample_many([7, 2, 5], seed=1).samples
    assert [s.spec for s in pop] == [sp.sample(i, seed=1) for i in (7, 2, 5)]
    assert sp.sample(2, seed=1) != sp.sample(2, seed=0)
    # other config, other population (the config hash enters the seed)
    other = load_design_space("anynetx_e", ["design_space.domains.depth.high=15"])
    assert [other.sample(i) for i in range(5)] != [sp.sample(i) for i in range(5)]
    # and a plain dict config gives the same space
    cfg = OmegaConf.to_container(compose("space", ["design_space=anynetx_e"]).design_space)
    assert space_from_config(cfg).sample(4) == sp.sample(4)


def test_identical_in_a_fresh_process():
    code = ("from sampling import load_design_space as L;"
            "print(L('anynetx_d').sample(index=11, seed=5).to_dict())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    here = load_design_space("anynetx_d").sample(index=11, seed=5).to_dict()
    assert out == str(here)


def test_resolution_scales_window_and_channels_carry():
    sp = load_design_space("anynetx_a", ["design_space.resolution=28",
                                         "design_space.in_channels=1",
                                         "design_space.num_classes=10"])
    (w,) = sp.windows
    assert (w.metric, w.low, w.high) == ("flops", 5_625_000, 6_250_000)
    spec = sp.sample(0)
    assert (spec.in_channels, spec.num_classes) == (1, 10)
    assert 5_625_000 <= complexity(spec, 28)["flops"] <= 6_250_000
    given = load_design_space("anynetx_a", ["design_space.resolution=28",
                                            "design_space.complexity.flops=[1e6,2e6]",
                                            "design_space.complexity.params=[0,300000]"])
    assert [(w.metric, w.low, w.high) for w in given.windows] == [
        ("flops", 1e6, 2e6), ("params", None, 300000)]
    s = given.sample(1)
    cx = complexity(s, 28)
    assert 1e6 <= cx["flops"] <= 2e6 and cx["params"] <= 300000
    off = load_design_space("anynetx_a", ["design_space.complexity.flops=[0,0]"])
    assert off.windows == ()


def test_stages_override():
    sp = load_design_space("anynetx_e", ["design_space.stages=3",
                                         "design_space.complexity.flops=[0,0]"])
    spec = sp.sample(0)
    assert spec.num_stages == 3 and sp.size() < load_design_space("anynetx_e").size()


def test_named_constraint_switch_and_custom_predicate():
    sp = load_design_space("anynetx_c", ["design_space.constraints.increasing_widths=true"])
    d = load_design_space("anynetx_d")
    assert sp.size() == d.size() and sp.named == d.named
    custom = load_design_space(
        "anynetx_e", [f"+design_space.constraints.even_depth={__name__}:even_total_depth"])
    specs = custom.sample_many(range(30)).samples
    assert all(s.spec.depth % 2 == 0 for s in specs)
    assert custom.contains(specs[0].spec)
    odd = next(s for s in load_design_space("anynetx_e").sample_many(range(30)).samples
               if s.spec.depth % 2)
    assert not custom.contains(odd.spec)
    off = load_design_space("anynetx_e", ["design_space.constraints.increasing_depths=false"])
    assert off.size() == load_design_space("anynetx_d").size()


def test_contains_rejects_outside_specs():
    e = load_design_space("anynetx_e")
    spec = e.sample(0)
    assert e.contains(spec)
    d = spec.to_dict()
    assert not e.contains(AnyNetSpec.from_dict({**d, "depths": d["depths"][::-1]}))
    assert not e.contains(AnyNetSpec.from_dict({**d, "num_classes": 10}))
    a = load_design_space("anynetx_a")
    x = a.sample(3)
    assert a.contains(x) and not load_design_space("anynetx_b").contains(x)
    # widths not on the grid, and a zoo model with the wrong flops
    assert not a.contains(AnyNetSpec.from_dict({**x.to_dict(), "widths": [65, 24, 864, 240],
                                                "group_widths": [1, 4, 8, 2],
                                                "bottleneck_ratios": [1, 1, 2, 4]}))
    r = load_design_space("regnetx")
    assert not r.contains(zoo.get("RegNetX-200MF"))  # 200MF is outside 360-400MF
    r_any = load_design_space("regnetx", ["design_space.complexity.flops=[0,0]"])
    assert r_any.contains(zoo.get("RegNetX-200MF"))
    assert not r_any.contains(zoo.get("RegNetY-200MF"))  # SE: not an X model


@pytest.mark.parametrize("overrides,needle", [
    (["+design_space.constraints.bogus=true"], "design_space.constraints.bogus"),
    (["+design_space.constraints.mine=no_such_mod:fn"], "design_space.constraints.mine"),
    (["+design_space.constraints.mine=math:pi"], "not callable"),
    (["design_space.complexity.flops=[5,2]"], "design_space.complexity.flops"),
    (["design_space.complexity.acts=[1]"], "design_space.complexity.acts"),
    (["design_space.domains.depth.dist=normal"], "design_space.domains.depth.dist"),
    (["design_space.domains.width.q=7"], "multiples of q=7"),
    (["design_space.resolution=0"], "design_space.resolution"),
])
def test_bad_input_one_clear_line(overrides, needle):
    with pytest.raises(ValueError) as info:
        load_design_space("anynetx_e", overrides).sample(0)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_unknown_space():
    with pytest.raises(ValueError, match="'nope' is not a design space; available"):
        load_design_space("nope")


@pytest.mark.parametrize("name", ["anynetx_e", "regnetx"])
def test_impossible_window_fails_fast(name):
    """It gives up after max_tries candidates (within one batch), naming the window."""
    import re

    sp = load_design_space(name, ["design_space.complexity.flops=[1,2]"])
    with pytest.raises(ValueError) as info:
        sp.sample(0)
    msg = str(info.value)
    assert "strictest check is complexity.flops in [1, 2]" in msg
    assert "acceptance rate 0.0000%" in msg
    tried = int(re.search(r"after ([\d,]+) candidates", msg).group(1).replace(",", ""))
    assert sp.max_tries <= tried < 2 * sp.max_tries


def test_cli_writes_population_and_refuses_overwrite(tmp_path: Path):
    out = tmp_path / "pop.jsonl"
    cmd = [sys.executable, "-c", "from sampling.cli import main; main()", "design_space=anynetx_e",
           "n=20", f"out={out}"]  # the defaults of dse-train: the data's 28 px, 1 channel
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "acceptance rate" in res.stdout and "flops" in res.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(20))
    sp = load_design_space("anynetx_e", ["design_space.resolution=28",
                                         "design_space.in_channels=1",
                                         "design_space.num_classes=10"])
    assert AnyNetSpec.from_dict(rows[3]["spec"]) == sp.sample(3)
    # member 3 of dse-sample is member 3 of dse-train with the same (default) config
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from train.job import resolve_job
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        train_cfg = hydra_compose("config", ["design_space=anynetx_e", "sample.index=3"])
    plain = OmegaConf.to_container(train_cfg, resolve=True)
    assert resolve_job(plain, train_cfg.design_space, tmp_path).spec == sp.sample(3)
    assert rows[3]["complexity"] == complexity(sp.sample(3), 28)
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("outputs"))  # no Hydra run dir left behind


def test_rng_words_are_stable():
    sp = load_design_space("anynetx_a")
    assert len(sp._words) == 8 and all(0 <= w < 2**32 for w in sp._words)
    assert np.array_equal(sp.rng(1, 2).random(3), load_design_space("anynetx_a").rng(1, 2)
                          .random(3))


def test_checks_judge_in_order_the_candidates_the_earlier_ones_passed():
    """regnet_stages judges every candidate, block_stages those it passes, the flop window
    those both pass; the candidates that pass every check are the members (one per member:
    each stops at its first)."""
    from sampling.cli import summary
    from sampling.stage_rule import MASK

    space = load_design_space("regnetx")
    pop = space.sample_many(range(25), seed=0)
    st = pop.stats
    [flops] = [k for k in st.judged if k.startswith("complexity.flops")]
    assert st.judged["regnet_stages"] == st.tried > 1000
    assert st.judged[MASK] == st.tried - st.rejected["regnet_stages"]
    assert st.judged[flops] == st.judged[MASK] - st.rejected.get(MASK, 0)
    assert st.judged[flops] - st.rejected[flops] == st.accepted == 25
    # the strictest check is the one rejecting the largest share of what reached it
    assert st.strictest() == (flops, st.rejected[flops], st.judged[flops])
    assert st.rejected["regnet_stages"] > st.rejected[flops]
    line = f"  rejected by {flops}: {st.rejected[flops]:,} of {st.judged[flops]:,} that reached it"
    assert line in summary("regnetx", pop)
    # members drawn in any batch are the same
    assert [space.sample(i, seed=0) for i in (3, 24)] == [pop.samples[3].spec,
                                                         pop.samples[24].spec]
