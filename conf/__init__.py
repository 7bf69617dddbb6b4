"""The toolkit's Hydra configs, shipped inside the package (docs/ARCHITECTURE.md "Configuration
keys"). `path()` is the one way every command and `sampling.load_design_space` find them, from a
source checkout and from an installed wheel alike. Your own design spaces live outside it: put
them in ``<dir>/design_space/<name>.yaml`` and add ``hydra.searchpath=[file://<dir>]`` (or set
``ANYNET_DSE_CONF=<dir>``, read by `search_dirs`), see docs/DESIGN_SPACES.md."""

from __future__ import annotations

import os
from pathlib import Path

USER_CONF_ENV = "ANYNET_DSE_CONF"


def path() -> Path:
    """The folder holding config.yaml, sample.yaml, analyze.yaml and the config groups."""
    return Path(__file__).resolve().parent


def search_dirs() -> list[Path]:
    """Extra config folders from ``$ANYNET_DSE_CONF`` (os.pathsep-separated), in order."""
    value = os.environ.get(USER_CONF_ENV, "")
    return [Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p.strip()]
