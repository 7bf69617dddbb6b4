"""Hydra callback wired in conf/config.yaml: with ``sweep.report=true`` a multirun ends with the
analysis report of ``sweep.dir`` (as ``dse-analyze sweep.dir=…`` writes it; the last line printed
is the path of report.html). It runs on the launching machine after `train.callbacks.SweepSummary`,
with every launcher, and imports the analysis stack only when a report is asked for."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from anynet.record import find_records


class SweepReport(Callback):
    """Writes ``<sweep.dir>/report/report.html`` when a multirun ends and ``sweep.report``."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if OmegaConf.select(config, "sweep.report", default=False) is not True:
            return
        sweep_dir = Path(str(config.sweep.dir)).expanduser().absolute()
        if next(find_records(sweep_dir), None) is None:
            print(f"dse-train: no records under {sweep_dir}; no report written", flush=True)
            return
        from .cli import analyze

        try:
            analyze({"sweep": {"dir": str(sweep_dir)}})
        except (ValueError, OSError) as e:  # e.g. records of several run identities
            print(f"dse-train: no report: {str(e).splitlines()[0]}; see dse-analyze "
                  f"sweep.dir={sweep_dir}", file=sys.stderr, flush=True)
            sys.exit(1)
