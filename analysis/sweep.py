"""Load a sweep of run records into one flat table (docs/ARCHITECTURE.md "Run record"; pycls
`load_sweep`).

Records live at ``<sweep.dir>/<design_space>/<index>/<run id>/record.json`` (sampled models) or
``<sweep.dir>/<model>/<run id>/record.json`` (published zoo models), see `anynet.record`. Each
becomes one row; the spec is flattened to per-stage columns ``d1..dn, w1..wn, b1..bn, g1..gn,
s1..sn`` plus derived columns (total depth, shared ``b``/``g``, stage-width ratios
``wr_i = w_{i+1}/w_i``), the block, activation, stem, stage count and flops window, and the
run's identity (geometry, training seed, precision, threads, …) and the ``machine`` it ran on
(`anynet.system.machine_label`: CPU model and kernel path; empty for a record written before
the field; not identity, so never refused). Its ``design_space`` is the
population label (`anynet.labels`: ``regnetx``, ``regnetx[800MF]``, ``regnetx[V]``), so the
populations of one space that a sweep varies on purpose (block, activation, stem, stages, flop
regime) are separate groups everywhere. Runs of different identity are never pooled silently:
`load_sweep` names the fields that differ. Nor are two populations under one label (records
whose ``population`` hashes differ: other complexity windows, constraints, geometry, resolution
or sampling seed), nor two populations of one space that differ in more than their labels show,
nor one run recorded twice (a copied folder).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from anynet.labels import Variant, population_label, unshown_differences, variant_of
from anynet.record import (
    IDENTITY_FIELDS,
    POPULATION,
    find_records,
    flat_identity,
    flat_settings,
    record_identity,
)
from anynet.spec import block_name
from anynet.system import machine_label

from .sweep_warning import SweepWarning

# Fields a record must have to be usable at all; the rest are optional.
_REQUIRED = ("status", "spec")
# An error is a top-1 error in percent: a record outside this range is not a run record.
ERROR_RANGE = (0.0, 100.0)
# What ``allow_mixed`` may name (each with its dotted sub-fields, e.g. ``regime.lr``).
MIXABLE = (*IDENTITY_FIELDS, POPULATION)
# Columns (and dtypes) of the table of a sweep without any usable record.
_EMPTY = {"design_space": object, "index": "Int64", "status": object, "error": float,
          "min_error": float, "flops": float, "params": float, "acts": float, "depth": "Int64",
          "path": object}


def ok_rows(df: pd.DataFrame, metric: str = "error") -> pd.DataFrame:
    """Rows that trained (status ``ok``) and have a `metric` in `ERROR_RANGE` (a finite
    percentage): what every statistic uses. The `metric` column comes back as float."""
    values = pd.to_numeric(df[metric], errors="coerce").astype(float)
    mask = (df["status"] == "ok") & values.between(*ERROR_RANGE)
    rows = df.loc[mask]
    if rows[metric].dtype != float:
        rows = rows.assign(**{metric: values[mask]})
    return rows


def load_sweep(sweep_dir: str | Path, allow_mixed: bool | Sequence[str] = False
               ) -> pd.DataFrame:
    """One row per record under `sweep_dir` (any depth), sorted by space and index.

    Unreadable or partial files, and records whose error is not a percentage in [0, 100], are
    skipped with a `SweepWarning` naming them. Records whose run identities differ in anything
    but the spec (regime, data, training seed, precision, threads, memory format, device kind,
    geometry is in the spec) raise ``ValueError`` naming the differing fields, and so do
    records of one population label (column ``design_space``, `anynet.labels`) drawn from
    different populations (``population``: windows, constraints, geometry, resolution, sampling
    seed) and populations of one space whose labels differ but whose settings differ in more
    than the labels show, unless ``allow_mixed=True`` or it lists those fields (e.g.
    ``["train_seed"]``; a field covers its sub-fields, ``regime`` covers ``regime.lr``;
    ``population`` the population settings). One run recorded twice (the same
    model and run id in two folders, e.g. a copied folder) raises naming both paths.
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise ValueError(f"sweep_dir: {str(root)!r} is not a directory")
    allowed = mixed_fields(allow_mixed)
    rows, records = [], []
    for path in find_records(root):
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
    _check_unique(rows)
    if allowed is not None:
        _check_uniform(records, allowed)
        if not _covers(allowed, POPULATION):
            _check_populations(rows, records)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EMPTY.items()})
    df["index"] = df["index"].astype("Int64")
    return df.sort_values(["design_space", "index"], na_position="first").reset_index(drop=True)


