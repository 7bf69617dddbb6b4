"""Analysis of design-space sweeps ([DDS] §3-4, [NDS]): load a sweep, compare spaces by their
error distributions, fit the quantized linear rule, plot, report, and propose a RegNet space.
See docs/ANALYSIS.md."""

from .edf import EDF, complexity_weights, edf, normalized_edf
from .export import to_optuna
from .fit import RegNetFit, block_widths_of, e_fit, fit_models, fit_regnet
from .pairs import compare_pairs, holm
from .plots import (
    plot_block_widths,
    plot_edfs,
    plot_efit,
    plot_histories,
    plot_normalized_edfs,
    plot_staircases,
    plot_trend,
    plot_trends,
)
from .population import (
    MIN_BOOTSTRAP_N,
    best_rows,
    extremes,
    histories,
    population_trend,
    with_fits,
)
from .propose import ProposedSpace, propose_regnet
from .provenance import Provenance, newest_sweep, provenance_of
from .report import ReportSettings, write_report
from .stats import (
    KSResult,
    bootstrap_best,
    bootstrap_mean_difference,
    comparison_table,
    ks_test,
    space_summary,
)
from .sweep import SweepWarning, load_sweep, ok_rows

__all__ = [
    "EDF",
    "KSResult",
    "MIN_BOOTSTRAP_N",
    "ProposedSpace",
    "Provenance",
    "RegNetFit",
    "ReportSettings",
    "SweepWarning",
    "best_rows",
    "block_widths_of",
    "bootstrap_best",
    "bootstrap_mean_difference",
    "compare_pairs",
    "comparison_table",
    "complexity_weights",
    "e_fit",
    "edf",
    "extremes",
    "fit_models",
    "fit_regnet",
    "histories",
    "holm",
    "ks_test",
    "load_sweep",
    "newest_sweep",
    "normalized_edf",
    "ok_rows",
    "plot_block_widths",
    "plot_edfs",
    "plot_efit",
    "plot_histories",
    "plot_normalized_edfs",
    "plot_staircases",
    "plot_trend",
    "plot_trends",
    "population_trend",
    "propose_regnet",
    "provenance_of",
    "space_summary",
    "to_optuna",
    "with_fits",
    "write_report",
]
