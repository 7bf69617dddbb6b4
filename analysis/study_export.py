"""The committed tables of a study, exported from its sweeps (``runs/`` is not committed), and the
one reader of a models export (`study_frame`): the home of the export formats that
``conf/study/*.yaml`` name (`analysis.study.Export`, `dse-study NAME export`).

- ``models``: one row per model of one sweep (`MODEL_COLUMNS`: design_space, index, status,
  error, min_error, complexity, the spec's stage lists, wall_seconds and, since the instrument
  study, regime, training seed and geometry); ``%.6g``. The committed file's rows of models the
  sweep folder lacks (`MODEL_KEY`: a sweep folder lost with its machine, or pruned) are kept:
  ``runs/`` is not committed, so the export is the only copy of those runs.
- ``runs``: one row per run of several sweeps (`RUN_COLUMNS`), sorted by regime, seed, space,
  index; ``timing``: the same for ``RULE=DIR`` sweeps, with the window rule as ``scale``.
- ``fidelity``: `analysis.fidelity.fidelity` rows (trained fractions and Spearman ρ with 95 %
  percentile-bootstrap intervals over models), replacing the file's rows of the same comparison
  and keeping the others; ``%.4f``.
- ``records``: every run record of one sweep, one JSON line each (`analysis.record_archive`),
  merged like a ``models`` export; `dse-study NAME restore` writes them back.

Every function returns the file's text; `dse-study` writes it (or checks it, ``--check``).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pandas as pd

from .fidelity import fidelity, load_runs
from .record_archive import archive
from .study import Data, Export
from .sweep import load_sweep
from .sweep_warning import SweepWarning

PAPER_STAGES = 4  # the stage columns every export has, d1..d4, w1..w4, b1..b4, g1..g4
STAGES = [f"{k}{i}" for k in "dwbg" for i in range(1, PAPER_STAGES + 1)]
MODEL_COLUMNS = ["design_space", "index", "status", "error", "min_error", "flops", "params",
                 "acts", "depth", *STAGES, "wall_seconds", "regime_name", "train_seed",
                 "stem_stride", "strides"]
RUN_COLUMNS = ["regime_name", "train_seed", "design_space", "index", "status", "error",
               "wall_seconds", "stem_stride", "strides", "resolution", "flops", "params", "acts",
               "depth", *STAGES, "threads", "precision", "images_per_second"]
MODEL_KEY = ["design_space", "index", "regime_name", "train_seed", "stem_stride", "strides"]
PAPER_GEOMETRY = (2, "2,2,2,2")  # stem stride, strides of an export that predates them
FIDELITY_CHANCE = 90.0  # 10 classes: "trained" below 45 %


def stage_count(df: pd.DataFrame) -> int:
    """The most stages of any model in `df`: its highest ``d<i>`` column with a value (a
    3-stage model's row beside 4-stage ones leaves the fourth stage's columns empty)."""
    i = 0
    while f"d{i + 1}" in df.columns and df[f"d{i + 1}"].notna().any():
        i += 1
    return i


def _columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`columns` that `df` has, the stage columns extended to its `stage_count` (a sweep with
    five-stage models exports d5, w5, b5 and g5; other sweeps' exports are unchanged)."""
    extra = [f"{k}{i}" for k in "dwbg" for i in range(PAPER_STAGES + 1, stage_count(df) + 1)]
    if extra and STAGES[-1] in columns:
        at = columns.index(STAGES[-1]) + 1
        columns = [*columns[:at], *extra, *columns[at:]]
    return df[[c for c in columns if c in df.columns]]


def _with_geometry(df: pd.DataFrame) -> pd.DataFrame:
    """A models export read back; one that predates the geometry columns has the paper's
    (`PAPER_GEOMETRY`)."""
    if "stem_stride" not in df.columns:
        df["stem_stride"], df["strides"] = PAPER_GEOMETRY
    return df


