"""``hydra/sweeper=sequential`` (issue 24; docs/SWEEPS.md, "Sequential sweeps"): Hydra accepts
sweepers only from the ``hydra_plugins`` namespace package, so the class Hydra instantiates lives
here; what it does is `analysis.sweeper.sequential_sweep`, imported when a sweep starts (the
launching process of a plain ``dse-train -m`` never loads the analysis stack).

With setuptools' PEP 660 editable installs Hydra's namespace scan does not see this module
(hydra issue #2359), so ``dse-train`` registers it through Hydra's public
``Plugins.instance().register`` before composing (`train.cli`)."""

from __future__ import annotations

from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class SequentialSweeper(Sweeper):
    """Launches a sweep look by look of the plan's sequential design; `params` as the basic
    sweeper's (``hydra.sweeper.params``)."""

    def __init__(self, params: dict[str, str] | None = None) -> None:
        super().__init__()
        self.params = dict(params or {})
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        from analysis.sweeper import sequential_sweep

        return sequential_sweep(self, self.params, arguments)
