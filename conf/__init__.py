"""The toolkit's Hydra configs, shipped inside the package (docs/ARCHITECTURE.md "Configuration
keys"). `path()` is the one way every command and `sampling.load_design_space` find them, from a
source checkout and from an installed wheel alike. Your own design spaces live outside it: put
them in ``<dir>/design_space/<name>.yaml`` and add ``hydra.searchpath=[file://<dir>]`` (or set
``ANYNET_DSE_CONF=<dir>``, read by `search_dirs`), see docs/DESIGN_SPACES.md."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import check, schema

USER_CONF_ENV = "ANYNET_DSE_CONF"


def path() -> Path:
    """The folder holding config.yaml, sample.yaml, analyze.yaml and the config groups."""
    return Path(__file__).resolve().parent


def search_dirs() -> list[Path]:
    """Extra config folders from ``$ANYNET_DSE_CONF`` (os.pathsep-separated), in order."""
    value = os.environ.get(USER_CONF_ENV, "")
    return [Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p.strip()]


def compose_plain(config_name: str, overrides: Sequence[str], folder: Path | None = None
                  ) -> dict[str, Any]:
    """``conf/<config_name>.yaml`` (or ``<folder>/<config_name>.yaml``, e.g. ``conf/study``,
    whose keys then never meet conf's groups) with `overrides` through Hydra's compose API (no
    output folders, no logging setup, no global state left behind), resolved to plain
    containers. A bad override or value is a one-line `check.ConfigError`, a ValueError
    (`check.error_line` for a key typed in `conf.schema`)."""
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(folder or path()), version_base=None):
            cfg = compose(config_name=config_name, overrides=list(overrides))
        return OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise check.ConfigError(check.error_line(exc) or unparsable_key(overrides)
                                + " ".join(str(exc).split())) from None
    except yaml.YAMLError as exc:  # a config file that is not YAML at all
        raise check.ConfigError(yaml_error_line(exc)) from None


def yaml_error_line(exc: Exception) -> str:
    """One line for a file PyYAML cannot parse: the file, the line and column, the problem."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    if mark is None:
        return f"config: not valid YAML ({problem})"
    return (f"{mark.name}: not valid YAML at line {mark.line + 1}, column {mark.column + 1}: "
            f"{problem}; fix the file")


def unparsable_key(overrides: Sequence[str]) -> str:
    """``"<key>: "`` of the first override Hydra cannot parse (its error names no key)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    for text in overrides:
        try:
            parser.parse_overrides([text])
        except HydraException:
            return f"{text.partition('=')[0] or text}: "
    return ""


schema.register()  # before anything composes a config whose defaults list names a schema
