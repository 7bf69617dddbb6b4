"""Check a ``dse-train`` / ``dse-sample`` command line before Hydra runs it: an unknown config
group option, a malformed override, an unknown flag or a bad value (of a key typed in
conf/schema.py: `conf.check.error_line`) becomes one line and exit status 2 instead of Hydra's
multi-line report, before any job or folder is made (docs/SWEEPS.md). Torch-free.

Every value of a choice sweep (``design_space=a,b``) is composed once; a range sweep
(``sample.index=range(0,500)``) with its first, smallest and largest values, since its values
differ in no group, and every one of its values is then given to a cheap per-value check
(``validate_values``: dse-train's settings check of sample.index, sample.seed, train.seed), so
a bad value in the middle of a sweep stops it before its first job too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import conf
from conf.check import error_line

HYDRA_FLAGS = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--resolve", "--info", "-i",
               "--package", "-p", "--run", "-r", "--config-path", "-cp", "--config-name",
               "-cn", "--config-dir", "-cd", "--shell-completion", "-sc",
               "--experimental-rerun")
MULTIRUN = ("-m", "--multirun")
# Characters that make an unquoted value mean something else (a list, a dict, a function
# call, a sweep, a quoted string): a value with one of them is not just a plain string.
GRAMMAR_CHARS = set("[]{}()'\",")


def _one_line(exc: BaseException) -> str:
    text = str(exc).split("Config search path")[0]
    return " ".join(text.split())


def quoting_hint(overrides: Sequence[str]) -> str | None:
    """One line for the first override Hydra's grammar cannot read only because its value is
    unquoted (``sweep.dir=runs/ésai``: letters beyond ASCII, ``#``, ``;``, ``&`` …): it names
    the key and shows the quoted form, which is read as that plain string. None otherwise."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    for text in overrides:
        try:
            parser.parse_overrides([text])
            continue
        except HydraException:
            pass
        key, sep, value = text.partition("=")
        if not sep or GRAMMAR_CHARS & set(value):
            return None
        try:
            parser.parse_overrides([f"{key}='{value}'"])
        except HydraException:
            return None
        return (f"{key}: {value!r} must be quoted on the command line (unquoted, Hydra's "
                "override grammar allows only ASCII letters, digits, spaces and _-/+.:$%*@?|); "
                f"give \"{key}='{value}'\" (Hydra's single quotes inside the shell's double "
                "quotes)")
    return None


def override_sets(overrides: Sequence[str], config_loader: Any = None) -> list[list[str]]:
    """The override lists to compose: first values of every sweep, then each other value of
    each choice sweep and the smallest and largest value of each range sweep, in turn. A glob
    over a config group is expanded with `config_loader` (Hydra's, inside a compose context).
    A sweep with no value (``range(5,0)``, a glob that matches nothing) is a ValueError."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep

    parsed = OverridesParser.create(config_loader).parse_overrides(list(overrides))
    base, variants = [], []
    for i, o in enumerate(parsed):
        if not o.is_sweep_override():
            base.append(o.input_line)
            continue
        values = list(o.sweep_string_iterator())
        prefix = o.get_key_element()
        if not values:
            raise ValueError(f"{prefix}: {o.input_line.partition('=')[2]!r} sweeps no value; "
                             "give at least one")
        base.append(f"{prefix}={values[0]}")
        if isinstance(o.value(), ChoiceSweep):
            variants += [(i, f"{prefix}={v}") for v in values[1:]]
        elif isinstance(o.value(), RangeSweep) and len(values) > 1:
            numbers = list(o.sweep_iterator())
            first = numbers[values.index(values[0])]
            variants += [(i, f"{prefix}={v}") for v in dict.fromkeys((min(numbers),
                                                                      max(numbers)))
                         if v != first]
    sets = [base]
    for i, line in variants:
        sets.append([*base[:i], line, *base[i + 1:]])
    return sets


def _sweeps(overrides: Sequence[str], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parsed override of each key, from the config's ``hydra.sweeper.params`` and the
    command line, which wins for a key it gives."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    by_key = {}
    for text in [f"{k}={v}" for k, v in (params or {}).items()] + list(overrides):
        (o,) = parser.parse_overrides([text])
        by_key[o.get_key_element().lstrip("+~")] = o
    return by_key


def swept_keys(overrides: Sequence[str], params: Mapping[str, Any] | None = None) -> list[str]:
    """The keys a sweep varies (``train.seed=0,1`` → ``train.seed``): the sweeps of the
    config's ``hydra.sweeper.params`` and of the command line, which wins for a key it gives."""
    return [k for k, o in _sweeps(overrides, params).items() if o.is_sweep_override()]


def range_values(overrides: Sequence[str],
                 params: Mapping[str, Any] | None = None) -> dict[str, list[Any]]:
    """Every value of each range sweep (``sample.index=range(2,-1,-1)`` → ``{"sample.index":
    [2, 1, 0]}``), of the config's ``hydra.sweeper.params`` and of the command line (which
    wins for a key it gives)."""
    from hydra.core.override_parser.types import RangeSweep

    return {k: list(o.sweep_iterator()) for k, o in _sweeps(overrides, params).items()
            if isinstance(o.value(), RangeSweep)}


def precheck(app: str, config_name: str, argv: Sequence[str],
             validate: Callable[[Mapping[str, Any]], None] | None = None,
             validate_sweep: Callable[[Any, list[str]], None] | None = None,
             validate_values: Callable[[Mapping[str, Any], str, list[Any]], None] | None = None,
             ) -> dict[str, Any] | None:
    """Exit with one line when `argv` cannot be composed, or when `validate` (given each
    composed config as plain containers) raises ValueError, or, for a sweep, when
    `validate_sweep` (given the first composed config, Hydra's node included, and the keys
    the sweep varies) or `validate_values` (given the first composed config as plain
    containers, the key of a range sweep and all its values) does (see the module docstring).
    A sweep without ``-m`` (or ``hydra.mode: MULTIRUN``) is refused too. Returns the first
    composed config as plain containers (None for Hydra's own modes, such as ``--help``)."""
    if any(a.split("=")[0] in HYDRA_FLAGS for a in argv):
        return None  # Hydra's own modes (help, --cfg, …) are Hydra's to handle
    flags = [a for a in argv if a.startswith("-") and a not in MULTIRUN]
    if flags:
        _fail(app, f"{flags[0]}: not an option; see {app} --help")
    late = [i for i, a in enumerate(argv) if a in MULTIRUN and 0 < i < len(argv) - 1]
    if late:
        _fail(app, f"{argv[late[0]]}: give it before the overrides ({app} -m KEY=VALUE ...), "
              "not among them")
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException, OverrideParseException
    from hydra.types import RunMode
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    overrides = [a for a in argv if a not in MULTIRUN]
    try:
        OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as exc:
        _fail(app, quoting_hint(overrides) or conf.unparsable_key(overrides) + _one_line(exc))
    first = None
    try:
        with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
            sets = override_sets(overrides, GlobalHydra.instance().config_loader())
            for s in sets:
                plain = OmegaConf.to_container(compose(config_name, s), resolve=True)
                first = plain if first is None else first
                if validate is not None:
                    validate(plain)
            cfg = compose(config_name, sets[0], return_hydra_config=True)
            multirun = any(a in MULTIRUN for a in argv) or cfg.hydra.mode == RunMode.MULTIRUN
            node = cfg.hydra.sweeper.get("params") if multirun else None
            params = {} if node is None else OmegaConf.to_container(node, resolve=True)
            swept = swept_keys(overrides, params)
            if swept and not multirun:
                _fail(app, f"{swept[0]}: a sweep of several values runs as a multirun; give "
                      f"-m before the overrides ({app} -m KEY=VALUE ...)")
            if multirun and validate_sweep is not None:
                validate_sweep(cfg, swept)
            if multirun and validate_values is not None:
                for key, values in range_values(overrides, params).items():
                    validate_values(first, key, values)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        _fail(app, error_line(exc) or _one_line(exc))
    except TypeError as exc:  # e.g. a list given for a config group: design_space=[1]
        _fail(app, _group_value(overrides) or f"config: {_one_line(exc)}")
    return first


def _group_value(overrides: Sequence[str]) -> str | None:
    """The line for the first override that gives a config group something other than the
    name of one of its configs (``design_space=[1]``), or None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for o in OverridesParser.create().parse_overrides(list(overrides)):
        key = o.get_key_element().lstrip("+~")
        if (conf.path() / key).is_dir() and not isinstance(o.value(), str):
            return (f"{key}: {o.input_line.partition('=')[2]} is not allowed; give the name of "
                    f"a config in conf/{key}/")
    return None


def _fail(app: str, message: str) -> NoReturn:
    print(f"{app}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)
