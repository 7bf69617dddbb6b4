"""The fixed training regime: SGD + momentum, linear warmup, half-period cosine ([DDS] fn. 5, §4,
App. C; docs/PAPER.md §1.4).

``Regime.from_config(cfg.regime)`` validates a ``conf/regime/*.yaml`` mapping. The learning rate
is set per iteration: during the first ``warmup_epochs`` it ramps linearly from
``warmup_factor * lr`` to ``lr``; afterwards it follows ``lr * (1 + cos(pi * t / T)) / 2`` with
``t`` the (fractional) epoch and ``T = epochs`` (pycls's cosine, evaluated per step). With
``scale_lr`` the base lr is ``lr * batch_size / 128`` (linear scaling, [DDS] App. C).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where the optimizer is built: checks stay torch-free
    import torch
    from torch import nn


class RegimeError(ValueError):
    """A bad ``regime.*`` value (one line naming the key, the value and what is allowed)."""


@dataclass(frozen=True)
class Regime:
    """Training hyper-parameters; field names are the ``regime.*`` config keys."""

    name: str = "custom"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    scale_lr: bool = False
    wd: float = 5e-5
    momentum: float = 0.9
    nesterov: bool = False
    warmup_epochs: float = 0.0
    warmup_factor: float = 0.1
    label_smoothing: float = 0.0
    zero_init_last_bn: bool = False

    def __post_init__(self) -> None:
        _check(self.epochs, "epochs", int, low=1)
        _check(self.batch_size, "batch_size", int, low=1)
        for key in ("lr", "wd", "momentum", "warmup_epochs", "warmup_factor", "label_smoothing"):
            _check(getattr(self, key), key, float, low=0.0)
        for key in ("scale_lr", "nesterov", "zero_init_last_bn"):
            if not isinstance(getattr(self, key), bool):
                raise RegimeError(f"regime.{key}: {getattr(self, key)!r} is not allowed; "
                                  "use true or false")
        if self.momentum >= 1:
            raise RegimeError(f"regime.momentum: {self.momentum} is not allowed; use a number "
                              "from 0 to below 1")
        if self.label_smoothing >= 1:
            raise RegimeError(f"regime.label_smoothing: {self.label_smoothing} is not allowed; "
                              "use 0 <= label_smoothing < 1")
        if self.nesterov and self.momentum == 0:
            raise RegimeError("regime.nesterov: true needs regime.momentum > 0")
        if self.warmup_epochs > self.epochs:
            raise RegimeError(f"regime.warmup_epochs: {self.warmup_epochs} exceeds "
                              f"regime.epochs={self.epochs}")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Regime:
        cfg = dict(cfg)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise RegimeError(f"regime: unknown key(s) {unknown}; allowed: {sorted(known)}")
        for key in ("lr", "wd", "momentum", "warmup_epochs", "warmup_factor", "label_smoothing"):
            v = cfg.get(key)
            if isinstance(v, int) and not isinstance(v, bool):
                cfg[key] = float(v)
        return cls(**cfg)

    @property
    def base_lr(self) -> float:
        """The peak learning rate: ``lr``, times ``batch_size / 128`` when ``scale_lr``."""
        return self.lr * self.batch_size / 128 if self.scale_lr else self.lr

    def lr_at(self, epoch: float) -> float:
        """Learning rate at fractional epoch `epoch` (warmup, then half-period cosine)."""
        lr = self.base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        if epoch < self.warmup_epochs:
            alpha = epoch / self.warmup_epochs
            lr *= self.warmup_factor * (1.0 - alpha) + alpha
        return lr

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "base_lr": self.base_lr}

    def optimizer(self, model: nn.Module) -> torch.optim.SGD:
        """SGD with momentum; weight decay on every parameter, BN included (pycls default)."""
        import torch

        return torch.optim.SGD(model.parameters(), lr=self.lr_at(0.0), momentum=self.momentum,
                               weight_decay=self.wd, nesterov=self.nesterov)


def _check(value: Any, key: str, kind: type, low: float) -> None:
    ok = (isinstance(value, (int, float)) if kind is float else isinstance(value, int))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value < low:
        what = "an integer" if kind is int else "a number"
        raise RegimeError(f"regime.{key}: {value!r} is not allowed; use {what} >= {low}")
