"""Analysis of design-space sweeps ([DDS] §3-4, [NDS]): load a sweep, compare spaces by their
error distributions, fit the quantized linear rule, plot, report, and propose a RegNet space.
See docs/ANALYSIS.md."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# `edf` is both a module and its function: bound eagerly (numpy only), so that importing the
# module `analysis.edf` can never shadow the function.
from .edf import edf  # noqa: F401 - re-exported through __all__

# Names are imported on first access (PEP 562): a sweep's launching process imports
# `analysis.callbacks` without paying for pandas, scipy and matplotlib.
_SOURCES = {
    "EDF": "edf",
    "EquivalenceResult": "inference",
    "Hypothesis": "plan",
    "KSResult": "stats",
    "MIN_BOOTSTRAP_N": "population",
    "NonInferiorityResult": "inference",
    "PLAN_KINDS": "plan",
    "Plan": "plan",
    "PlanKind": "plan",
    "ProposedSpace": "propose",
    "Provenance": "provenance",
    "RegNetFit": "fit",
    "ReportSettings": "report",
    "SHIFT_TESTS": "shift_tests",
    "SampleSize": "power_analysis",
    "ShiftResult": "inference",
    "ShiftTest": "shift_tests",
    "SweepWarning": "sweep_warning",
    "TrainedComparison": "trainability",
    "WidthTrend": "population",
    "all_models": "trainability",
    "best_noninferiority": "inference",
    "best_rows": "population",
    "best_values": "stats",
    "block_widths_of": "fit",
    "bootstrap_best": "stats",
    "bootstrap_distribution": "bootstrap",
    "bootstrap_interval": "bootstrap",
    "chance_error": "trainability",
    "compare_pairs": "pairs",
    "compare_trained": "trainability",
    "comparison_table": "pairs",
    "complexity_weights": "edf",
    "e_fit": "fit",
    "equivalence_test": "inference",
    "extremes": "population",
    "fit_models": "fit",
    "fit_regnet": "fit",
    "histories": "population",
    "hodges_lehmann": "inference",
    "holm": "inference",
    "ks_test": "stats",
    "load_plan": "plan",
    "load_sweep": "sweep",
    "median_effects": "power_analysis",
    "metric_frame": "trainability",
    "newest_sweep": "provenance",
    "normalized_edf": "edf",
    "num_classes_of": "trainability",
    "ok_rows": "sweep",
    "pair_table": "pairs",
    "parse_plan": "plan",
    "percentile_interval": "bootstrap",
    "pilot_errors": "power_analysis",
    "plan_power": "power_analysis",
    "plan_sample_size": "power_analysis",
    "plot_block_widths": "plots",
    "plot_edfs": "plots",
    "plot_efit": "plots",
    "plot_histories": "plots",
    "plot_normalized_edfs": "plots",
    "plot_staircases": "plots",
    "plot_trend": "plots",
    "plot_trends": "plots",
    "population_label": "labels",
    "power": "power_analysis",
    "propose_regnet": "propose",
    "provenance_of": "provenance",
    "sample_size": "power_analysis",
    "scaled_pilots": "power_analysis",
    "shift_test": "inference",
    "space_summary": "stats",
    "to_optuna": "export",
    "trained_core": "trainability",
    "trained_fractions": "trainability",
    "trained_mask": "trainability",
    "trend_test": "inference",
    "verdicts": "plan",
    "width_trend": "population",
    "with_fits": "population",
    "within_group_ranks": "inference",
    "write_report": "report",
}

__all__ = sorted([*_SOURCES, "edf"])


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        return getattr(import_module(f".{_SOURCES[name]}", __name__), name)
    try:  # a submodule, e.g. analysis.population
        return import_module(f".{name}", __name__)
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
