"""AnyNet/RegNet model family, the RegNet rule, analytic complexity and the published zoo."""

from . import zoo
from .complexity import complexity
from .model import build_model
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
