"""Populations of one space that a sweep varies on purpose (block, activation, stem, stages, flop
regime) load as separate groups under their population labels (anynet.labels), real mismatches
are refused, old records load with the paper's defaults; the ResNe(X)t baselines train by name.

Records are real record.json files (analysis.testing.write_record) whose specs and populations
come from the real sampling path: the composed config (block=, window=, design_space.*), the
space it builds and the population `train.job` records."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

import conf
from analysis import load_sweep, with_fits
from analysis.propose import propose_regnet
from analysis.provenance import provenance_of
from analysis.report import ReportSettings, file_name, write_report
from analysis.stats import space_summary
from analysis.testing import write_record
from anynet import zoo
from anynet.labels import (
    Variant,
    named_block,
    population_label,
    regime_name,
    variant_of,
    variant_settings,
)
from sampling import space_from_config
from train.job import population_of, resolve_job
from train.settings import ConfigError

ROOT = Path(__file__).resolve().parent.parent
# The populations are drawn at the synthetic records' data (analysis.testing.DEFAULT_DATA).
AT_DATA = ["design_space.resolution=32", "design_space.in_channels=3",
           "design_space.num_classes=10"]


def population(sweep: Path, space: str, overrides: list[str], errors: list[float],
               seed: int = 0) -> list[Path]:
    """Members 0..n-1 of `space` under `overrides`, drawn as dse-train draws them, each with
    its population and a chosen error."""
    cfg = conf.compose_plain("space", [f"design_space={space}", *AT_DATA, *overrides])
    drawn = space_from_config(cfg["design_space"])
    pop = population_of(drawn, seed)
    return [write_record(sweep, space, i, drawn.sample(i, seed), float(e), population=pop)
            for i, e in enumerate(errors)]


# -- labels ----------------------------------------------------------------------------------

def test_label_names_what_differs_from_the_paper():
    assert population_label("regnetx", Variant()) == "regnetx"
    assert population_label("regnetx", Variant(block="X", window="360M-400M")) == "regnetx"
    assert population_label("regnety", Variant(block="Y")) == "regnety"
    assert population_label("regnety", Variant(block="X")) == "regnety[X]"
    assert population_label("regnetx", Variant(block="Y")) == "regnetx[Y]"
    assert population_label("anynetx_e", Variant(block="R+SE")) == "anynetx_e[R+SE]"
    every = Variant(block="V", activation="silu", stem_type="resnet", stages=5, regime="800MF")
    assert population_label("regnetx", every) == "regnetx[V, silu, resnet stem, 5 stages, 800MF]"
    assert [named_block(s) for s in ("regnetx", "RegNetY", "anynetx_a", "tiny", "regnet_prop")] \
        == ["X", "Y", "X", "X", "X"]
    assert [regime_name(h) for h in (2e8, 8e8, 1.6e9, 4e9, 1.2e10)] == \
        ["200MF", "800MF", "1.6GF", "4.0GF", "12GF"]


def test_variant_sweep_loads_as_separate_groups(tmp_path):
    """One sweep.dir holding regnetx at the paper's settings and under block=v, block=y,
    window=800mf, activation silu and 5 stages, and regnety: seven groups."""
    runs = {"regnetx": [], "regnetx[V]": ["block=v"], "regnetx[Y]": ["block=y"],
            "regnetx[800MF]": ["window=800mf"], "regnetx[silu]": ["design_space.activation=silu"],
            "regnetx[5 stages]": ["design_space.stages=5"]}
    for k, overrides in enumerate(runs.values()):
        population(tmp_path, "regnetx", overrides, [30.0 + k + i / 10 for i in range(3)])
    population(tmp_path, "regnety", [], [20.0, 21.0, 22.0])
    df = load_sweep(tmp_path)
    groups = df.groupby("design_space")
    assert sorted(groups.groups) == sorted([*runs, "regnety"])
    assert groups.size().eq(3).all()
    assert set(df.loc[df.design_space != "regnety", "space"]) == {"regnetx"}
    one = groups.first()
    assert one.loc["regnetx", ["block", "block_type", "activation", "stem_type", "stages",
                               "window"]].tolist() == ["X", "X", "relu", "simple", 4,
                                                       "360M-400M"]
    assert one.loc["regnetx[V]", ["block", "block_type", "b", "se_ratio"]].tolist() == \
        ["V", "V", 1.0, 0.0]
    assert (one.loc["regnetx[Y]", "block"], one.loc["regnety", "block"]) == ("Y", "Y")
    assert one.loc["regnetx[800MF]", "window"] == "720M-800M"
    assert one.loc["regnetx[silu]", "activation"] == "silu"
    five = df[df.design_space == "regnetx[5 stages]"]
    assert five["stages"].eq(5).all() and five["d5"].notna().all()
    assert df.loc[df.design_space != "regnetx[5 stages]", "d5"].isna().all()
    # every statistic that groups by design space keeps them apart
    summary = space_summary(df).set_index("design_space")
    assert summary.loc["regnetx[800MF]", "n"] == 3 and summary.loc["regnety", "n"] == 3
    assert summary.loc["regnety", "min"] == 20.0 and summary.loc["regnetx", "min"] == 30.0


def test_a_mismatch_the_labels_do_not_show_is_refused(tmp_path):
    population(tmp_path / "seed", "regnetx", [], [30.0, 31.0])
    population(tmp_path / "seed", "regnetx", ["window=800mf"], [25.0, 26.0], seed=1)
    with pytest.raises(ValueError) as err:
        load_sweep(tmp_path / "seed")
    line = str(err.value)
    assert "\n" not in line and line.startswith(
        "sweep: design space 'regnetx' has populations regnetx and regnetx[800MF] that differ "
        "in more than their labels show: sample_seed (0 vs 1). Analyse them apart")
    assert "allow_mixed=[population]" in line
    assert set(load_sweep(tmp_path / "seed", allow_mixed=["population"]).design_space) == \
        {"regnetx", "regnetx[800MF]"}
    # one label, two populations: refused as before, naming the settings
    population(tmp_path / "same", "regnetx", [], [30.0, 31.0])
    population(tmp_path / "same", "regnetx", ["design_space.constraints.increasing_widths=true"],
               [25.0, 26.0])
    with pytest.raises(ValueError, match=r"^sweep: design space 'regnetx' pools 2 populations "
                       r".*settings that differ: design_space\.constraints\.increasing_widths "
                       r"\(false vs true\)"):
        load_sweep(tmp_path / "same")
    # a block group changes the b and g domains with the block: shown by the label
    population(tmp_path / "block", "regnetx", [], [30.0, 31.0])
    population(tmp_path / "block", "regnetx", ["block=v"], [35.0, 36.0])
    assert set(load_sweep(tmp_path / "block").design_space) == {"regnetx", "regnetx[V]"}


def test_records_written_before_the_keys_load_with_the_defaults(tmp_path):
    """A committed Fashion-MNIST record (written before block, activation, stem and flop
    regimes existed), and the same record before populations existed."""
    src = next((ROOT / "results/fashion/records").rglob("record.json"))
    old = json.loads(src.read_text())
    assert not {"block_type", "activation", "stem_type"} & set(old["spec"])
    assert "block_type" not in old["population"]["settings"]["design_space"]
    shutil.copytree(src.parent, tmp_path / "regnetx" / "0" / src.parent.name)
    older = dict(old, population=None)
    folder = tmp_path / "anynetx_a" / "0" / src.parent.name
    folder.mkdir(parents=True)
    (folder / "record.json").write_text(json.dumps(dict(older, design_space={
        "name": "anynetx_a", "config": old["design_space"]["config"]})))
    df = load_sweep(tmp_path)
    assert df["design_space"].tolist() == ["anynetx_a", "regnetx"]
    for _, row in df.iterrows():
        assert (row.block, row.block_type, row.activation, row.stem_type, row.stages,
                row.window) == ("X", "X", "relu", "simple", 4, "360M-400M")
    assert variant_of({"spec": old["spec"]}) == Variant()  # no config at all


# -- report, provenance, propose -------------------------------------------------------------

@pytest.fixture(scope="module")
def regimes(tmp_path_factory) -> pd.DataFrame:
    """regnetx at 400MF and 800MF, 8 models each, the larger models 4 points better."""
    sweep = tmp_path_factory.mktemp("regimes")
    rng = np.random.default_rng(0)
    population(sweep, "regnetx", [], list(34 + rng.normal(0, 1, 8)))
    population(sweep, "regnetx", ["window=800mf"], list(30 + rng.normal(0, 1, 8)))
    return load_sweep(sweep)


def test_report_and_provenance_name_the_groups(regimes, tmp_path):
    rows = dict(provenance_of(regimes).rows())
    assert rows["window"] == "360M-400M (8 records); 720M-800M (8 records)"
    assert "block" not in rows and "stages" not in rows  # at the paper's values
    settings = ReportSettings(n_boot=50, fit=False, curves=0, params=("depth",),
                              complexity=("flops",))
    path = write_report(regimes, tmp_path, settings)
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    assert set(pairs["a"]) | set(pairs["b"]) == {"regnetx", "regnetx[800MF]"}
    finished = pairs[pairs.view == "finished"].iloc[0]
    assert abs(finished.median_diff) > 2  # 4 points apart by construction
    text = path.read_text()
    assert "regnetx[800MF]" in text and "Records differ in window" not in text
    assert (tmp_path / "figures" / f"trends_{file_name('regnetx[800MF]')}.png").is_file()
    assert file_name("regnetx[5 stages]") == "regnetx_5_stages_"
    assert file_name("anynetx_a") == "anynetx_a"


def test_propose_works_on_one_group_and_keeps_its_settings(regimes):
    large = regimes.design_space == "regnetx[800MF]"
    frame = pd.concat([with_fits(regimes[large]), regimes[~large]])  # 8 fits, reused below
    p = propose_regnet(frame, spaces=["regnetx[800MF]"], write=False, n=200)
    assert p.n_models == 8 and p.source == "the best of regnetx[800MF]"
    assert p.settings == {"complexity": {"reference": {"flops": [720000000, 800000000],
                                                       "resolution": 224}}}
    assert p.config()["complexity"] == p.settings["complexity"]
    # without spaces: the best model's group (800MF) only, not a pool of two regimes
    assert propose_regnet(frame, write=False, n=200) == p
    paper = json.loads(Path(regimes.loc[~large, "path"].iloc[0]).read_text())
    assert variant_settings(paper) == {}  # a proposal at the paper's settings adds nothing


def test_a_proposed_v_space_samples_v_blocks(tmp_path, monkeypatch):
    population(tmp_path / "sweep", "regnetx", ["block=v"], [30.0 + i for i in range(8)])
    df = load_sweep(tmp_path / "sweep")
    out = tmp_path / "conf" / "design_space" / "regnet_v.yaml"
    p = propose_regnet(df, name="regnet_v", path=out, n=200)
    saved = OmegaConf.to_container(OmegaConf.load(out))
    assert saved["block_type"] == "V"
    assert saved["domains"]["bottleneck_ratio"] == {"dist": "choice", "values": [1]}
    assert p.domains["group_width"] == saved["domains"]["group_width"]
    monkeypatch.setenv(conf.USER_CONF_ENV, str(tmp_path / "conf"))
    cfg = conf.compose_plain("space", [f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
                                       "design_space=regnet_v", *AT_DATA])
    spec = space_from_config(cfg["design_space"]).sample(0, 0)
    assert spec.block == "V" and set(spec.bottleneck_ratios) == {1.0}


# -- the ResNe(X)t baselines by name ---------------------------------------------------------

def _job(tmp_path: Path, *overrides: str):
    return resolve_job(conf.compose_plain("config", ["data=synthetic", *overrides]), None,
                       tmp_path)


def test_baselines_resolve_by_name(tmp_path):
    job = _job(tmp_path, "model=resnet50")
    assert job.model == job.label == "ResNet-50" and job.model_dir == tmp_path / "ResNet-50"
    assert job.spec == zoo.get("ResNet-50", in_channels=1, num_classes=4)
    assert job.spec.to_dict()["block_type"] == "R" and job.spec.to_dict()["stem_type"] == "resnet"
    assert _job(tmp_path, "model=resnext50_32x4d").model == "ResNeXt-50-32x4d"
    assert _job(tmp_path, "model=ResNeXt-101-32x4d").spec.group_widths == (4, 8, 16, 32)
    assert _job(tmp_path, "model=regnetx_200mf").model == "RegNetX-200MF"
    assert [zoo.resolve(n) for n in zoo.baselines()] == zoo.baselines()
    with pytest.raises(ConfigError, match=r"^model: 'resnet51' is not in the zoo; allowed: .*"
                       r"ResNet-50, ResNet-101, ResNet-152, ResNeXt-50-32x4d"):
        _job(tmp_path, "model=resnet51")


def test_precheck_accepts_a_baseline_and_refuses_a_bad_name_in_a_sweep(capsys):
    from sampling.precheck import precheck
    from train.cli import _validate

    first = precheck("dse-train", "config", ["model=resnet50", "data=synthetic"],
                     validate=_validate)
    assert first["model"] == "resnet50"
    with pytest.raises(SystemExit) as stop:
        precheck("dse-train", "config", ["-m", "model=ResNet-50,resnet51", "data=synthetic"],
                 validate=_validate)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dse-train: error: model: 'resnet51' is not in the zoo")
    assert "\n" not in err


def test_a_baseline_trains_at_a_tiny_input(tmp_path):
    """ResNet-50 (23.5 M parameters) on 8-px synthetic data: one step of one epoch."""
    import torch

    from train.runner import run

    torch.set_num_threads(1)
    start = time.perf_counter()
    cfg = OmegaConf.create(conf.compose_plain("config", [
        f"sweep.dir={tmp_path}", "model=resnet50", "data=synthetic", "data.resolution=8",
        "data.train_size=16", "data.test_size=16", "regime.epochs=1", "regime.batch_size=16",
        "train.progress=none"]))
    record = run(cfg)
    assert record["status"] == "ok" and record["model"] == "ResNet-50"
    assert record["spec"]["block_type"] == "R" and record["spec"]["stem_type"] == "resnet"
    row = load_sweep(tmp_path).iloc[0]
    assert (row.design_space, row.block, row.stem_type, row.stages) == \
        ("ResNet-50", "R", "resnet", 4)
    assert pd.isna(row.window) and row.params == record["complexity"]["params"]
    assert time.perf_counter() - start < 30
