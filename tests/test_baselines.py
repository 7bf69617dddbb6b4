"""The best random RegNetX against ResNe(X)t scaled to its flops ([DDS] §5, Table 3): the width
scaling of the zoo's baselines (`anynet.zoo.scale_widths`, `fit_to_window`), the committed
experiment, plan and study built on it, the best-of-25 choice and the plan's power
(`analysis.baselines`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from analysis import verdicts
from analysis.baselines import best_of, power_csv, seed_pilot
from analysis.plan import find_plan, load_plan
from analysis.study import load_study
from analysis.study_tables import verdict_table
from anynet import AnyNetSpec, complexity, zoo
from anynet.record import model_dir
from sampling import load_design_space

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
EXPERIMENT = ROOT / "conf" / "experiment" / "baselines.yaml"
MNIST = {"in_channels": 1, "num_classes": 10}
# the confirmatory instrument's RegNetX population: mnist5k at 28 px, small geometry
CONFIRMATORY = ["geometry=small", "design_space.resolution=28", "design_space.in_channels=1",
                "design_space.num_classes=10"]
# [DDS] Table 3's baselines at 224 px (docs/PAPER.md §6.6): flops, params, acts
PUBLISHED = {"ResNet-50": (4_089_185_256, 25_557_032, 11_315_688),
             "ResNet-101": (7_801_406_440, 44_549_160, 16_433_640),
             "ResNet-152": (11_513_627_624, 60_192_808, 22_755_816),
             "ResNeXt-50-32x4d": (4_230_480_872, 25_028_904, 14_602_216),
             "ResNeXt-101-32x4d": (7_969_997_800, 44_177_704, 21_426_152)}


@pytest.fixture(scope="module")
def window() -> tuple[float, float]:
    """The flops window the confirmatory RegNetX population was drawn in (the design space's
    reference window scaled to 28 px by `sampling.constraints.window_scale`)."""
    space = load_design_space("regnetx", CONFIRMATORY)
    w = next(w for w in space.windows if w.metric == "flops")
    return w.low, w.high


@pytest.fixture(scope="module")
def scaled(window) -> dict[str, zoo.ScaledBaseline]:
    return {name: zoo.fit_to_window(zoo.get(name, stem_stride=1, **MNIST), window, 28)
            for name in ("ResNet-50", "ResNeXt-50-32x4d")}


def test_the_window_is_the_confirmatory_regnetx_populations(window):
    assert window == (360e6 / 64, 400e6 / 64)  # 360-400 MF x (28/224)^2
    models = pd.read_csv(RESULTS / "confirmatory.csv")
    flops = models.loc[models["design_space"] == "regnetx", "flops"]
    assert len(flops) == 96 and flops.between(*window).all()


def test_scaled_resnet50_and_resnext50_fall_in_the_window(scaled, window):
    r, x = scaled["ResNet-50"], scaled["ResNeXt-50-32x4d"]
    # exact integers of anynet.complexity at 28 px
    assert (r.flops, r.params, r.acts) == (5_835_754, 473_106, 101_116)
    assert (x.flops, x.params, x.acts) == (5_924_954, 440_982, 115_394)
    for s in (r, x):
        assert window[0] <= s.flops <= window[1]
        assert complexity(s.spec, 28) == {"flops": s.flops, "params": s.params, "acts": s.acts}
        assert s.spec.depths == (3, 4, 6, 3) and s.spec.strides == (1, 2, 2, 2)
        assert (s.spec.stem_type, s.spec.stem_stride, s.spec.stem_width) == ("resnet", 1, 8)
        assert all(w % 8 == 0 for w in s.spec.widths)
        assert s.factor_low < s.factor_high
    assert r.spec.widths == (32, 72, 144, 288) and r.spec.bottleneck_ratios == (4.0,) * 4
    assert r.spec.block_type == "R" and r.groups == 1 and r.spec.group_widths == (8, 18, 36, 72)
    # ResNeXt: 32 groups would be narrower than 32x4d's 4 channels, so 4 groups of >= 4
    assert x.spec.widths == (32, 56, 120, 232) and x.spec.bottleneck_ratios == (2.0,) * 4
    assert x.spec.block_type == "X" and x.groups == 4 and x.spec.group_widths == (4, 7, 15, 29)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_factor_one_at_224_px_gives_the_published_spec_back(name):
    spec = zoo.get(name)
    assert zoo.scale_widths(spec, 1.0) == spec
    cx = complexity(zoo.scale_widths(spec, 1), 224)
    assert (cx["flops"], cx["params"], cx["acts"]) == PUBLISHED[name]


def test_groups_are_kept_where_widths_allow():
    x = zoo.get("ResNeXt-50-32x4d")
    wide = zoo.scale_widths(x, 2.0)
    assert wide.widths == (512, 1024, 2048, 4096) and zoo.baseline_groups(wide) == 32
    half = zoo.scale_widths(x, 0.5)  # 32 groups would be 2 channels wide: 16 groups of 4
    assert zoo.baseline_groups(half) == 16 and half.group_widths == (4, 8, 16, 32)
    r = zoo.scale_widths(zoo.get("ResNet-50"), 0.25)
    assert r.widths == (64, 128, 256, 512) and r.stem_width == 16
    assert zoo.baseline_groups(r) == 1 and r.group_widths == (16, 32, 64, 128)


@pytest.mark.parametrize(("window", "says"), [
    ((1000, 2000), r"below the narrowest full-depth network's \d+ flops: a depth-reduced "
                   r"variant would be needed"),
    ((1e9, 2e9), r"above the published widths' 292082698 flops: widths only shrink"),
    ((5_835_755, 5_835_756), "between two steps of the widths: widen the window")])
def test_an_unreachable_window_says_why(window, says):
    base = zoo.get("ResNet-50", stem_stride=1, **MNIST)
    with pytest.raises(ValueError, match=r"^flops: \[.*\] is not reachable by scaling the "
                                         rf"widths of this baseline at 28 px; it is {says}$"):
        zoo.fit_to_window(base, window, 28)


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: zoo.scale_widths(s, -0.5), r"^factor: -0.5 is not allowed; use a positive"),
    (lambda s: zoo.scale_widths(s, float("nan")), r"^factor: nan is not allowed"),
    (lambda s: zoo.scale_widths(s, "half"), r"^factor: 'half' is not allowed"),
    (lambda s: zoo.scale_widths(s, True), r"^factor: True is not allowed"),
    (lambda s: zoo.fit_to_window(s, (6e6, 5e6), 28), r"^flops: \(6000000.0, 5000000.0\) is "
                                                     r"not allowed; use \[low, high\]"),
    (lambda s: zoo.fit_to_window(s, (1, 2, 3), 28), r"^flops: \(1, 2, 3\) is not allowed"),
    (lambda s: zoo.fit_to_window(s, "6MF", 28), r"^flops: '6MF' is not allowed"),
    (lambda s: zoo.scale_widths(zoo.get("RegNetX-200MF"), 0.5),
     r"^spec: block X with \[3, 7, 19, 46\] groups per stage is not a ResNe\(X\)t baseline"),
])
def test_bad_values_are_one_line(call, message):
    with pytest.raises(ValueError, match=message) as exc:
        call(zoo.get("ResNet-50", stem_stride=1, **MNIST))
    assert "\n" not in str(exc.value)


def test_the_experiment_trains_the_scaled_specs_under_the_plans_labels(scaled):
    cfg = yaml.safe_load(EXPERIMENT.read_text())
    params = cfg["hydra"]["sweeper"]["params"]
    assert params["train.seed"] == "1,2,3" and cfg["sweep"]["dir"] == "runs/baselines"
    override = OverridesParser.create().parse_overrides([f"spec={params['spec']}"])[0]
    specs = [AnyNetSpec.from_dict({**MNIST, **dict(d)}) for d in override.sweep_iterator()]
    assert specs == [scaled["ResNet-50"].spec, scaled["ResNeXt-50-32x4d"].spec]
    labels = [model_dir("runs/baselines", spec=s.to_dict()).name for s in specs]
    plan = load_plan(find_plan("baselines"))
    assert [str(h.params["b"]) for h in plan.hypotheses] == labels
    assert {str(h.params["a"]) for h in plan.hypotheses} == {"regnetx[index == 48]"}
    study = load_study("baselines")
    assert study.order == ("regnetx", *labels) and study.plan == "baselines"
    assert (study.verdicts, study.models) == ("paper/baselines_verdicts.csv",
                                              "paper/baselines.csv")


def test_the_best_of_25_is_index_48_by_its_committed_error():
    models = pd.read_csv(RESULTS / "confirmatory.csv")
    best = best_of(models)
    assert (int(best["index"]), float(best["error"])) == (48, 4.12)
    window = models[(models["design_space"] == "regnetx") & models["index"].between(24, 48)]
    assert len(window) == 25 and best["error"] == window["error"].min()
    with pytest.raises(ValueError, match=r"^models: regnetx has 24 ok models at indices 25-49;"
                                         r" the best of 25 needs all of them$"):
        best_of(models[models["index"] != 48], first=25)


def _table(errors: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for label, es in errors.items():
        for seed, e in enumerate(es, start=1):
            rows.append({"design_space": label, "index": 48 if label == "regnetx" else pd.NA,
                         "status": "ok", "error": e, "train_seed": seed})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("regnetx", "verdict"), [
    ([3.0, 3.1, 3.2], "supported"), ([6.0, 6.1, 6.2], "contradicted"),
    ([4.2, 5.9, 3.4], "not resolved")])
def test_the_plans_verdicts_on_a_tiny_table(regnetx, verdict):
    plan = load_plan(find_plan("baselines"))
    r50, x50 = (str(h.params["b"]) for h in plan.hypotheses)
    df = _table({"regnetx": regnetx, r50: [4.5, 4.6, 4.7], x50: [4.4, 4.6, 4.8]})
    # another RegNetX model in the folder is not the chosen one: the plan's `where` drops it
    df = pd.concat([df, pd.DataFrame([{"design_space": "regnetx", "index": 7,
                                       "status": "ok", "error": 50.0, "train_seed": 1}])])
    out = verdicts(df, plan)
    assert list(out["id"]) == ["regnetx_beats_resnet50", "regnetx_beats_resnext50"]
    assert (out["n_a"] == 3).all() and (out["n_b"] == 3).all()
    assert list(out["verdict"]) == [verdict, verdict]
    assert (out["p_corrected"] >= out["p"]).all()


def test_the_committed_verdicts_and_power_regenerate_byte_for_byte():
    study = load_study("baselines")
    assert verdict_table(study, RESULTS) == (RESULTS / study.verdicts).read_text()
    committed = (RESULTS / "paper" / "baselines_power.csv").read_text()
    assert power_csv(RESULTS) == committed
    power = pd.read_csv(RESULTS / "paper" / "baselines_power.csv")
    at3 = power[(power["n"] == 3) & (power["shift"] == 0.1)].iloc[0]
    assert at3["power"] < 0.8 and at3["n_needed"] > 3  # what the plan declares


def test_the_seed_pilot_has_one_runs_seed_noise():
    runs = pd.read_csv(RESULTS / "instrument" / "small_geometry.csv")
    pilot = seed_pilot(runs, "regnetx", 5.0)
    assert pilot.size == 48 and pilot.mean() == pytest.approx(5.0)
    with pytest.raises(ValueError, match=r"^runs: regnety has 0 models with both proxy seeds"):
        seed_pilot(runs, "regnety", 5.0)


def test_the_power_step_names_a_missing_export(tmp_path, capsys, monkeypatch):
    from analysis import study_cli

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    with pytest.raises(SystemExit) as exc:
        study_cli.main(["baselines", "power", "--check", "--results", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dse-study: error: results: ") and "\n" not in err
    assert "confirmatory.csv" in err and "dse-study confirmatory export" in err


def test_the_power_step_regenerates_the_committed_file_and_takes_only_out():
    from analysis import study_cli
    from analysis.study import load_study

    assert study_cli.run(["baselines", "power", "--check"]) == 0
    with pytest.raises(ValueError, match=r"^power.regime: 'proxy' is not allowed; leave it out"):
        load_study("baselines", ["+power.regime=proxy"])
    with pytest.raises(ValueError, match=r"^power.kind: 'folds' is not allowed; use one of "
                                         r"pilot, seeds"):
        load_study("baselines", ["power.kind=folds"])


def test_the_results_block_shows_each_models_committed_errors_and_mean():
    """docs/RESULTS.md's block ``baselines`` (analysis.baselines_tables) is what the committed
    run export and verdicts give, one row per model with its seeds' errors and their mean."""
    from analysis import baselines_tables, study_cli

    root = Path(__file__).resolve().parents[1]
    inp = baselines_tables.load(root / "results")
    text = baselines_tables.baselines_block(inp)
    runs = inp.runs[inp.runs["status"] == "ok"]
    for label, g in runs.groupby("design_space"):
        name = inp.study.name_of(label)
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {name}"))
        assert f"| {g['error'].mean():.2f} |" in line
        assert " / ".join(f"{e:.2f}" for e in g.sort_values("train_seed")["error"]) in line
    for _, v in inp.verdicts.iterrows():
        assert f"`{v['id']}`" in text and f"**{v['verdict']}**" in text
    assert study_cli.run(["baselines", "docs", "--check"]) == 0
