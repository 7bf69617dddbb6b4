"""Under which conditions a sweep was trained: regime, data, geometry, seeds, versions, device,
models per space and total wall time, read from the sweep's rows (the identity columns of
`load_sweep`) or, where a column is missing, from each row's ``record.json`` (its ``path``);
and the block, activation, stem, stage count and flops window, where they are not the paper's
(`VARIANTS`; each population that changes them is its own labelled group, `anynet.labels`).

A proxy regime ranks models only against models trained the same way ([DDS] §3 fn. 5), so the
report states these before any figure.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anynet.record import RECORD_NAME, find_records, peek_record

from . import fmt
from .stats import space_summary

# column of load_sweep -> where the record keeps it (a path of keys)
FIELDS: dict[str, tuple[str, ...]] = {
    "regime": ("regime",),
    "data": ("data",),
    "stem_stride": ("spec", "stem_stride"),
    "strides": ("spec", "strides"),
    "resolution": ("resolution",),
    "train_seed": ("seeds", "train"),
    "sample_seed": ("seeds", "sample"),
    "threads": ("threads",),
    "precision": ("precision",),
    "channels_last": ("channels_last",),
    "device_kind": ("device",),
    "versions": ("versions",),
}
# columns of load_sweep shown only where some record is not at the paper's value
VARIANTS: dict[str, Any] = {"block": "X", "activation": "relu", "stem_type": "simple",
                            "stages": 4, "window": "360M-400M"}


@dataclass(frozen=True)
class Provenance:
    """Distinct values of each field over the sweep's records, most common first, with their
    counts (one entry: every record agrees), plus models per space and total wall time."""

    values: dict[str, list[tuple[Any, int]]]
    per_space: pd.DataFrame  # stats.space_summary: n (ok), n_records, n_diverged, ...
    wall_seconds: float
    n_records: int
    missing: list[str] = field(default_factory=list)  # fields no record carries

    def rows(self) -> list[tuple[str, str]]:
        """(field, text) pairs for a table: one value, or each value with its count; a
        `VARIANTS` field only where a value is not the paper's."""
        out = []
        for key in (*FIELDS, *VARIANTS):
            seen = self.values.get(key) or []
            if not seen or (key in VARIANTS and all(v == VARIANTS[key] for v, _ in seen)):
                continue
            if len(seen) == 1:
                text = _text(seen[0][0])
            else:
                text = "; ".join(f"{_text(v)} ({n} records)" for v, n in seen)
            out.append((key, text))
        return out


def _get(record: dict[str, Any] | None, keys: tuple[str, ...]) -> Any:
    node: Any = record
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


def _missing(v: Any) -> bool:
    if v is None:
        return True
    return isinstance(v, float) and np.isnan(v)


def _key(v: Any) -> str:
    """A hashable, order-stable key for a value (dicts and lists as canonical JSON)."""
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, np.generic):
        v = v.item()
    return json.dumps(v, default=str)


def _text(v: Any) -> str:
    """Dicts as ``k=v`` pairs (nested dicts dotted), lists as ``1, 2``, numbers plainly."""
    if isinstance(v, dict):
        return ", ".join(f"{k}={_text(x)}" for k, x in v.items() if not isinstance(x, dict)) \
            + "".join(f", {k}: ({_text(x)})" for k, x in v.items() if isinstance(x, dict))
    if isinstance(v, (list, tuple)):
        return fmt.listing(v) if all(isinstance(x, (int, float)) for x in v) else \
            ", ".join(_text(x) for x in v)
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return fmt.number(v)
    if isinstance(v, str) and "," in v:  # a list kept as text, e.g. strides "2,2,2,2"
        parts = [x.strip() for x in v.split(",")]
        if all(fmt.finite(x) for x in parts):
            return fmt.listing(float(x) for x in parts)
    return str(v)


def provenance_of(df: pd.DataFrame, metric: str = "error") -> Provenance:
    """The `Provenance` of a sweep frame (every record, whatever its status; models per
    space as `stats.space_summary`)."""
    values: dict[str, list[tuple[Any, int]]] = {}
    records: dict[str, dict | None] = {}

    def record(path: Any) -> dict | None:
        if not isinstance(path, str) or not path:
            return None
        if path not in records:
            records[path] = peek_record(path)
        return records[path]

    paths = df["path"] if "path" in df.columns else pd.Series([None] * len(df), index=df.index)
    missing = []
    for key, where in FIELDS.items():
        if key in df.columns:
            column = list(df[key])
        else:
            column = [_get(record(p), where) for p in paths]
        counts: Counter[str] = Counter()
        first: dict[str, Any] = {}
        for v in column:
            if _missing(v):
                continue
            k = _key(v)
            counts[k] += 1
            first.setdefault(k, v)
        if counts:
            values[key] = [(first[k], n) for k, n in counts.most_common()]
        else:
            missing.append(key)
    for key in VARIANTS:
        if key in df.columns:
            seen = Counter(v.item() if isinstance(v, np.generic) else v
                           for v in df[key] if not _missing(v))
            if seen:
                values[key] = seen.most_common()
    per_space = space_summary(df, metric)
    wall = pd.to_numeric(df["wall_seconds"], errors="coerce") if "wall_seconds" in df.columns \
        else pd.Series(dtype=float)
    return Provenance(values=values, per_space=per_space, wall_seconds=float(np.nansum(wall)),
                      n_records=len(df), missing=missing)


def duration(seconds: float) -> str:
    """``4,321 s -> '1 h 12 min 1 s'``."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h} h"] * bool(h) + [f"{m} min"] * bool(m or h) + [f"{s} s"]
    return " ".join(parts)




def newest_sweep(root: str | Path = "sweeps") -> Path:
    """The sweep folder directly under `root` holding the most recently written
    ``record.json`` (what a notebook analyses by default, e.g. right after the quickstart)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"sweeps: {str(root)!r} is not a folder; run a sweep first (e.g. "
                         "dse-train +experiment=quickstart) or set DSE_SWEEP_DIR")
    newest: tuple[float, Path] | None = None
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        times = [r.stat().st_mtime for r in find_records(d)]
        if times and (newest is None or max(times) > newest[0]):
            newest = (max(times), d)
    if newest is None:
        raise ValueError(f"sweeps: no {RECORD_NAME} under {str(root)!r}; run a sweep first "
                         "(e.g. dse-train +experiment=quickstart) or set DSE_SWEEP_DIR")
    return newest[1]
