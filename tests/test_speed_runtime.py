"""``dse-speed runtime measure|fit`` (train.speed.predictors): from a runtime CSV to the fit
table, the Fig. 12 figure and loadable profiles that a design space uses; one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anynet import complexity
from sampling import load_design_space
from sampling.latency import load_profile, predict_latency
from train.speed import cli


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    """Counts of real RegNetX members at two windows, runtimes from known cost models."""
    tmp_path = tmp_path_factory.mktemp("runtime")
    rows = []
    for window, flops in (("0.2-0.4GF", "[200000000,400000000]"),
                          ("0.4-0.8GF", "[400000000,800000000]")):
        sp = load_design_space("regnetx", [f"design_space.complexity.flops={flops}"])
        for s in sp.sample_many(range(12), seed=0).samples:
            cx = complexity(s.spec)
            rows.append({"window": window, "index": s.index, **cx,
                         "infer_b1_ms": 2 + 30 * cx["flops"] / 1e9 + 3 * cx["acts"] / 1e6,
                         "ort_b1_ms": 1 + 25 * cx["flops"] / 1e9})
    path = tmp_path / "runtime_models.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_fit_writes_table_figure_and_profiles(csv, tmp_path, capsys, monkeypatch):
    """The profiles go to the user's profile folder (here $ANYNET_DSE_PROFILES), where a design
    space finds them by name."""
    user = tmp_path / "user-profiles"
    monkeypatch.setenv("ANYNET_DSE_PROFILES", str(user))
    assert cli.run(["runtime", "fit", "--name", "toy", "--csv", str(csv), "--out-dir",
                    str(tmp_path)]) == 0
    assert sorted(p.name for p in user.iterdir()) == ["toy-infer_b1.json", "toy-ort_b1.json"]
    assert not (tmp_path / "profiles").exists()
    table = pd.read_csv(tmp_path / "runtime_fits.csv")
    assert set(table["runtime"]) == {"infer_b1_ms", "ort_b1_ms"} and len(table) == 14
    assert (tmp_path / "figures" / "runtime_fig12.png").stat().st_size > 10_000
    ort = load_profile(user / "toy-ort_b1.json")
    assert ort.runtime == "ONNX Runtime inference (CPU), batch 1" and ort.n_models == 24
    assert ort.cv_r2 == pytest.approx(1.0) and "flops" in ort.features
    infer = load_profile(user / "toy-infer_b1.json")
    frame = pd.read_csv(csv)
    np.testing.assert_allclose(predict_latency(infer, frame), frame["infer_b1_ms"], rtol=1e-6)
    out = capsys.readouterr().out
    assert "CV R² acts" in out and "toy-ort_b1.json" in out
    # the profile drives a design space by name
    space = load_design_space("regnetx", [
        "design_space.complexity.flops=[0,0]", "design_space.complexity.latency=[10,20]",
        "design_space.complexity.latency_profile=toy-ort_b1"])
    s = space.draw(0)
    assert 10 <= predict_latency(ort, s.complexity) <= 20


def test_fit_profile_dir_option(csv, tmp_path):
    assert cli.run(["runtime", "fit", "--name", "toy", "--csv", str(csv), "--out-dir",
                    str(tmp_path), "--profile-dir", str(tmp_path / "p")]) == 0
    assert load_profile(tmp_path / "p" / "toy-infer_b1.json").name == "toy-infer_b1"


def test_measure_one_model_per_window(tmp_path, capsys):
    """The cheapest population: the first member of each flop window, eager batch 1 only; the
    counts are the analytic ones of the sampled specs."""
    out = tmp_path / "models.csv"
    assert cli.run(["runtime", "measure", "--per-window", "1", "--warmup", "0", "--reps", "1",
                    "--no-onnx", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame["window"]) == ["0.2-0.4GF", "0.4-0.8GF", "0.8-1.6GF", "1.6-3.2GF",
                                      "3.2-4GF"]
    assert (frame["infer_b1_ms"] > 0).all() and not any(c.startswith("ort") for c in frame)
    first = load_design_space("regnetx", ["design_space.complexity.flops=[200000000,400000000]"])
    assert frame.loc[0, "flops"] == complexity(first.sample(0, 0))["flops"]
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {out} (5 models)"


@pytest.mark.parametrize("argv, message", [
    (["fit", "--name", "x", "--csv", "nope.csv"], "csv: 'nope.csv' does not exist"),
    (["fit", "--name", "a/b", "--csv", "CSV"], "name: 'a/b' is not allowed"),
    (["fit"], "the following arguments are required: --name"),
    (["measure", "--threads", "0"], "threads: 0 is not allowed"),
    (["measure", "--per-window", "0"], "per-window: 0 is not allowed"),
    (["measure", "--out", "."], "--out: cannot write . (a folder)"),
    (["bogus"], "argument step: invalid choice: 'bogus'"),
])
def test_bad_input_one_line(csv, tmp_path, capsys, argv, message):
    argv = [str(csv) if a == "CSV" else a for a in argv]
    if argv[0] == "fit" and "--name" in argv:
        argv += ["--out-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as e:
        cli.main(["runtime", *argv])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == ""
    assert err.startswith(f"dse-speed: error: {message}") and err.count("\n") == 1
