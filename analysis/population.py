"""Computations on a population of trained models that figures and tables share (nothing here
draws): the best rows, the best models' width trend w_j = c·(j+1) ([DDS] Fig. 8), the rule
fitted to every ok model once, the guarded bootstrap of the best ([DDS] fn. 4), the per-epoch
training histories of the best and worst models of each space, and the views a comparison of
spaces is made in (all models, trained core, finished models; docs/ANALYSIS.md, "Trainability").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anynet.record import peek_record

from .fit import block_widths_of, fit_models
from .stats import bootstrap_best
from .sweep import ok_rows
from .trainability import all_models, trained_core

FIT_COLUMNS = ("fit_w0", "fit_wa", "fit_wm", "fit_wm_low", "fit_wm_high", "e_fit", "fit_widths")
HISTORY_FIELDS = ("train_loss", "train_error", "test_error")
# Views of a sweep in which spaces are compared: every model (one that did not finish counts as
# the worst), the models that trained, and the models that finished (status ok, any error).
VIEWS = {"all": "all models", "trained": "trained core", "finished": "finished models"}
# The bootstrap of the best draws max(1, int(0.25·n)) models: below 8 ok models every draw is
# ONE model picked uniformly, so the "best" is any model and the interval is the population's
# range. Fewer models than this: no interval (plots say so; propose_regnet refuses).
MIN_BOOTSTRAP_N = 8


def best_rows(df: pd.DataFrame, top: int, metric: str = "error") -> pd.DataFrame:
    """The `top` lowest-`metric` ok rows, best first."""
    return ok_rows(df, metric).nsmallest(top, metric)


def worst_rows(df: pd.DataFrame, top: int, metric: str = "error") -> pd.DataFrame:
    """The `top` highest-`metric` ok rows, worst first."""
    return ok_rows(df, metric).nlargest(top, metric)


@dataclass(frozen=True)
class WidthTrend:
    """The best models' per-block widths as the line w_j = c·(j+1), j = 0 … d − 1 ([DDS]
    Fig. 8 top left, where the paper finds c ≈ 48 at 224 px): `slope` c, the `models` it is
    fitted to and their `median_depth` (blocks)."""

    slope: float
    models: int
    median_depth: float

    def line(self, depth: int) -> np.ndarray:
        """c·(j+1) at blocks j = 0 … depth − 1."""
        return self.slope * (np.arange(depth) + 1)


def width_trend(df: pd.DataFrame, top: int = 20, metric: str = "error") -> WidthTrend:
    """Least squares through the origin of the per-block widths w_j of the best `top` ok
    models on (j+1): c = Σ (j+1)·w_j / Σ (j+1)² over all their blocks (the paper's form of the
    trend, [DDS] Fig. 8 top left; docs/PAPER.md, "population trend")."""
    widths = [np.asarray(block_widths_of(s), float) for s in best_rows(df, top, metric)["spec"]]
    if not widths:
        raise ValueError("width_trend: no ok model to fit a width trend to")
    j = np.concatenate([np.arange(len(w)) for w in widths])
    w = np.concatenate(widths)
    slope = float(np.sum((j + 1) * w) / np.sum((j + 1) ** 2))
    return WidthTrend(slope, len(widths), float(np.median([len(x) for x in widths])))


def with_fits(df: pd.DataFrame, metric: str = "error", q: int = 8) -> pd.DataFrame:
    """`df` with the quantized linear rule fitted to every ok row ([DDS] §3.3): columns
    fit_w0, fit_wa, fit_wm, fit_wm_low, fit_wm_high, e_fit, fit_widths (NaN for other rows).
    Rows that already carry a finite ``e_fit`` are not fitted again; the index of `df` is
    kept."""
    out = df.copy()
    for c in FIT_COLUMNS:
        if c not in out.columns:
            out[c] = pd.Series(np.nan, index=out.index, dtype=object if c == "fit_widths"
                               else float)
    if not len(out):
        return out
    ok = ok_rows(out, metric)
    todo = ok.index[pd.to_numeric(ok["e_fit"], errors="coerce").isna()]
    if len(todo):
        fitted = fit_models(out.loc[todo], q=q)
        for c in FIT_COLUMNS:
            if c == "fit_widths":
                out["fit_widths"] = out["fit_widths"].astype(object)
                for i in todo:
                    out.at[i, "fit_widths"] = fitted.at[i, "fit_widths"]
            else:
                out.loc[todo, c] = fitted[c].to_numpy()
    return out


def best_interval(df: pd.DataFrame, param: str, metric: str = "error", n_boot: int = 10_000,
                  seed: int = 0, frac: float = 0.25, ci: float = 95
                  ) -> tuple[float, float, float] | None:
    """`stats.bootstrap_best` of `param`, or None when fewer than `MIN_BOOTSTRAP_N` ok models
    have a finite `param` (where the bootstrap degenerates to a uniform pick)."""
    rows = ok_rows(df, metric)
    x = pd.to_numeric(rows[param], errors="coerce") if param in rows.columns else pd.Series()
    if int(np.isfinite(x.to_numpy(float)).sum()) < MIN_BOOTSTRAP_N:
        return None
    return bootstrap_best(rows, param, frac=frac, n=n_boot, ci=ci, seed=seed, error=metric)


def extremes(df: pd.DataFrame, k: int, metric: str = "error") -> pd.DataFrame:
    """The `k` best and `k` worst ok models of every space (a space with fewer than 2k models
    gives each once), with a ``rank`` column: ``best`` or ``worst``."""
    parts = []
    for _, g in ok_rows(df, metric).groupby("design_space", sort=True):
        best = best_rows(g, k, metric)
        worst = worst_rows(g.drop(best.index), k, metric)
        parts += [best.assign(rank="best"), worst.assign(rank="worst")]
    if not parts:
        return df.iloc[:0].assign(rank=pd.Series(dtype=str))
    return pd.concat(parts)


def histories(df: pd.DataFrame, records: dict[str, dict] | None = None) -> pd.DataFrame:
    """The per-epoch history of every row: one row per (model, epoch) with the row's index as
    ``model``, ``epoch`` (1-based) and `HISTORY_FIELDS`. Read from each record's ``epochs``
    list (`records`, keyed by path, else the ``record.json`` at the row's ``path``); rows
    without a history contribute nothing."""
    out = []
    for i, path in zip(df.index, df["path"], strict=True):
        record = (records or {}).get(str(path)) if path else None
        if record is None and path:
            record = peek_record(path)
        epochs = (record or {}).get("epochs") or []
        for e, entry in enumerate(epochs, start=1):
            if isinstance(entry, dict):
                out.append({"model": i, "epoch": e,
                            **{f: _float(entry.get(f)) for f in HISTORY_FIELDS}})
    return pd.DataFrame(out, columns=["model", "epoch", *HISTORY_FIELDS])


def _float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def view_frame(df: pd.DataFrame, view: str = "all", metric: str = "error",
               num_classes: int | None = None) -> pd.DataFrame:
    """The rows one view judges, as a frame that every `ok_rows`-based statistic and plot
    (`compare_pairs`, `comparison_table`, `plot_edfs`, ...) reads whole:

    - ``"all"``: every row, `metric` at `trainability.WORST_ERROR` (100 %) where the model did
      not finish (`trainability.all_models`); ``status`` is ``ok`` for every row here and the
      recorded one is kept in ``run_status``;
    - ``"trained"``: the trained core (`trainability.trained_core`: status ok and `metric`
      below half of chance error with `num_classes` classes, default the sweep's);
    - ``"finished"``: the ok rows with a finite `metric` (`sweep.ok_rows`), whatever the error.

    The index of `df` is kept (markers link to their rows)."""
    if view == "all":
        out = all_models(df, metric)
        out["run_status"] = df["status"]
        out["status"] = "ok"
        return out
    if view == "trained":
        return trained_core(df, num_classes, metric)
    if view == "finished":
        return ok_rows(df, metric)
    raise ValueError(f"view: {view!r} is not allowed; use one of {list(VIEWS)}")


def spaces_of(df: pd.DataFrame, metric: str = "error", order: Sequence[str] | None = None
              ) -> list[str]:
    """Design spaces with ok models that were sampled (zoo records, one model each, named
    after their model, are left out), in `order` if given, else sorted."""
    ok = ok_rows(df, metric)
    if "model" in ok.columns:
        ok = ok[ok["model"].isna()]
    present = sorted(ok["design_space"].unique())
    if order is None:
        return present
    unknown = [s for s in order if s not in present]
    if unknown:
        raise ValueError(f"order: {unknown} have no ok sampled models; spaces: {present}")
    return list(order)
