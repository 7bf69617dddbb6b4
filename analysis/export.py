"""Export a sweep to Optuna, so that its tools work on a design-space population: one study
per design space, one completed trial per ok model whose value is the model's error and whose
params are the spec's per-stage values (d1..dn, w1..wn, b1..bn, g1..gn). Then, e.g.,
``optuna.visualization.plot_edf(list(studies.values()))`` draws the error EDFs ([DDS] Eq. 1)
and ``plot_param_importances`` / ``plot_slice`` the trends.

Optional extra ``optuna`` (``pip install -e ".[optuna]"``); optuna is imported only here.

    python -m analysis.export SWEEP_DIR sqlite:///sweep.db   # then optuna-dashboard sqlite:///…
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .sweep import load_sweep, ok_rows

STAGE_PARAMS = ("d", "w", "b", "g")  # per-stage columns of load_sweep: d1..dn, ...
USER_ATTRS = ("index", "flops", "params", "acts", "depth", "min_error", "path")


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ValueError("optuna is not installed; pip install 'anynet-dse[optuna]'") from None
    return optuna


def param_columns(df: pd.DataFrame) -> list[str]:
    """The flattened spec columns present in `df` (d1.., w1.., b1.., g1..)."""
    return [c for c in df.columns if isinstance(c, str) and len(c) > 1 and
            c[0] in STAGE_PARAMS and c[1:].isdigit()]


def _distributions(rows: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """One distribution per param spanning the values seen: integers for d and w (log for w,
    as the spaces draw widths log-uniformly) and g, floats for b."""
    optuna = _optuna()
    out = {}
    for c in columns:
        v = pd.to_numeric(rows[c], errors="coerce").dropna().to_numpy(float)
        if v.size == 0:
            continue
        lo, hi = float(v.min()), float(v.max())
        if c[0] == "b" or not np.all(np.mod(v, 1) == 0):
            out[c] = optuna.distributions.FloatDistribution(lo, hi)
        else:
            out[c] = optuna.distributions.IntDistribution(int(lo), int(hi),
                                                          log=c[0] == "w" and lo >= 1)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return v


def to_optuna(df: pd.DataFrame, metric: str = "error", storage: str | None = None,
              prefix: str = "") -> dict[str, Any]:
    """One `optuna.Study` per design space with ok models (named `prefix` + space; direction
    minimize), each ok model a COMPLETE trial: value = `metric`, params = its per-stage spec,
    user attrs = index, complexity, depth, min_error and record path. `storage`: an Optuna
    storage URL (e.g. ``sqlite:///sweep.db``), None for in memory. A study that already exists
    in `storage` is refused (ValueError), so trials are never added twice."""
    optuna = _optuna()
    if metric not in df.columns:
        raise ValueError(f"metric: {metric!r} is not a column of the sweep")
    ok = ok_rows(df, metric)
    columns = param_columns(ok)
    studies = {}
    for space, rows in ok.groupby("design_space", sort=True):
        name = f"{prefix}{space}"
        try:
            study = optuna.create_study(study_name=name, storage=storage,
                                        direction="minimize")
        except optuna.exceptions.DuplicatedStudyError:
            raise ValueError(f"storage: study {name!r} already exists in {storage}; use "
                             "another prefix or storage") from None
        dists = _distributions(rows, columns)
        trials = []
        for _, row in rows.iterrows():
            params = {c: _plain(row[c]) for c in dists if _plain(row[c]) is not None}
            params = {c: int(v) if isinstance(dists[c], optuna.distributions.IntDistribution)
                      else float(v) for c, v in params.items()}
            attrs = {k: _plain(row[k]) for k in USER_ATTRS if k in row.index}
            trials.append(optuna.trial.create_trial(
                params=params, distributions={c: dists[c] for c in params},
                value=float(row[metric]), user_attrs=attrs,
                state=optuna.trial.TrialState.COMPLETE))
        study.add_trials(trials)
        studies[str(space)] = study
    return studies


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m analysis.export SWEEP_DIR STORAGE_URL [PREFIX]``: one line per study."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        print("usage: python -m analysis.export SWEEP_DIR STORAGE_URL [PREFIX]",
              file=sys.stderr)
        sys.exit(2)
    try:
        studies = to_optuna(load_sweep(args[0]), storage=args[1],
                            prefix=args[2] if len(args) == 3 else "")
    except ValueError as exc:
        print(f"analysis.export: {str(exc).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    for space, study in studies.items():
        print(f"{study.study_name}: {len(study.trials)} trials, best {study.best_value:g} "
              f"({space})")


if __name__ == "__main__":
    main()
