"""Export to Optuna (optional extra ``optuna``): one study per design space, one completed
trial per ok model, so that Optuna's own EDF plot shows the sweep's error EDFs."""

from __future__ import annotations

import numpy as np
import pytest

import analysis
from analysis.export import main, param_columns, to_optuna
from analysis.testing import synthetic_population, write_record
from anynet import zoo

optuna = pytest.importorskip("optuna")  # the extra: pip install -e ".[optuna]"


@pytest.fixture(scope="module")
def df(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    synthetic_population(d, "anynetx_a", 15, seed=1, shift=3.0, sorted_stages=False)
    synthetic_population(d, "anynetx_e", 10, seed=2)
    write_record(d, "anynetx_e", 99, zoo.get("RegNetX-200MF", num_classes=10), 0.0,
                 status="failed")
    return analysis.load_sweep(d)


def test_one_study_per_space_one_trial_per_ok_model(df):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = to_optuna(df)
    assert sorted(studies) == ["anynetx_a", "anynetx_e"]
    ok = analysis.ok_rows(df)
    for space, study in studies.items():
        rows = ok[ok.design_space == space].sort_values("index")
        trials = sorted(study.trials, key=lambda t: t.user_attrs["index"])
        assert len(trials) == len(rows)  # the failed model is not a trial
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        assert [t.value for t in trials] == rows.error.tolist()
        first, spec = trials[0], rows.spec.iloc[0]
        assert [first.params[f"w{i}"] for i in range(1, 5)] == list(spec["widths"])
        assert [first.params[f"d{i}"] for i in range(1, 5)] == list(spec["depths"])
        assert first.user_attrs["flops"] == rows.flops.iloc[0]
        assert study.best_value == rows.error.min()
        assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert param_columns(df) == [f"{p}{i}" for p in "dwbg" for i in range(1, 5)]


def test_optuna_plot_edf_draws_the_sweeps_edfs(df):
    pytest.importorskip("plotly")  # optuna.visualization needs it (part of the extra)
    studies = to_optuna(df)
    fig = optuna.visualization.plot_edf(list(studies.values()))
    ok = analysis.ok_rows(df)
    traces = {t.name: t for t in fig.data}
    for space in studies:
        ours = analysis.edf(ok[ok.design_space == space].error)
        trace = traces[space]
        assert np.allclose(trace.y, ours.at(np.asarray(trace.x)))


def test_storage_and_command(df, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    sweep_dir = str(df.path.iloc[0]).split("/anynetx_a/")[0]
    main([sweep_dir, url, "mine_"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("mine_anynetx_a: 15 trials, best ")
    loaded = optuna.load_study(study_name="mine_anynetx_e", storage=url)
    assert len(loaded.trials) == 10
    with pytest.raises(SystemExit):
        main([sweep_dir, url, "mine_"])  # never add the trials twice
    assert "study 'mine_anynetx_a' already exists" in capsys.readouterr().err