def _by_key(df: pd.DataFrame) -> pd.DataFrame:
    """`df` sorted by the `MODEL_KEY` columns it has (stable, missing values first, as
    `load_sweep` sorts), so an export and its re-export list their rows alike."""
    key = [c for c in MODEL_KEY if c in df.columns]
    return df.sort_values(key, kind="stable", na_position="first", ignore_index=True)


def models(sweep: str, old: str | None = None) -> str:
    """A ``models`` export: the one sweep folder `sweep`, one row per model, merged into the
    file's text `old`: the sweep's rows replace those of the same `MODEL_KEY`, the file's other
    rows are kept. A replaced row whose status or error changes is a `SweepWarning` (the same
    record trained again on another machine: CPU kernels are exact on one machine only). A file
    older than the geometry columns has the paper's geometry (`PAPER_GEOMETRY`); one without
    another key column is a ValueError (delete it to export afresh)."""
    new = _columns(load_sweep(sweep), MODEL_COLUMNS)
    if old is not None:
        new = pd.read_csv(io.StringIO(new.to_csv(index=False, float_format="%.6g")))
        kept = _with_geometry(pd.read_csv(io.StringIO(old)))
        key = [c for c in MODEL_KEY if c in new.columns]
        lacks = [c for c in key if c not in kept.columns]
        if lacks:
            raise ValueError(f"export: the committed export lacks the column {lacks[0]!r} that "
                             "tells its runs apart; delete it to export afresh from the sweep")
        both = kept.merge(new, on=key, suffixes=("", "_new"))
        same_error = (both["error"] == both["error_new"]) | (both["error"].isna()
                                                             & both["error_new"].isna())
        changed = both[(both["status"] != both["status_new"]) | ~same_error]
        if len(changed):
            first = changed.iloc[0]
            warnings.warn(SweepWarning(
                f"export: {len(changed)} of the sweep's models differ from the committed export "
                f"(first: {first['design_space']}#{first['index']}, error {first['error']:g} -> "
                f"{first['error_new']:g}); the sweep's records replace them"), stacklevel=2)
        ours = kept.set_index(key).index.isin(new.set_index(key).index)
        new = _columns(pd.concat([new, kept[~ours]], ignore_index=True), MODEL_COLUMNS)
    return _by_key(new).to_csv(index=False, float_format="%.6g")


def runs(sweeps: list[str]) -> str:
    """A ``runs`` export: every run of the sweep folders (e.g. the proxy and reference regimes
    under two seeds each), rewritten whole each time."""
    df = pd.concat([load_sweep(d, allow_mixed=True) for d in sweeps], ignore_index=True)
    df = _columns(df, RUN_COLUMNS).sort_values(["regime_name", "train_seed", "design_space",
                                                "index"])
    return df.to_csv(index=False, float_format="%.6g")


def timing(sweeps: list[str]) -> str:
    """A ``timing`` export: the runs of each ``RULE=DIR`` (the window rule,
    complexity.reference.scale, that the sweep in DIR used) with a ``scale`` column."""
    frames = []
    for item in sweeps:
        scale, _, folder = item.partition("=")
        frames.append(_columns(load_sweep(folder, allow_mixed=True), RUN_COLUMNS)
                      .assign(scale=scale))
    df = pd.concat(frames, ignore_index=True).sort_values(
        ["regime_name", "scale", "design_space", "index"])
    return df.to_csv(index=False, float_format="%.6g")


def fidelity_rows(candidate: str, sweeps: list[str], old: str | None) -> str:
    """``fidelity`` rows labelled `candidate`: the first of `sweeps` against each other one
    (each a sweep folder or comma-separated seed folders), merged into the file's text `old`."""
    ref = load_runs(sweeps[0])
    new = pd.DataFrame([{"candidate": candidate,
                         **fidelity(ref, load_runs(o), FIDELITY_CHANCE).as_row(
                             f"{sweeps[0]} vs {o}")} for o in sweeps[1:]])
    if old is not None:
        kept = pd.read_csv(io.StringIO(old))
        kept = kept[~kept["comparison"].isin(new["comparison"])]
        new = pd.concat([kept, new], ignore_index=True)
    return new.to_csv(index=False, float_format="%.4f")


