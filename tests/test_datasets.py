"""The dataset registry (train.datasets, docs/TRAINING.md "Adding a dataset"): one entry per
dataset that every consumer reads (key checks, loading, the record's data seed, the run's
identity), and run ids that stay what they were before the registry existed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import conf
from anynet.record import make_identity, record_identity, run_id
from train.data import COMMON_KEYS, DataError, load_dataset
from train.datasets import DATASETS, DatasetEntry, dataset_entry

ROOT = Path(__file__).resolve().parents[1]

# The run id of each dataset's shipped config (conf/data/<name>.yaml, placeholders filled as in
# OVERRIDES) under one fixed spec and regime, computed by the code before the registry
# (EXTRA_KEYS, anynet.record.DATA_NON_IDENTITY_KEYS): a changed id is a broken result.
OVERRIDES = {"cifar10": ["data.root=/data/cifar"],
             "imagefolder": ["data.root=/data/f", "data.num_classes=2"],
             "imagefolder_stream": ["data.root=/data/f", "data.num_classes=2"]}
RUN_IDS = {
    "mnist5k": "proxy-s0-26321be41dec",
    "digits": "proxy-s0-bdb6e58da130",
    "synthetic": "proxy-s0-67bc72c4b6a0",
    "fashion_mnist": "proxy-s0-384aed03be9c",
    "cifar10": "proxy-s0-cfc3e5945909",
    "imagefolder": "proxy-s0-a62ad8cff7c4",
    "imagefolder_stream": "proxy-s0-4a47128bcf37",
}


def shipped(name: str, *overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        cfg = compose("config", [f"data={name}", *OVERRIDES.get(name, []), *overrides])
    return OmegaConf.to_container(cfg.data, resolve=True)


def rid(data: dict) -> str:
    """The run id as `train.runner.run_job` builds it (the entry supplies the location keys)."""
    return run_id(make_identity(
        spec={"depths": [1]}, data=data, location_keys=dataset_entry(data).location_keys,
        regime={"name": "proxy", "lr": 0.1}, train_seed=0, precision="fp32", threads=1,
        channels_last=True, device_kind="cpu"))


def test_every_shipped_config_is_an_entry_with_its_keys():
    files = {p.stem for p in (ROOT / "conf" / "data").glob("*.yaml")}
    assert files == set(DATASETS)
    for name, entry in DATASETS.items():
        assert entry.name == name
        keys = OmegaConf.load(ROOT / "conf" / "data" / f"{name}.yaml").keys()
        assert set(keys) == set(COMMON_KEYS + entry.keys), name


def test_every_entry_has_its_doc_line():
    text = (ROOT / "docs" / "TRAINING.md").read_text()
    table = set(re.findall(r"^\| `(\w+)`", text, flags=re.M))
    assert set(DATASETS) <= table


@pytest.mark.parametrize("name", sorted(RUN_IDS))
def test_run_ids_of_every_dataset_are_unchanged(name, monkeypatch):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    data = shipped(name)
    assert rid(data) == RUN_IDS[name]
    entry = DATASETS[name]
    for key in entry.location_keys:  # where and how fast: never part of the identity
        other = {"cache_dir": "/elsewhere", "workers": 7, "prefetch": 5}[key]
        assert rid({**data, key: other}) == RUN_IDS[name], key
    if entry.seed_key is not None:  # the seed is
        assert rid({**data, entry.seed_key: 12345}) != RUN_IDS[name]


def test_location_keys_are_the_ones_the_identity_left_out_before():
    """`anynet.record.DATA_NON_IDENTITY_KEYS` was {"*": cache_dir, imagefolder_stream: workers,
    prefetch}; cache_dir is a key of mnist5k alone, so per entry the sets are the same."""
    assert {n: e.location_keys for n, e in DATASETS.items() if e.location_keys} == {
        "mnist5k": ("cache_dir",), "imagefolder_stream": ("workers", "prefetch")}
    assert [n for n, e in DATASETS.items() if "cache_dir" in e.keys] == ["mnist5k"]


@pytest.mark.parametrize("name", sorted(RUN_IDS))
def test_data_seed_is_the_one_the_runner_guessed_before(name, monkeypatch):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    data = {**shipped(name), **({DATASETS[name].seed_key: 7} if DATASETS[name].seed_key else {})}
    before = data.get("split_seed", data.get("seed"))  # train.runner before the registry
    assert DATASETS[name].data_seed(data) == before
    assert DATASETS[name].data_seed({"name": name}) is None  # as given, not the default


def test_bad_name_and_keys_are_one_line_listing_what_is_allowed():
    allowed = ("mnist5k, digits, synthetic, fashion_mnist, cifar10, imagefolder, "
               "imagefolder_stream")
    for name in ("nope", None, ["mnist5k"]):
        with pytest.raises(DataError) as e:
            dataset_entry({"name": name})
        assert str(e.value) == f"data.name: {name!r} is not a dataset; allowed: {allowed}"
    with pytest.raises(DataError) as e:
        load_dataset({**shipped("digits"), "colour": 1, "cache_dir": None})
    assert str(e.value) == (
        "data: unknown key(s) ['cache_dir', 'colour'] for digits; allowed: ['name', "
        "'resolution', 'channels', 'num_classes', 'crop_padding', 'flip', 'split_seed', "
        "'test_size']")


def test_an_entry_that_contradicts_itself_is_refused():
    def load(cfg, common):
        raise AssertionError("never called")

    with pytest.raises(ValueError, match=r"seed_key 'seed' is not one of its keys \['root'\]"):
        DatasetEntry("x", ("root",), load, seed_key="seed")
    with pytest.raises(ValueError, match=r"location keys \['cache'\] are not among its keys"):
        DatasetEntry("x", ("root",), load, location_keys=("cache",))
    with pytest.raises(ValueError, match=r"keys \['flip'\] are common keys"):
        DatasetEntry("x", ("flip",), load)
    with pytest.raises(TypeError):  # read-only: an entry is added in the table, not at runtime
        DATASETS["x"] = DatasetEntry("x", (), load)  # type: ignore[index]


def test_a_record_without_an_identity_is_read_without_the_registry():
    """Records written before identities existed (mnist5k's cache folder the one location key
    then): analysis reads them through anynet.record alone."""
    data = shipped("mnist5k", "data.cache_dir=/somewhere")
    legacy = {"spec": {"depths": [1]}, "regime": {"name": "proxy", "lr": 0.1},
              "data": {**data, "train_size": 2500, "mean": [0.13], "std": [0.3]},
              "seeds": {"train": 0}, "threads": 1, "channels_last": True, "device": "cpu"}
    assert run_id(record_identity(legacy)) == RUN_IDS["mnist5k"]


def test_the_runner_reads_the_entry_for_seed_and_identity(tmp_path):
    """A trained run: its record's data seed is the entry's seed key's value and its identity's
    data is the config less the entry's location keys (none for synthetic); a bad key is
    refused before the run's folder exists."""
    from train.runner import run

    spec = ("{depths:[1],widths:[8],bottleneck_ratios:[1],group_widths:[8],strides:[2],"
            "stem_width:8}")
    fast = [f"sweep.dir={tmp_path}", f"spec={spec}", "data=synthetic", "data.train_size=32",
            "data.test_size=16", "data.seed=3", "regime.epochs=1", "regime.batch_size=16",
            "train.progress=none"]
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        cfg = compose("config", fast)
        bad = compose("config", [*fast, "+data.cache_dir=/x"])
    record = run(cfg)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    assert record["status"] == "ok" and record["seeds"]["data"] == 3
    assert record["identity"]["data"] == data
    made = sorted(tmp_path.rglob("*"))
    with pytest.raises(DataError, match=r"^data: unknown key\(s\) \['cache_dir'\] for synthetic"):
        run(bad)
    assert sorted(tmp_path.rglob("*")) == made
