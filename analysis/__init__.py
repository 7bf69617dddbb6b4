"""Analysis of design-space sweeps ([DDS] §3-4, [NDS]): load a sweep, compare spaces by their
error distributions, fit the quantized linear rule, plot, report, and propose a RegNet space.
See docs/ANALYSIS.md."""

from .edf import EDF, complexity_weights, edf, normalized_edf
from .fit import RegNetFit, block_widths_of, e_fit, fit_models, fit_regnet
from .plots import (
    plot_block_widths,
    plot_edfs,
    plot_efit,
    plot_normalized_edfs,
    plot_staircases,
    plot_trend,
    plot_trends,
)
from .propose import ProposedSpace, propose_regnet
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
    "ProposedSpace",
    "RegNetFit",
    "ReportSettings",
    "SweepWarning",
    "block_widths_of",
    "bootstrap_best",
    "bootstrap_mean_difference",
    "comparison_table",
    "complexity_weights",
    "e_fit",
    "edf",
    "fit_models",
    "fit_regnet",
    "ks_test",
    "load_sweep",
    "normalized_edf",
    "ok_rows",
    "plot_block_widths",
    "plot_edfs",
    "plot_efit",
    "plot_normalized_edfs",
    "plot_staircases",
    "plot_trend",
    "plot_trends",
    "propose_regnet",
    "space_summary",
    "write_report",
]
