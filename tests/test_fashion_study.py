"""The Fashion-MNIST study (issue 21, item 4) trains what was fixed before its records:
conf/experiment/fashion_study.yaml composes to the proxy that the screen's stage 3 chose
(docs/REGIME.md, the same data and regime as that candidate's committed screen records), the
plan's n_per_space models of each space from index 24 on, under training seed 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import conf

ROOT = Path(__file__).resolve().parents[1]


def _composed() -> dict:
    with initialize_config_dir(config_dir=str(conf.path()), version_base=None):
        cfg = compose("config", ["+experiment=fashion_study"], return_hydra_config=True)
        return OmegaConf.to_container(cfg, resolve=False)


def test_the_study_trains_the_chosen_proxy_at_the_plans_n():
    chosen = re.search(r"\*\*Chosen proxy: `(\w+)`\*\*", (ROOT / "docs" / "REGIME.md").read_text())
    assert chosen is not None
    plan = yaml.safe_load((ROOT / "conf" / "plan" / "fashion.yaml").read_text())
    n = plan["n_per_space"]
    assert isinstance(n, int) and n >= 24
    cfg = _composed()
    params = cfg["hydra"]["sweeper"]["params"]
    assert params["sample.index"] == f"range(24,{24 + n})"   # 0-23 were the screen's models
    assert params["design_space"].split(",") == [
        "anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]
    assert str(params["train.seed"]) == "0"
    assert cfg["sweep"]["plan"] == "fashion" and cfg["regime"]["name"] == chosen.group(1)
    # the same data and regime as the chosen candidate's screen runs
    record = next((ROOT / "results" / "fashion" / "records" / chosen.group(1)).rglob(
        "record.json"))
    identity = json.loads(record.read_text())["identity"]
    for group, key in (("data", "train_size"), ("regime", "epochs")):
        shared = set(identity[group]) & set(cfg[group]) - {"root"}
        assert {"name", key} <= shared
        assert {k: cfg[group][k] for k in shared} == {k: identity[group][k] for k in shared}
