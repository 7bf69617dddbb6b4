"""Hydra callback of ``dse-train``: checks a config before anything starts, follows a sweep, and
summarizes it (docs/SWEEPS.md). Torch-free: it runs in the launching process.

- Before a run or sweep starts (``on_run_start`` / ``on_multirun_start``) the config's
  ``train``/``sweep``/``sample`` keys are checked (`train.settings`); a bad value is one line and
  exit status 2, before Hydra creates any folder.
- Each job writes an outcome file into its Hydra job folder (`write_outcome`); after each job a
  line ``[k/N] ok · diverged · failed · skipped · busy · error · ETA`` follows the sweep
  (`progress_line`). The total N is counted from the sweep's overrides before it starts.
- SIGTERM or SIGINT to the launching process prints the summary so far, stops the workers (the
  launcher aborts its pool), keeps every checkpoint, and exits with one line.
- ``on_multirun_end`` prints the counts of this sweep and what ``sweep.dir`` holds, and exits
  with status 1 when a job stopped with an error or no job left a record it keeps
  (`sweep_failed`).
- A full disk (docs/SWEEPS.md "A full disk") is one line at every write: nothing starts with
  less than `MIN_FREE` bytes free in ``sweep.dir``; each job's ``.hydra/*.yaml`` are written
  atomically here (``on_job_start``, in place of Hydra's own writes) and its log through
  `JobLogFile`.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import shutil
import signal
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from anynet.record import (
    find_records,
    flat_identity,
    record_identity,
    write_json_atomic,
    write_text_atomic,
)

from .settings import ConfigError, settings_from_config

OUTCOME_NAME = "dse_outcome.json"
SWEEP_NAME = "dse_sweep.json"
KINDS = ("trained", "skipped", "busy", "error")
STATUSES = ("ok", "diverged", "failed")
JOB_CONFIG_DIR = ".hydra"  # each job's config.yaml, hydra.yaml, overrides.yaml (as Hydra's own)
MIN_FREE = 64 * 1024  # bytes free in sweep.dir below which nothing starts (Hydra's files alone
                      # take ~10 KB per job)


def error_line(e: BaseException) -> str:
    """The one line a CLI prints for `e`: a failed write (`anynet.record.write_atomic`) as
    ``cannot write PATH: No space left on device``, anything else as its first line."""
    if isinstance(e, OSError) and e.strerror and e.filename is None:
        return e.strerror
    text = str(e).splitlines()[0] if str(e) else ""
    return text or type(e).__name__


class JobLogFile(logging.FileHandler):
    """The job log's handler (``hydra.job_logging.handlers.file`` in conf/config.yaml): a
    `logging.FileHandler` opened on first use that, when the file cannot be written (a full
    disk), prints one line and drops the log's further lines instead of logging's traceback per
    line; the job goes on and its own writes report the disk."""

    def __init__(self, filename: str, mode: str = "a", encoding: str | None = None,
                 delay: bool = True, errors: str | None = None) -> None:
        super().__init__(filename, mode, encoding, delay, errors)
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.failed:
            return
        try:
            super().emit(record)
        except OSError as e:  # opening the file (delay=True) happens outside logging's guard
            self._fail(e)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            self._fail(error)
        else:
            super().handleError(record)

    def close(self) -> None:
        try:
            super().close()
        except OSError as e:  # the lines still buffered do not fit either
            if not self.failed:
                self._fail(e)

    def _fail(self, e: OSError) -> None:
        self.failed = True
        print(f"dse-train: warning: cannot write {self.baseFilename}: {e.strerror or e}; "
              "log lines dropped", file=sys.stderr, flush=True)


# -- files the jobs and the launcher share -----------------------------------------------------

def write_outcome(job_dir: Path, kind: str, label: str, status: str | None = None,
                  record: Path | None = None, message: str | None = None) -> None:
    """What one job did, in its Hydra job folder (read by `progress_line` and the summary)."""
    write_json_atomic(Path(job_dir) / OUTCOME_NAME, {
        "kind": kind, "label": label, "status": status,
        "record": None if record is None else str(record), "message": message,
        "time": time.time()})


def read_outcomes(hydra_sweep_dir: Path) -> list[dict[str, Any]]:
    """The outcome of every finished job of a sweep (unreadable files are skipped)."""
    out = []
    if not Path(hydra_sweep_dir).is_dir():
        return out
    for path in sorted(Path(hydra_sweep_dir).glob(f"*/{OUTCOME_NAME}")):
        try:
            item = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(item, dict) and item.get("kind") in KINDS:
            out.append(item)
    return out


def count_sweep_jobs(params: Mapping[str, str], task_overrides: Iterable[str]) -> int | None:
    """Jobs of a basic-sweeper multirun: the product of the lengths of its sweep overrides
    (``hydra.sweeper.params`` first, command-line overrides of the same key win); None when a
    sweep cannot be expanded here (e.g. a glob)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    by_key = {str(k): f"{k}={v}" for k, v in params.items()}
    parser = OverridesParser.create()
    for text in task_overrides:
        (override,) = parser.parse_overrides([str(text)])
        by_key[override.get_key_element()] = str(text)
    total = 1
    try:
        for override in parser.parse_overrides(list(by_key.values())):
            if override.is_sweep_override():
                total *= len(list(override.sweep_string_iterator()))
    except Exception:  # noqa: BLE001 - a sweep kind this count does not expand
        return None
    return total


