"""Hydra callback of ``dse-train -m``: summary of a sweep and, on request, its analysis report.

`SweepSummary` runs on the launching machine only (``on_multirun_start``/``on_multirun_end``),
so it works the same with every launcher (basic, joblib, submitit local or SLURM). It snapshots
the records under ``sweep.dir`` before the sweep and compares after it: a record that is new or
rewritten was trained by this sweep (counted by its status ok / diverged / failed); every other
job of the sweep found its record and was skipped. Jobs are counted by the per-job
``overrides.yaml`` Hydra writes under ``hydra.sweep.dir``.

With ``sweep.report=true`` it then writes the analysis report of ``sweep.dir`` (as
``dse-analyze`` does), which prints the path of ``report.html`` as the last line.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

RECORD_NAME = "record.json"
STATUSES = ("ok", "diverged", "failed")


def snapshot(sweep_dir: Path) -> dict[Path, tuple[int, int]]:
    """``{record path: (mtime_ns, size)}`` for every record under `sweep_dir` (any depth)."""
    if not sweep_dir.is_dir():
        return {}
    out = {}
    for path in sweep_dir.rglob(RECORD_NAME):
        try:
            st = path.stat()
        except OSError:  # removed between listing and stat
            continue
        out[path] = (st.st_mtime_ns, st.st_size)
    return out


def record_status(path: Path) -> str:
    """The ``status`` field of the record at `path`; ``unreadable`` if it cannot be parsed."""
    try:
        status = json.loads(path.read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return "unreadable"
    return status if status in STATUSES else "unreadable"


def count_jobs(hydra_sweep_dir: Path, output_subdir: str | None) -> int | None:
    """Jobs Hydra started under `hydra_sweep_dir` (one ``<job>/<output_subdir>/overrides.yaml``
    each), or None when Hydra writes no per-job files (``hydra.output_subdir=null``)."""
    if not output_subdir or not hydra_sweep_dir.is_dir():
        return None
    return sum(1 for p in hydra_sweep_dir.rglob("overrides.yaml") if p.parent.name == output_subdir)


def summarize(before: dict[Path, tuple[int, int]], after: dict[Path, tuple[int, int]],
              jobs: int | None) -> dict[str, int]:
    """Counts of this sweep: ``ok``, ``diverged``, ``failed`` (records it wrote, by status),
    ``skipped`` (jobs whose record was already there) and ``unreadable``."""
    written = [p for p, stamp in after.items() if before.get(p) != stamp]
    counts = Counter(record_status(p) for p in written)
    out = {s: counts.get(s, 0) for s in (*STATUSES, "unreadable")}
    out["skipped"] = max(0, jobs - len(written)) if jobs is not None else 0
    return out


def format_summary(counts: dict[str, int], jobs: int | None, sweep_dir: Path,
                   totals: Counter) -> list[str]:
    """The lines `SweepSummary` prints."""
    parts = [f"{s} {counts[s]}" for s in (*STATUSES, "skipped")]
    if counts["unreadable"]:
        parts.append(f"unreadable {counts['unreadable']}")
    head = f"dse-train sweep: {jobs if jobs is not None else '?'} jobs: " + ", ".join(parts)
    held = ", ".join(f"{s} {totals[s]}" for s in STATUSES if totals[s])
    lines = [head, f"records: {sweep_dir} ({sum(totals.values())} in all: {held or 'none'})"]
    if counts["skipped"] and totals["failed"]:
        lines.append("failed records are kept; re-run with sweep.retry_failed=true to retrain them")
    return lines


def write_report(sweep_dir: Path) -> Path:
    """Write ``<sweep_dir>/report/report.html`` as ``dse-analyze sweep.dir=<sweep_dir>`` does
    (it prints ``report: <path>`` last); the path."""
    from analysis.cli import analyze

    return Path(analyze({"sweep": {"dir": str(sweep_dir)}}))


class SweepSummary(Callback):
    """Prints ok / diverged / failed / skipped counts and where the records are after a
    multirun; with ``sweep.report=true`` also writes the report and prints its path last."""

    def __init__(self) -> None:
        self._before: dict[Path, tuple[int, int]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle the callbacks into every job; the snapshot stays on the launcher.
        return {"_before": {}}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _report_flag(config)  # bad values stop the sweep before any job starts
        self._before = snapshot(_sweep_dir(config))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = _sweep_dir(config)
        after = snapshot(sweep_dir)
        jobs = count_jobs(Path(str(config.hydra.sweep.dir)).absolute(),
                          config.hydra.output_subdir)
        counts = summarize(self._before, after, jobs)
        totals = Counter(record_status(p) for p in after)
        for line in format_summary(counts, jobs, sweep_dir, totals):
            print(line, flush=True)
        if _report_flag(config):
            if not after:
                print(f"dse-train: no records under {sweep_dir}; no report written", flush=True)
                return
            try:
                write_report(sweep_dir)
            except ValueError as e:  # e.g. records trained under different regimes
                print(f"dse-train: no report: {str(e).splitlines()[0]}; see "
                      f"dse-analyze sweep.dir={sweep_dir} (allow_mixed=true)", file=sys.stderr)
                sys.exit(1)


def _report_flag(config: DictConfig) -> bool:
    """``sweep.report`` (false when absent); any other value than true/false exits with one
    line naming it."""
    report = OmegaConf.select(config, "sweep.report", default=False)
    if not isinstance(report, bool):
        print(f"dse-train: error: sweep.report: {report!r} is not allowed; use true or false",
              file=sys.stderr)
        sys.exit(2)
    return bool(report)


def _sweep_dir(config: DictConfig) -> Path:
    """``sweep.dir`` as an absolute path (relative paths are relative to the launch directory)."""
    return Path(str(config.sweep.dir)).expanduser().absolute()
