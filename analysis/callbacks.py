"""Hydra callback wired in conf/config.yaml: with ``sweep.report=true`` a multirun ends with the
analysis report of ``sweep.dir`` (as ``dse-analyze sweep.dir=…`` writes it; the last line printed
is the path of report.html). With ``sweep.plan=NAME`` the report leads with that plan's verdicts
(``dse-analyze … plan=NAME``); the plan is read and checked when the multirun
starts, so a bad plan stops the sweep before any job rather than after the last. It runs on the
launching machine after `train.callbacks.SweepSummary`, with every launcher, and imports the
analysis stack only when a report is asked for."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from anynet.record import find_records


def _reporting(config: DictConfig) -> bool:
    return OmegaConf.select(config, "sweep.report", default=False) is True


class SweepReport(Callback):
    """Writes ``<sweep.dir>/report/report.html`` when a multirun ends and ``sweep.report``."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not _reporting(config):
            return
        name = OmegaConf.select(config, "sweep.plan", default=None)
        if name is None:
            return
        from .plan import find_plan, load_plan

        try:
            load_plan(find_plan(name))
        except ValueError as e:
            line = str(e).splitlines()[0]
            line = f"sweep.{line}" if line.startswith("plan: ") else f"sweep.plan: {line}"
            print(f"dse-train: error: {line}", file=sys.stderr, flush=True)
            sys.exit(2)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not _reporting(config):
            return
        sweep_dir = Path(str(config.sweep.dir)).expanduser().absolute()
        if next(find_records(sweep_dir), None) is None:
            print(f"dse-train: no records under {sweep_dir}; no report written", flush=True)
            return
        from .cli import analyze

        try:
            analyze({"sweep": {"dir": str(sweep_dir)},
                     "plan": OmegaConf.select(config, "sweep.plan", default=None)})
        except (ValueError, OSError) as e:  # e.g. records of several run identities
            # a failed write (full disk) is `anynet.record.write_atomic`'s one line
            full = isinstance(e, OSError) and e.strerror and e.filename is None
            line = e.strerror if full else str(e).splitlines()[0]
            print(f"dse-train: no report: {line}; see dse-analyze sweep.dir={sweep_dir}",
                  file=sys.stderr, flush=True)
            sys.exit(1)