def tally(outcomes: list[dict[str, Any]]) -> Counter:
    """Counts by status for trained jobs and by kind for the others."""
    counts: Counter = Counter()
    for o in outcomes:
        counts[o["status"] if o["kind"] == "trained" and o.get("status") else o["kind"]] += 1
    return counts


def _parts(counts: Counter) -> str:
    names = (*STATUSES, "skipped", "busy", "error")
    return ", ".join(f"{n} {counts[n]}" for n in names
                     if counts[n] or n in (*STATUSES, "skipped"))


def progress_line(hydra_sweep_dir: Path, last: dict[str, Any] | None = None) -> str:
    """``dse-train [k/N] ok a, diverged b, failed c · ETA 3 min · anynetx_a#3 ok 7.84%``."""
    outcomes = read_outcomes(hydra_sweep_dir)
    meta = _read_meta(hydra_sweep_dir)
    total, started = meta.get("total"), meta.get("started")
    k = len(outcomes)
    head = f"[{k}/{total}]" if total else f"[{k}]"
    eta = ""
    if total and started and 0 < k < total:
        left = (time.time() - float(started)) / k * (total - k)
        eta = f" · ETA {_duration(left)}"
    tail = f" · {last['label']} {last['text']}" if last else ""
    return f"dse-train {head} {_parts(tally(outcomes))}{eta}{tail}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 5400:
        return f"{math.ceil(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _read_meta(hydra_sweep_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((Path(hydra_sweep_dir) / SWEEP_NAME).read_text())
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def held_records(sweep_dir: Path) -> tuple[Counter, list[str], int]:
    """What `sweep_dir` holds: counts by status, the identity fields (other than the spec) that
    differ between its runs, and the number of distinct run identities."""
    counts: Counter = Counter()
    flats = []
    for path in find_records(sweep_dir):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            counts["unreadable"] += 1
            continue
        if not isinstance(record, dict):
            counts["unreadable"] += 1
            continue
        counts[record.get("status") if record.get("status") in STATUSES else "unreadable"] += 1
        flats.append(flat_identity(record_identity(record), skip=("spec",)))
    keys = sorted(set().union(*flats)) if flats else []
    differing = [k for k in keys if len({f.get(k) for f in flats}) > 1]
    distinct = len({json.dumps(f, sort_keys=True) for f in flats})
    return counts, differing, distinct


def format_summary(counts: Counter, jobs: int | None, sweep_dir: Path, held: Counter,
                   differing: list[str], distinct: int) -> list[str]:
    """The lines `SweepSummary` prints at the end of a sweep."""
    done = sum(counts.values())
    unfinished = f", unfinished {jobs - done}" if jobs is not None and jobs > done else ""
    lines = [f"dse-train sweep: {jobs if jobs is not None else done} jobs: "
             f"{_parts(counts)}{unfinished}"]
    held_text = ", ".join(f"{s} {held[s]}" for s in (*STATUSES, "unreadable") if held[s])
    lines.append(f"records: {sweep_dir} ({sum(held.values())} in all: {held_text or 'none'})")
    if distinct > 1:
        lines.append(f"{distinct} run identities, differing in {', '.join(differing)}: analyse "
                     "them apart (dse-analyze allow_mixed=[FIELD, …] to pool them)")
    if counts["skipped"] and held["failed"]:
        lines.append("failed records are kept; re-run with sweep.retry_failed=true to retrain them")
    if counts["busy"]:
        lines.append(f"{counts['busy']} run(s) were being trained by another process and were "
                     "left to it; re-run later to collect them")
    return lines


# -- the callback ------------------------------------------------------------------------------