def mixed_fields(allow_mixed: bool | Sequence[str]) -> tuple[str, ...] | None:
    """The fields `allow_mixed` lets differ (None: every field); a value that is not a bool or
    a list of `MIXABLE` fields (or their dotted sub-fields) raises ValueError naming it."""
    if allow_mixed is True:
        return None
    if allow_mixed is False:
        return ()
    if isinstance(allow_mixed, str) or not isinstance(allow_mixed, Sequence):
        raise ValueError(f"allow_mixed: {allow_mixed!r} is not allowed; use true, false or a "
                         f"list of run-identity fields ({', '.join(MIXABLE)})")
    for field in allow_mixed:
        if not isinstance(field, str) or str(field).split(".")[0] not in MIXABLE:
            raise ValueError(f"allow_mixed: {field!r} is not a run-identity field; allowed: "
                             f"{', '.join(MIXABLE)} and their dotted sub-fields (e.g. "
                             "regime.lr, data.name, spec.strides)")
    return tuple(allow_mixed)


def _covers(allowed: tuple[str, ...], key: str) -> bool:
    return any(key == a or key.startswith(f"{a}.") for a in allowed)


def _check_unique(rows: list[dict[str, Any]]) -> None:
    """Refuse one run recorded twice: the same model (space and index, or zoo model) and run
    id in two folders, e.g. a run folder copied under another index."""
    seen: dict[tuple[Any, ...], str] = {}
    for row in rows:
        if row.get("run_id") is None:
            continue
        key = (row["design_space"], row.get("index"), row["run_id"])
        if key in seen:
            raise ValueError(
                f"sweep: run {row['run_id']} of {row['design_space']}#{row.get('index')} is "
                f"recorded twice, at {seen[key]} and at {row['path']}; remove the copy")
        seen[key] = row["path"]


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        warnings.warn(f"skipping {path}: unreadable ({exc.__class__.__name__}: {exc})",
                      SweepWarning, stacklevel=3)
        return None
    if not isinstance(record, dict):
        warnings.warn(f"skipping {path}: not a run record (a JSON {type(record).__name__}, "
                      "not an object)", SweepWarning, stacklevel=3)
        return None
    missing = [k for k in _REQUIRED if k not in record]
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
    for field, value in (("error", error), ("min_error", min_error)):
        if math.isfinite(value) and not ERROR_RANGE[0] <= value <= ERROR_RANGE[1]:
            raise ValueError(f"{field}: {value:g} is outside [0, 100]; an error is a top-1 "
                             "error in percent")
    population = record.get(POPULATION)
    if population is not None and not (isinstance(population, dict)
                                       and isinstance(population.get("hash"), str)
                                       and isinstance(population.get("settings"), dict)):
        raise ValueError(f"{POPULATION}: {population!r} is not a mapping of hash and settings")
    model = record.get("model") or None
    space = _space_name(record, path, root)
    variant = variant_of(record)
    cx = record.get("complexity") or {}
    identity = record_identity(record)
    data = identity.get("data") if isinstance(identity.get("data"), dict) else {}
    strides = list(spec.get("strides") or [2] * n)
    row: dict[str, Any] = {
        "design_space": space if model or not record.get("design_space")
        else population_label(space, variant),
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
    for name, values in (("d", depths), ("w", widths), ("b", bs), ("g", gs), ("s", strides)):
        for i, v in enumerate(values, start=1):
            row[f"{name}{i}"] = v
    for i in range(1, n):
        row[f"wr{i}"] = widths[i] / widths[i - 1]
    # pycls `anynet_b` / `anynet_g`: the max over stages (the shared value in AnyNetX_B/C on).
    row["b"], row["g"] = float(max(bs)), int(max(gs))
    row["se_ratio"] = float(spec.get("se_ratio", 0.0))
    row["space"] = space  # the design space's own name (design_space: its population label)
    row["block_type"] = str(spec.get("block_type", "X"))  # absent: a default, or an old spec
    row["block"] = block_name(row["block_type"], row["se_ratio"])
    row["activation"] = str(spec.get("activation", "relu"))
    row["stem_type"] = str(spec.get("stem_type", "simple"))
    row["stages"], row["window"] = n, variant.window
    row["stem_width"] = spec.get("stem_width")
    row["stem_stride"] = spec.get("stem_stride", 2)
    row["strides"] = ",".join(str(v) for v in strides)
    row["resolution"] = record.get("resolution", data.get("resolution"))
    row["num_classes"] = spec.get("num_classes")
    row["run_id"] = record.get("run_id")
    row["population"] = None if population is None else population["hash"]
    row["train_seed"] = identity.get("train_seed")
    seeds = record.get("seeds") if isinstance(record.get("seeds"), dict) else {}
    row["sample_seed"] = seeds.get("sample")
    for key in ("precision", "threads", "channels_last", "device_kind"):
        row[key] = identity.get(key)
    row["epochs"] = len(epochs)
    row["wall_seconds"] = _float(record.get("wall_seconds"))
    row["images_per_second"] = _float(record.get("images_per_second"))
    row["device"] = record.get("device")
    # where it ran (CPU model and kernel path): recorded, not identity; "" before the field
    row["machine"] = machine_label(record.get("machine"))
    row["regime_name"] = _name_of(record.get("regime"))
    row["data_name"] = _name_of(record.get("data"))
    row["message"] = record.get("message")
    row["failure"] = record.get("failure")
    predicted = record.get("predicted") if isinstance(record.get("predicted"), dict) else {}
    row["predicted_latency"] = _float(predicted.get("latency"))  # docs/SPEED.md
    row["spec"] = spec
    row["regime"] = record.get("regime")
    row["data"] = record.get("data")
    row["versions"] = record.get("versions")
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


def _check_uniform(records: list[dict[str, Any]], allowed: tuple[str, ...]) -> None:
    """Refuse records whose run identities differ in a field other than the spec and those
    `allowed` (each covers its dotted sub-fields)."""
    if len(records) < 2:
        return
    flats = [flat_identity(record_identity(r), skip=("spec",)) for r in records]
    differing = []
    for key in sorted(set().union(*flats)):
        if any(key == a or key.startswith(f"{a}.") for a in allowed):
            continue
        values = {f.get(key, "<missing>") for f in flats}
        if len(values) > 1:
            shown = sorted(values)
            more = f", … {len(shown) - 4} more" if len(shown) > 4 else ""
            differing.append(f"{key} ({', '.join(shown[:4])}{more})")
    if differing:
        raise ValueError(
            f"sweep mixes {len(records)} records of different run identities; fields that "
            f"differ: {'; '.join(differing)}. Analyse them apart, or allow those fields "
            "(load_sweep(..., allow_mixed=[...]); dse-analyze allow_mixed=[...])")


def _check_populations(rows: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
    """Refuse records of one population label drawn from different populations (their
    ``population`` hashes differ), naming the label and the settings that differ, and two
    populations of one space under different labels whose settings differ in more than the
    labels show (`anynet.labels.unshown_differences`). Records without the field (written
    before it existed) are of an unknown population and pass."""
    by_label: dict[str, dict[str, dict[str, Any]]] = {}  # label -> hash -> settings
    by_space: dict[str, dict[str, tuple[Variant, dict[str, Any]]]] = {}  # space -> label -> …
    for row, record in zip(rows, records, strict=True):
        if row["population"] is not None:
            pop = record[POPULATION]
            by_label.setdefault(row["design_space"], {}).setdefault(pop["hash"], pop["settings"])
            by_space.setdefault(row["space"], {}).setdefault(
                row["design_space"], (variant_of(record), pop["settings"]))
    _check_one_population_per_label(by_label)
    for space, labels in sorted(by_space.items()):
        named = sorted(labels)
        for i, a in enumerate(named):
            for b in named[i + 1:]:
                (va, sa), (vb, sb) = labels[a], labels[b]
                differing = unshown_differences(space, va, vb, flat_settings(sa),
                                                flat_settings(sb))
                if differing:
                    raise ValueError(
                        f"sweep: design space {space!r} has populations {a} and {b} that "
                        "differ in more than their labels show: "
                        f"{'; '.join(_shown(differing))}. Analyse them apart, or allow it "
                        "(load_sweep(..., allow_mixed=['population']); dse-analyze "
                        "allow_mixed=[population])")


def _shown(items: list[str], n: int = 4) -> list[str]:
    return items[:n] + [f"… {len(items) - n} more"] if len(items) > n else items


def _check_one_population_per_label(by_label: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Refuse a label with two populations (hashes), naming the settings that differ."""
    for space, pops in sorted(by_label.items()):
        if len(pops) < 2:
            continue
        flats = [flat_settings(settings) for settings in pops.values()]
        differing = []
        for key in sorted(set().union(*flats)):
            values = list(dict.fromkeys(f.get(key, "<missing>") for f in flats))
            if len(values) > 1:
                more = f" vs … {len(values) - 4} more" if len(values) > 4 else ""
                differing.append(f"{key} ({' vs '.join(values[:4])}{more})")
        raise ValueError(
            f"sweep: design space {space!r} pools {len(pops)} populations (population "
            f"{', '.join(sorted(pops))}); settings that differ: {'; '.join(differing)}. Analyse "
            "them apart, or allow it (load_sweep(..., allow_mixed=['population']); "
            "dse-analyze allow_mixed=[population])")
