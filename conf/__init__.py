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

USER_CONF_ENV = "ANYNET_DSE_CONF"


def path() -> Path:
    """The folder holding config.yaml, sample.yaml, analyze.yaml and the config groups."""
    return Path(__file__).resolve().parent


def search_dirs() -> list[Path]:
    """Extra config folders from ``$ANYNET_DSE_CONF`` (os.pathsep-separated), in order."""
    value = os.environ.get(USER_CONF_ENV, "")
    return [Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p.strip()]


def describe(config_name: str) -> str:
    """One line per key of ``conf/<config_name>.yaml`` (nested keys dotted, e.g. ``sweep.dir``):
    its default and the comment beside it (what ``--help`` of the compose-based commands
    prints)."""
    lines, parent = [], None
    for raw in (path() / f"{config_name}.yaml").read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped[0] in "#-" or ":" not in stripped:
            continue
        indent = len(raw) - len(raw.lstrip())
        key, _, rest = stripped.partition(":")
        value, _, comment = rest.partition("#")
        if indent == 0:
            parent = None if value.strip() else key
            if parent is not None or key in ("defaults", "hydra"):
                continue
        elif indent == 2 and parent not in (None, "defaults", "hydra"):
            key = f"{parent}.{key}"
        else:
            continue
        lines.append((key.strip(), value.strip(), comment.strip()))
    width = max([14, *(len(k) for k, _, _ in lines)])
    return "\n".join(f"  {k:<{width}} {v:<22} {c}".rstrip() for k, v, c in lines)


def compose_plain(config_name: str, overrides: Sequence[str]) -> dict[str, Any]:
    """``conf/<config_name>.yaml`` with `overrides` through Hydra's compose API (no output
    folders, no logging setup, no global state left behind), resolved to plain containers. A
    bad override or value is a one-line ValueError."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(path()), version_base=None):
            cfg = compose(config_name=config_name, overrides=list(overrides))
        return OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ValueError(unparsable_key(overrides) + " ".join(str(exc).split())) from None


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