def sweep_folders(entry: Export) -> list[str]:
    """`entry`'s sweep folders, as many as its kind needs (a ValueError naming the key else)."""
    sweeps = list(entry.sweeps)
    need = {"models": (1, "exactly one sweep folder"), "records": (1, "exactly one sweep folder"),
            "fidelity": (2, "a reference sweep and at least one other")}.get(
        entry.kind, (1, "at least one sweep folder"))
    if len(sweeps) < need[0] or (entry.kind in ("models", "records") and len(sweeps) != 1):
        raise ValueError(f"exports.{entry.name}.sweeps: {sweeps!r} is not allowed; a "
                         f"{entry.kind} export needs {need[1]}")
    return sweeps


def export(entry: Export, results: Path) -> str:
    """The text of `entry`'s file from its sweeps (`results` holds the file a ``models``,
    ``records`` or ``fidelity`` export merges into). An entry without the sweeps its kind needs
    is a ValueError."""
    sweeps = sweep_folders(entry)
    out = results / entry.out
    old = out.read_text() if out.is_file() else None
    if entry.kind == "models":
        return models(sweeps[0], old)
    if entry.kind == "records":
        return archive(sweeps[0], old, str(out))
    if entry.kind == "runs":
        return runs(sweeps)
    if entry.kind == "timing":
        return timing(sweeps)
    if entry.candidate is None:
        raise ValueError(f"exports.{entry.name}.candidate: None is not allowed; give the "
                         "label of its rows")
    return fidelity_rows(entry.candidate, sweeps, old)


def _spec(row: pd.Series, n: int, data: Data) -> dict:
    """The spec dict of one export row: its stages are those of the first `n` with a depth
    (three, four or five, as its ``strides`` say)."""
    stages = [i for i in range(1, n + 1) if pd.notna(row[f"d{i}"])]
    return {"depths": [int(row[f"d{i}"]) for i in stages],
            "widths": [int(row[f"w{i}"]) for i in stages],
            "bottleneck_ratios": [float(row[f"b{i}"]) for i in stages],
            "group_widths": [int(row[f"g{i}"]) for i in stages],
            "strides": [int(v) for v in str(row["strides"]).split(",")],
            "stem_stride": int(row["stem_stride"]), "stem_width": data.stem_width,
            "in_channels": data.in_channels, "num_classes": data.num_classes}


def study_frame(path: Path, data: Data) -> pd.DataFrame:
    """A ``models`` export read back with what `load_sweep` derives from a record: shared b and
    g (the max over stages, pycls's anynet_b / anynet_g), the stage width ratios, the spec's
    stage lists (3 to 5 stages, `stage_count`), and what `data` says of every model. The
    geometry is the export's ``stem_stride`` and ``strides`` columns; an export that predates
    them (results/study.csv) has the paper's (`PAPER_GEOMETRY`). A missing file is a
    ValueError."""
    if not path.is_file():
        raise ValueError(f"results: {str(path)!r} does not exist; export it first "
                         "(dse-study NAME export)")
    df = _with_geometry(pd.read_csv(path))
    n = stage_count(df)
    df["b"] = df[[f"b{i}" for i in range(1, n + 1)]].max(axis=1)
    df["g"] = df[[f"g{i}" for i in range(1, n + 1)]].max(axis=1)
    df["spec"] = [_spec(r, n, data) for _, r in df.iterrows()]
    for i in range(1, n):
        df[f"wr{i}"] = df[f"w{i + 1}"] / df[f"w{i}"]
    df["se_ratio"], df["stem_width"], df["resolution"] = 0.0, data.stem_width, data.resolution
    df["num_classes"] = data.num_classes
    return df
