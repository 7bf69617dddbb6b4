"""Analysis of design-space sweeps ([DDS] §3-4, [NDS]): load a sweep, compare spaces by their
error distributions, fit the quantized linear rule, plot, report, and propose a RegNet space.
See docs/ANALYSIS.md."""

from .edf import EDF, complexity_weights, edf, normalized_edf
from .fit import RegNetFit, block_widths_of, e_fit, fit_models, fit_regnet
from .inference import (
    EquivalenceResult,
    NonInferiorityResult,
    ShiftResult,
    best_noninferiority,
    equivalence_test,
    hodges_lehmann,
    holm,
    shift_test,
    trend_test,
    within_group_ranks,
)
from .plan import Hypothesis, Plan, load_plan, parse_plan, verdicts
from .plots import (
    plot_block_widths,
    plot_edfs,
    plot_efit,
    plot_normalized_edfs,
    plot_staircases,
    plot_trend,
    plot_trends,
)
from .power_analysis import SampleSize, pilot_errors, power, sample_size
from .propose import ProposedSpace, propose_regnet
from .report import ReportSettings, write_report
from .stats import (
    KSResult,
    best_values,
    bootstrap_best,
    bootstrap_mean_difference,
    comparison_table,
    ks_test,
    space_summary,
)
from .sweep import SweepWarning, load_sweep, ok_rows
from .trainability import (
    TrainedComparison,
    all_models,
    chance_error,
    compare_trained,
    metric_frame,
    num_classes_of,
    trained_core,
    trained_fractions,
    trained_mask,
)

__all__ = [
    "EDF",
    "EquivalenceResult",
    "Hypothesis",
    "KSResult",
    "NonInferiorityResult",
    "Plan",
    "ProposedSpace",
    "RegNetFit",
    "ReportSettings",
    "SampleSize",
    "ShiftResult",
    "SweepWarning",
    "TrainedComparison",
    "all_models",
    "best_noninferiority",
    "best_values",
    "block_widths_of",
    "bootstrap_best",
    "bootstrap_mean_difference",
    "chance_error",
    "compare_trained",
    "comparison_table",
    "complexity_weights",
    "e_fit",
    "edf",
    "equivalence_test",
    "fit_models",
    "fit_regnet",
    "hodges_lehmann",
    "holm",
    "ks_test",
    "load_plan",
    "load_sweep",
    "metric_frame",
    "normalized_edf",
    "num_classes_of",
    "ok_rows",
    "parse_plan",
    "pilot_errors",
    "plot_block_widths",
    "plot_edfs",
    "plot_efit",
    "plot_normalized_edfs",
    "plot_staircases",
    "plot_trend",
    "plot_trends",
    "power",
    "propose_regnet",
    "sample_size",
    "shift_test",
    "space_summary",
    "trained_core",
    "trained_fractions",
    "trained_mask",
    "trend_test",
    "verdicts",
    "within_group_ranks",
    "write_report",
]
