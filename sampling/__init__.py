"""Design spaces as data ([DDS] §3): parameter domains, distributions, constraints, exact
index-addressable sampling and cardinality. See docs/DESIGN_SPACES.md."""

from .anynet_space import AnyNetSpace
from .config import available, load_design_space, space_from_config
from .regnet_space import RegNetSpace
from .space import DesignSpace, Population, Sample, Stats

__all__ = [
    "AnyNetSpace",
    "DesignSpace",
    "Population",
    "RegNetSpace",
    "Sample",
    "Stats",
    "available",
    "load_design_space",
    "space_from_config",
]
