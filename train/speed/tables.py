"""The files and the text table ``dse-speed`` writes (docs/SPEED.md): its CSVs
(`results/speed_zoo.csv`, `results/speed_ratio.csv`), written atomically, and the fixed-width
table of the zoo it prints."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from anynet.record import write_text_atomic


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Rows (union of keys, first-seen order) as CSV, written atomically
    (`anynet.record.write_text_atomic`: a failed write, e.g. a full disk, leaves no partial
    file and any previous file as it was; OSError ``cannot write PATH: reason``)."""
    path = Path(path)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k)) for k in keys})
    write_text_atomic(path, buf.getvalue())
    return path


def _fmt(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else ""
    return v


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Fixed-width text table of `comparison.zoo_rows`."""
    keys = [k[:-3] for k in rows[0] if k.endswith("_ms") and k != "published_v100_ms_64img"]
    head = f"{'model':<16}{'res':>4}{'GF':>7}{'Mpar':>7}{'Macts':>7}" + "".join(
        f"{k + ' ms':>13}" for k in keys) + f"{'top1 (pub.)':>12}"
    lines = [head, "-" * len(head)]
    for r in rows:
        err = r.get("published_top1_err")
        lines.append(f"{r['model']:<16}{r['resolution']:>4}{r['flops'] / 1e9:>7.2f}"
                     f"{r['params'] / 1e6:>7.1f}{r['acts'] / 1e6:>7.1f}" + "".join(
                         f"{r[k + '_ms']:>13.1f}" for k in keys)
                     + (f"{err:>12.1f}" if err is not None else f"{'-':>12}"))
    return "\n".join(lines)
