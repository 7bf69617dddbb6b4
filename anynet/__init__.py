"""AnyNet/RegNet model family, the RegNet rule, analytic complexity, the published zoo and the
run-record contract (docs/ARCHITECTURE.md "Public API").

Only `build_model` needs torch; it is imported on first access (PEP 562), so the torch-free parts
(`AnyNetSpec`, `complexity`, the RegNet rule, `zoo`, `anynet.record`, `anynet.labels`) load
without torch, and so do the sampling package and a sweep's launching process.
"""

from __future__ import annotations

from typing import Any

from . import zoo
from .complexity import complexity
from .regnet import (
    RegNetStages,
    adjust_compatibility,
    regnet_block_widths,
    regnet_spec,
    regnet_stages,
)
from .spec import AnyNetSpec

__all__ = [
    "AnyNetSpec",
    "RegNetStages",
    "adjust_compatibility",
    "build_model",
    "complexity",
    "regnet_block_widths",
    "regnet_spec",
    "regnet_stages",
    "zoo",
]


def __getattr__(name: str) -> Any:
    if name == "build_model":
        from .model import build_model

        return build_model
    raise AttributeError(f"module 'anynet' has no attribute {name!r}")
