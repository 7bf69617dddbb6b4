"""load_sweep: real record.json files of synthetic sweeps (analysis.testing)."""

from __future__ import annotations

import json

import pytest

from analysis import SweepWarning, load_sweep
from analysis.testing import DEFAULT_REGIME, write_record
from anynet import AnyNetSpec, zoo

SPEC = AnyNetSpec(depths=[1, 2, 3, 4], widths=[16, 32, 64, 128], bottleneck_ratios=[1, 1, 2, 2],
                  group_widths=[8, 8, 16, 16], num_classes=10)
SPEC3 = AnyNetSpec(depths=[2, 2, 5], widths=[24, 48, 96], bottleneck_ratios=[1, 1, 1],
                   group_widths=[8, 8, 8], strides=[2, 2, 2], num_classes=10)


def test_flattens_one_row_per_record(tmp_path):
    write_record(tmp_path, "anynetx_a", 0, SPEC, 40.0)
    write_record(tmp_path, "anynetx_a", 1, SPEC, 35.0, status="diverged")
    write_record(tmp_path, "anynetx_b", 0, SPEC3, 30.0)
    df = load_sweep(tmp_path)
    assert len(df) == 3
    a0 = df[(df.design_space == "anynetx_a") & (df["index"] == 0)].iloc[0]
    assert a0.status == "ok" and a0.error == 40.0 and a0.min_error == 40.0
    assert [a0[f"d{i}"] for i in range(1, 5)] == [1, 2, 3, 4]
    assert [a0[f"w{i}"] for i in range(1, 5)] == [16, 32, 64, 128]
    assert [a0[f"b{i}"] for i in range(1, 5)] == [1.0, 1.0, 2.0, 2.0]
    assert [a0[f"g{i}"] for i in range(1, 5)] == [8, 8, 16, 16]
    assert a0.depth == 10 and a0.wr1 == 2.0 and a0.b == 2.0 and a0.g == 16
    assert a0.flops > 0 and a0.params > 0 and a0.acts > 0 and a0.wall_seconds == 1.0
    assert df.loc[df.status == "diverged", "error"].isna().all()
    b0 = df[df.design_space == "anynetx_b"].iloc[0]  # three stages: d1..d3, no d4
    assert (b0.d1, b0.d2, b0.d3, b0.depth, b0.num_stages) == (2, 2, 5, 9, 3)
    assert b0.isna()["d4"] and b0.isna()["wr3"]


def test_zoo_and_spec_records_are_picked_up(tmp_path):
    path = write_record(tmp_path, "regnetx", 3, SPEC, 33.0)
    assert path.parent.parent == tmp_path / "regnetx" / "3"  # <space>/<index>/<run id>/
    write_record(tmp_path, None, None, zoo.get("RegNetX-200MF", num_classes=10), 31.0,
                 model="RegNetX-200MF")
    df = load_sweep(tmp_path)
    zoo_row = df[df.design_space == "RegNetX-200MF"].iloc[0]
    assert zoo_row.model == "RegNetX-200MF" and zoo_row.depth == 13
    assert zoo_row.isna()["index"]
    # a record naming no space (dse-train spec=...) is named after its folder
    rec = json.loads(path.read_text())
    rec["design_space"] = None
    (tmp_path / "spec-abc" / "run").mkdir(parents=True)
    (tmp_path / "spec-abc" / "run" / "record.json").write_text(json.dumps(rec))
    assert "spec-abc" in set(load_sweep(tmp_path).design_space)


def test_unreadable_and_partial_files_are_skipped_with_a_warning(tmp_path):
    write_record(tmp_path, "anynetx_a", 0, SPEC, 40.0)
    bad = tmp_path / "anynetx_a" / "1" / "record.json"
    bad.parent.mkdir()
    bad.write_text('{"status": "ok", "spec": ')  # truncated
    partial = tmp_path / "anynetx_a" / "2" / "record.json"
    partial.parent.mkdir()
    partial.write_text(json.dumps({"status": "ok", "error": 3.0}))  # no spec
    (tmp_path / "anynetx_a" / "0" / ".record.json.x.tmp").write_text("{")  # ignored
    hydra_copy = tmp_path / ".hydra" / "x" / "record.json"  # Hydra's folder is not a run
    hydra_copy.parent.mkdir(parents=True)
    hydra_copy.write_text("{")
    with pytest.warns(SweepWarning) as caught:
        df = load_sweep(tmp_path)
    assert len(df) == 1
    messages = " ".join(str(w.message) for w in caught)
    assert str(bad) in messages and str(partial) in messages


def test_mixed_regimes_or_data_are_refused_naming_the_fields(tmp_path):
    write_record(tmp_path, "anynetx_a", 0, SPEC, 40.0)
    write_record(tmp_path, "anynetx_a", 1, SPEC, 41.0, regime={**DEFAULT_REGIME, "epochs": 10})
    write_record(tmp_path, "anynetx_b", 0, SPEC, 42.0,
                 data={"name": "mnist5k", "resolution": 32, "channels": 3, "num_classes": 10})
    with pytest.raises(ValueError) as err:
        load_sweep(tmp_path)
    assert "regime.epochs" in str(err.value) and "data.name" in str(err.value)
    assert "allow_mixed" in str(err.value)
    assert len(load_sweep(tmp_path, allow_mixed=True)) == 3
    assert len(load_sweep(tmp_path, allow_mixed=["regime", "data"])) == 3
    with pytest.raises(ValueError, match="data.name"):
        load_sweep(tmp_path, allow_mixed=["regime"])


def test_runs_of_another_seed_are_kept_apart_and_not_pooled(tmp_path):
    a = write_record(tmp_path, "anynetx_a", 0, SPEC, 40.0, seed=0)
    b = write_record(tmp_path, "anynetx_a", 0, SPEC, 44.0, seed=1)
    assert a != b and a.parent.parent == b.parent.parent  # one folder per run identity
    with pytest.raises(ValueError, match=r"train_seed \(0, 1\)"):
        load_sweep(tmp_path)
    df = load_sweep(tmp_path, allow_mixed=["train_seed"])
    assert sorted(df.train_seed) == [0, 1] and sorted(df.error) == [40.0, 44.0]
    assert set(df.run_id) == {a.parent.name, b.parent.name}
    assert (df.stem_stride == 2).all() and (df.strides == "2,2,2,2").all()
    assert (df.precision == "fp32").all() and (df.threads == 1).all()


def test_empty_and_missing_dirs(tmp_path):
    assert load_sweep(tmp_path).empty
    with pytest.raises(ValueError, match="not a directory"):
        load_sweep(tmp_path / "nope")
