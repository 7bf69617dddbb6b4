"""Load a sweep of run records into one flat table (DESIGN.md §Run record; pycls `load_sweep`).

Records live at ``<sweep.dir>/<design_space>/<index>/record.json`` (sampled models) or
``<sweep.dir>/<model>/record.json`` (published zoo models). Each becomes one row; the spec is
flattened to per-stage columns ``d1..dn, w1..wn, b1..bn, g1..gn`` plus derived columns (total
depth, shared ``b``/``g``, stage-width ratios ``wr_i = w_{i+1}/w_i``).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RECORD_NAME = "record.json"
# Fields a record must have to be usable at all; the rest are optional.
_REQUIRED = ("status", "spec")
# Record sections that must agree across a sweep (a proxy regime ranks models only against
# models trained the same way, [DDS] §3 fn. 5).
_MUST_MATCH = ("regime", "data")


class SweepWarning(UserWarning):
    """A record file was skipped (unreadable, partial or not a run record)."""


def ok_rows(df: pd.DataFrame, metric: str = "error") -> pd.DataFrame:
    """Rows that trained (status ``ok``) and have a finite `metric`: what every statistic uses."""
    mask = (df["status"] == "ok") & np.isfinite(pd.to_numeric(df[metric], errors="coerce"))
    return df.loc[mask]


def load_sweep(sweep_dir: str | Path, allow_mixed: bool = False) -> pd.DataFrame:
    """One row per ``record.json`` under `sweep_dir` (any depth), sorted by space and index.

    Unreadable or partial files are skipped with a `SweepWarning` naming them. Records trained
    under different regimes or datasets raise ``ValueError`` listing the differing fields, unless
    ``allow_mixed=True``.
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise ValueError(f"sweep_dir: {str(root)!r} is not a directory")
    rows, records = [], []
    for path in sorted(root.rglob(RECORD_NAME)):
        record = _read_record(path)
        if record is None:
            continue
        try:
            row = flatten_record(record, path, root)
        except (KeyError, TypeError, ValueError) as exc:
            warnings.warn(f"skipping {path}: not a valid run record ({exc})", SweepWarning,
                          stacklevel=2)
            continue
        rows.append(row)
        records.append(record)
    if not allow_mixed:
        _check_uniform(records, rows)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["design_space", "index", "status", "error", "min_error",
                                     "flops", "params", "acts", "depth"])
    df["index"] = df["index"].astype("Int64")
    return df.sort_values(["design_space", "index"], na_position="first").reset_index(drop=True)


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        warnings.warn(f"skipping {path}: unreadable ({exc.__class__.__name__}: {exc})",
                      SweepWarning, stacklevel=3)
        return None
    missing = [k for k in _REQUIRED if not isinstance(record, dict) or k not in record]
    if missing:
        warnings.warn(f"skipping {path}: partial record, missing {missing}", SweepWarning,
                      stacklevel=3)
        return None
    return record


def flatten_record(record: dict[str, Any], path: Path | None = None,
                   root: Path | None = None) -> dict[str, Any]:
    """The row of one run record: identity, outcome, complexity and the flattened spec."""
    spec = record["spec"]
    depths, widths = list(spec["depths"]), list(spec["widths"])
    bs, gs = list(spec["bottleneck_ratios"]), list(spec["group_widths"])
    n = len(depths)
    if not (len(widths) == len(bs) == len(gs) == n) or n == 0:
        raise ValueError("spec has per-stage lists of different lengths")
    epochs = record.get("epochs") or []
    test_errors = [e.get("test_error") for e in epochs if isinstance(e, dict)]
    test_errors = [float(e) for e in test_errors if _finite(e)]
    error = _float(record.get("error"))
    min_error = _float(record.get("min_error"))
    if math.isnan(min_error) and test_errors:
        min_error = min(test_errors)
    model = record.get("model") or None
    space = _space_name(record, path, root)
    cx = record.get("complexity") or {}
    row: dict[str, Any] = {
        "design_space": space,
        "index": record.get("index"),
        "model": model,
        "status": str(record["status"]),
        "error": error,
        "min_error": min_error,
        "flops": _float(cx.get("flops")),
        "params": _float(cx.get("params")),
        "acts": _float(cx.get("acts")),
        "depth": int(sum(depths)),
        "num_stages": n,
    }
    for name, values in (("d", depths), ("w", widths), ("b", bs), ("g", gs)):
        for i, v in enumerate(values, start=1):
            row[f"{name}{i}"] = v
    for i in range(1, n):
        row[f"wr{i}"] = widths[i] / widths[i - 1]
    # pycls `anynet_b` / `anynet_g`: the max over stages (the shared value in AnyNetX_B/C on).
    row["b"], row["g"] = float(max(bs)), int(max(gs))
    row["se_ratio"] = float(spec.get("se_ratio", 0.0))
    row["stem_width"] = spec.get("stem_width")
    row["epochs"] = len(epochs)
    row["wall_seconds"] = _float(record.get("wall_seconds"))
    row["images_per_second"] = _float(record.get("images_per_second"))
    row["device"] = record.get("device")
    row["regime_name"] = _name_of(record.get("regime"))
    row["data_name"] = _name_of(record.get("data"))
    row["message"] = record.get("message")
    row["spec"] = spec
    row["path"] = str(path) if path is not None else None
    return row


def _space_name(record: dict[str, Any], path: Path | None, root: Path | None) -> str:
    """A zoo record is its own 'space' (named after the model); a sample's is its space's."""
    if record.get("model"):
        return str(record["model"])
    ds = record.get("design_space")
    if isinstance(ds, dict) and ds.get("name"):
        return str(ds["name"])
    if isinstance(ds, str) and ds:
        return ds
    if path is not None and root is not None:
        rel = path.relative_to(root).parts
        if len(rel) >= 2:
            return rel[0]
    raise ValueError("record names no design space or model")


def _name_of(section: Any) -> str | None:
    if isinstance(section, dict):
        name = section.get("name")
        return None if name is None else str(name)
    return None if section is None else str(section)


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _flat(d: Any, prefix: str) -> dict[str, str]:
    """Dotted-key view of a nested section, values as canonical JSON (for comparison)."""
    if not isinstance(d, dict):
        return {prefix: json.dumps(d, sort_keys=True)}
    out: dict[str, str] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}"))
    return out


def _check_uniform(records: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Refuse a sweep whose records were trained under different regimes or datasets."""
    if len(records) < 2:
        return
    flats = [{k: v for s in _MUST_MATCH for k, v in _flat(r.get(s), s).items()} for r in records]
    keys = sorted(set().union(*flats))
    differing = []
    for key in keys:
        values = {f.get(key, "<missing>") for f in flats}
        if len(values) > 1:
            differing.append(f"{key} ({', '.join(sorted(values))})")
    if differing:
        raise ValueError(
            f"sweep mixes {len(records)} records trained under different regimes or data; "
            f"fields that differ: {'; '.join(differing)}. Analyse them separately or pass "
            "allow_mixed=True"
        )
