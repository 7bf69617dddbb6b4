"""Check a ``dse-train`` / ``dse-sample`` command line before Hydra runs it: an unknown config
group option, a malformed override or an unknown flag becomes one line and exit status 2
instead of Hydra's multi-line report (docs/SWEEPS.md). Torch-free.

Every value of a choice sweep (``design_space=a,b``) is composed once; a range sweep
(``sample.index=range(0,500)``) with its first value only, since its values differ in no group.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import conf

HYDRA_FLAGS = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--resolve", "--info", "-i",
               "--package", "-p", "--run", "-r", "--config-path", "-cp", "--config-name",
               "-cn", "--config-dir", "-cd", "--shell-completion", "-sc",
               "--experimental-rerun")
MULTIRUN = ("-m", "--multirun")


def _one_line(exc: BaseException) -> str:
    text = str(exc).split("Config search path")[0]
    return " ".join(text.split())


def override_sets(overrides: Sequence[str]) -> list[list[str]]:
    """The override lists to compose: first values of every sweep, then each other value of
    each choice sweep in turn."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    base, variants = [], []
    for i, o in enumerate(parsed):
        if not o.is_sweep_override():
            base.append(o.input_line)
            continue
        values = list(o.sweep_string_iterator())
        prefix = o.get_key_element()
        base.append(f"{prefix}={values[0]}")
        if isinstance(o.value(), ChoiceSweep):
            variants += [(i, f"{prefix}={v}") for v in values[1:]]
    sets = [base]
    for i, line in variants:
        sets.append([*base[:i], line, *base[i + 1:]])
    return sets


def swept_keys(overrides: Sequence[str], params: Mapping[str, Any] | None = None) -> list[str]:
    """The keys a sweep varies (``train.seed=0,1`` → ``train.seed``): the sweeps of the
    config's ``hydra.sweeper.params`` and of the command line, which wins for a key it gives."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    by_key = {}
    for text in [f"{k}={v}" for k, v in (params or {}).items()] + list(overrides):
        (o,) = parser.parse_overrides([text])
        by_key[o.get_key_element().lstrip("+~")] = o.is_sweep_override()
    return [k for k, swept in by_key.items() if swept]


def precheck(app: str, config_name: str, argv: Sequence[str],
             validate: Callable[[Mapping[str, Any]], None] | None = None,
             validate_sweep: Callable[[Any, list[str]], None] | None = None) -> None:
    """Exit with one line when `argv` cannot be composed, or when `validate` (given each
    composed config as plain containers) raises ValueError, or, for a sweep, when
    `validate_sweep` (given the first composed config, Hydra's node included, and the keys
    the sweep varies) does (see the module docstring)."""
    if any(a.split("=")[0] in HYDRA_FLAGS for a in argv):
        return  # Hydra's own modes (help, --cfg, …) are Hydra's to handle
    flags = [a for a in argv if a.startswith("-") and a not in MULTIRUN]
    if flags:
        _fail(app, f"{flags[0]}: not an option; see {app} --help")
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from hydra.types import RunMode
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    overrides = [a for a in argv if a not in MULTIRUN]
    try:
        sets = override_sets(overrides)
        with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
            for s in sets:
                cfg = compose(config_name, s)
                if validate is not None:
                    validate(OmegaConf.to_container(cfg, resolve=True))
            if validate_sweep is not None:
                cfg = compose(config_name, sets[0], return_hydra_config=True)
                if any(a in MULTIRUN for a in argv) or cfg.hydra.mode == RunMode.MULTIRUN:
                    node = cfg.hydra.sweeper.get("params")
                    params = {} if node is None else OmegaConf.to_container(node, resolve=True)
                    validate_sweep(cfg, swept_keys(overrides, params))
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        _fail(app, _one_line(exc))


def _fail(app: str, message: str) -> None:
    print(f"{app}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)