class SweepSummary(Callback):
    """Checks the config first, follows a sweep, prints its summary; see the module docstring."""

    def __init__(self) -> None:
        self._handlers: dict[int, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle the callbacks into every job; handlers stay with the launcher.
        return {"_handlers": {}}

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check(config)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Save the job's config as Hydra would (``hydra.output_subdir: null`` turns Hydra's
        own, non-atomic writes off), atomically; a full disk is one line: a single run stops
        (exit 1), a sweep's job goes on and reports its own writes."""
        try:
            save_job_config(config)
        except OSError as e:
            print(f"dse-train: error: {error_line(e)}", file=sys.stderr, flush=True)
            if OmegaConf.select(config, "hydra.mode") == RunMode.RUN:
                sys.exit(1)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check(config)
        hydra_dir = _hydra_sweep_dir(config)
        node = config.hydra.sweeper.get("params")
        params = OmegaConf.to_container(node, resolve=False) if node is not None else {}
        total = count_sweep_jobs(params or {}, config.hydra.overrides.task)
        try:
            write_json_atomic(hydra_dir / SWEEP_NAME, {"total": total, "started": time.time()})
        except OSError as e:
            print(f"dse-train: error: {error_line(e)}", file=sys.stderr, flush=True)
            sys.exit(1)
        print(f"dse-train: {total if total is not None else 'a sweep of'} jobs -> "
              f"{_sweep_dir(config)}", flush=True)
        # loky replaces a worker whose memory grew (torch's allocator) and warns about it; the
        # job is rerun by a fresh worker, nothing is lost.
        warnings.filterwarnings("ignore", message="A worker stopped while some jobs")
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._handlers[sig] = signal.signal(sig, self._stop(config))

    def _stop(self, config: DictConfig):
        def handler(signum: int, frame: Any) -> None:
            for sig, old in self._handlers.items():
                signal.signal(sig, old)
            self._print_summary(config)
            print(f"dse-train: stopped by {signal.Signals(signum).name}: workers stopped, "
                  "checkpoints kept; re-run the same command to resume", file=sys.stderr,
                  flush=True)
            raise KeyboardInterrupt

        return handler

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        for sig, old in self._handlers.items():
            signal.signal(sig, old)
        counts = self._print_summary(config)
        if sweep_failed(counts, _read_meta(_hydra_sweep_dir(config)).get("total")):
            if not counts["error"]:
                print("dse-train: error: every job of this sweep failed (see above); a rerun "
                      "retries the environment's failures", file=sys.stderr, flush=True)
            sys.exit(1)

    def _print_summary(self, config: DictConfig) -> Counter:
        hydra_dir = _hydra_sweep_dir(config)
        outcomes = read_outcomes(hydra_dir)
        counts = tally(outcomes)
        held, differing, distinct = held_records(_sweep_dir(config))
        total = _read_meta(hydra_dir).get("total")
        for line in format_summary(counts, total, _sweep_dir(config), held, differing,
                                   distinct):
            print(line, flush=True)
        errors = [o for o in outcomes if o["kind"] == "error"]
        if errors:
            print(f"dse-train: {len(errors)} job(s) stopped with an error, e.g. "
                  f"{errors[0]['label']}: {errors[0]['message']}", file=sys.stderr, flush=True)
        return counts


def sweep_failed(counts: Counter, total: int | None) -> bool:
    """Whether a multirun ends with exit status 1: a job stopped with an error, or no job
    produced a record it could keep (every job failed, errored or left no outcome)."""
    if counts["error"]:
        return True
    kept = sum(counts[k] for k in ("ok", "diverged", "skipped", "busy"))
    return kept == 0 and (counts["failed"] > 0 or bool(total))


def save_job_config(config: DictConfig) -> None:
    """``<job dir>/.hydra/config.yaml``, ``hydra.yaml`` and ``overrides.yaml``: the files
    Hydra's ``output_subdir`` would hold, written atomically (OSError ``cannot write PATH:
    reason``)."""
    folder = Path(str(config.hydra.runtime.output_dir)) / JOB_CONFIG_DIR
    task = OmegaConf.masked_copy(config, [k for k in config if k != "hydra"])
    files = {"config.yaml": task, "hydra.yaml": OmegaConf.masked_copy(config, ["hydra"]),
             "overrides.yaml": config.hydra.overrides.task}
    for name, node in files.items():
        write_text_atomic(folder / name, OmegaConf.to_yaml(node))


def check_free_space(sweep_dir: Path) -> None:
    """OSError ``cannot write SWEEP_DIR: No space left on device (…)`` when the filesystem
    that would hold `sweep_dir` has less than `MIN_FREE` bytes free."""
    where = sweep_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        return  # unknown: the writes themselves will tell
    if free < MIN_FREE:
        raise OSError(errno.ENOSPC, f"cannot write {sweep_dir}: {os.strerror(errno.ENOSPC)} "
                      f"({free // 1024} KiB free; dse-train needs at least "
                      f"{MIN_FREE // 1024} KiB)")


def _check(config: DictConfig) -> None:
    """Check the torch-free part of the config; one line and exit 2 on a bad value, exit 1
    when sweep.dir's disk is (nearly) full."""
    try:
        task = OmegaConf.masked_copy(config, [k for k in config if k != "hydra"])
        settings_from_config(OmegaConf.to_container(task, resolve=True))
    except ConfigError as e:
        print(f"dse-train: error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
    except Exception as e:  # noqa: BLE001 - e.g. an interpolation that does not resolve
        print(f"dse-train: error: config: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
        sys.exit(2)
    try:
        check_free_space(_sweep_dir(config))
    except OSError as e:
        print(f"dse-train: error: {error_line(e)}", file=sys.stderr, flush=True)
        sys.exit(1)


def _sweep_dir(config: DictConfig) -> Path:
    """``sweep.dir`` as an absolute path (relative paths are relative to the launch directory)."""
    return Path(str(config.sweep.dir)).expanduser().absolute()


def _hydra_sweep_dir(config: DictConfig) -> Path:
    return Path(str(config.hydra.sweep.dir)).expanduser().absolute()
