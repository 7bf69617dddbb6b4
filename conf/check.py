"""The one checker of typed settings (docs/ARCHITECTURE.md "Configuration keys").

A settings dataclass (conf/schema.py) declares each key's type, default and what it allows
(`setting`); `checked` checks a mapping against it, `error_line` turns the multi-line error
OmegaConf raises while Hydra composes a typed config into the same one line, and `describe`
lists the keys for ``--help``. Every bad value is one `ConfigError` line naming the key, the
value and what is allowed. Pure functions; imports only the standard library (and OmegaConf's
error types inside `error_line`).
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from functools import partial
from typing import Any, Union, get_args, get_origin, get_type_hints

NONEMPTY = r"(?s).+"  # a `pattern`: any string but ""
NONBLANK = r"(?s).*\S.*"  # a `pattern`: a string with more than white space


class ConfigError(ValueError):
    """A bad config value: one line naming the key, the value and what is allowed."""


@dataclass(frozen=True)
class Allowed:
    """What a setting allows beyond its type: `low` and `high` (included, or both excluded
    with `open`), a closed set of `choices`, a `pattern` a string must match in full (with
    `choices`: the other values allowed), and `words`, how a message names what is allowed
    where the generated words ("an integer >= 1", "one of final, epoch") do not fit."""

    low: float | None = None
    high: float | None = None
    open: bool = False
    choices: tuple[Any, ...] = ()
    pattern: str | None = None
    words: str | None = None


def setting(default: Any = MISSING, doc: str = "", **allowed: Any) -> Any:
    """A field of a settings dataclass: its `default` (none: the key is required; a list or a
    settings dataclass is made afresh for each instance), `doc` (its line in ``--help``) and
    what it allows (the keywords of `Allowed`)."""
    meta = {"doc": doc, "allowed": Allowed(**allowed)}
    if isinstance(default, list):
        return field(default_factory=partial(list, default), metadata=meta)
    if isinstance(default, type) and is_dataclass(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


def checked(values: Mapping[str, Any] | None, schema: type, prefix: str = "", *,
            others: Sequence[str] = (), rules: Mapping[str, Allowed] | None = None,
            error: type[ValueError] = ConfigError) -> dict[str, Any]:
    """`values` checked against the dataclass `schema`, as a dict with every field (a missing
    one takes its default). `prefix`: the dotted section of the keys (``"train."``). A key that
    is neither a field nor in `others` (keys checked elsewhere, passed through) is refused;
    `rules` replace what a field allows by dotted key, for what the schema cannot know: a
    bound of this machine (``train.threads``: its CPUs) or a vocabulary a lower layer owns.
    A bad key or value raises `error` (`check_value`)."""
    values = {} if values is None else values
    section = prefix.rstrip(".") or "config"
    names = [f.name for f in fields(schema)]
    unknown = sorted(set(values) - set(names) - set(others))
    if unknown:
        raise error(f"{section}: unknown key(s) {unknown}; allowed: {[*names, *others]}")
    hints = get_type_hints(schema)
    out = dict(values)
    for f in fields(schema):
        key = prefix + f.name
        allowed = (rules or {}).get(key, f.metadata.get("allowed", Allowed()))
        value = check_value(key, values[f.name] if f.name in values else _default(f),
                            hints[f.name], allowed, error)
        kind, _ = _unwrap(hints[f.name])
        if _is_schema(kind) and value is not None:
            value = checked(value, kind, key + ".", rules=rules, error=error)
        out[f.name] = value
    return out


def check_value(key: str, value: Any, hint: Any, allowed: Allowed = Allowed(),
                error: type[ValueError] = ConfigError) -> Any:
    """`value` of setting `key` if its type `hint` and `allowed` take it (a ``float`` as a
    float), else an `error` (a package's own ValueError, e.g. ``train.data.DataError``)
    naming the key, the value and what is allowed, e.g. ``check_value("data.test_size",
    cfg.get("test_size", 2500), int, Allowed(low=1))``."""
    kind, optional = _unwrap(hint)
    if value is None and optional:
        return None
    ok = value is not None and _is(value, kind)
    if ok and isinstance(value, float) and not math.isfinite(value):
        ok = False
    if ok and (allowed.choices or allowed.pattern):
        ok = value in allowed.choices or (allowed.pattern is not None and isinstance(value, str)
                                          and re.fullmatch(allowed.pattern, value) is not None)
    if ok and isinstance(value, (int, float)) and not isinstance(value, bool):
        ok = _within(value, allowed)
    if not ok:
        raise error(f"{key}: {value!r} is not allowed; use {words(hint, allowed, key)}")
    return float(value) if kind is float else value


def words(hint: Any, allowed: Allowed = Allowed(), key: str = "") -> str:
    """What a setting of type `hint` allows, in the words of a message ("an integer >= 0")."""
    if allowed.words:
        return allowed.words
    if allowed.choices:
        return "one of " + ", ".join(str(c) for c in allowed.choices)
    kind, _ = _unwrap(hint)
    if kind is bool:
        return "true or false"
    if kind is str:
        return "a string"
    if _is_schema(kind):
        return f"a mapping of {key}.* keys ({', '.join(f.name for f in fields(kind))})"
    if (get_origin(kind) or kind) in (list, tuple):
        return "a list"
    if kind is not int and not _numeric(kind):
        return "any value"
    noun = "an integer" if kind is int else "a number"
    low, high = allowed.low, allowed.high
    if low is not None and high is not None:
        if kind is int:
            return f"{noun} from {low} to {high}"
        left, right = "()" if allowed.open else "[]"
        return f"{noun} in {left}{low}, {high}{right}"
    if low is not None:
        return f"{noun} {'>' if allowed.open else '>='} {low}"
    if high is not None:
        return f"{noun} {'<' if allowed.open else '<='} {high}"
    return noun


def error_line(exc: BaseException) -> str | None:
    """The one line for an error of OmegaConf met while composing a config typed by a
    settings dataclass (Hydra wraps it: its causes are searched): a value its type does not
    take (``train.threads=abc``), or a key it does not have, merged from a config file (an
    override of a missing key keeps Hydra's line, which names the ``+KEY`` form). None for
    any other error. Hydra raises its own error from OmegaConf's: the chain Python would
    print is followed."""
    from omegaconf.errors import ConfigKeyError, ValidationError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ValidationError, ConfigKeyError)):
            return _omegaconf_line(seen, isinstance(seen, ValidationError))
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return None


def describe(schema: type, prefix: str = "") -> str:
    """One line per key of `schema` (nested keys dotted, e.g. ``sweep.dir``): its default and
    its doc (what ``--help`` of the compose-based commands prints)."""
    rows = _rows(schema, prefix)
    width = max([14, *(len(k) for k, _, _ in rows)])
    return "\n".join(f"  {k:<{width}} {v:<22} {c}".rstrip() for k, v, c in rows)


def _rows(schema: type, prefix: str) -> list[tuple[str, str, str]]:
    hints, rows = get_type_hints(schema), []
    for f in fields(schema):
        kind, _ = _unwrap(hints[f.name])
        if _is_schema(kind):
            rows += _rows(kind, f"{prefix}{f.name}.")
        else:
            rows.append((prefix + f.name, _shown(_default(f)), f.metadata.get("doc", "")))
    return rows


def _omegaconf_line(exc: Any, bad_value: bool) -> str | None:
    schema, key = exc.object_type, exc.key
    if not _is_schema(schema) or key is None:
        return None
    full = str(exc.full_key or key)
    by_name = {f.name: f for f in fields(schema)}
    if str(key) not in by_name:
        if bad_value:
            return None
        section = full.rpartition(".")[0] or "config"
        return f"{section}: unknown key(s) {[str(key)]}; allowed: {list(by_name)}"
    if not bad_value:
        return None
    f = by_name[str(key)]
    hint = get_type_hints(schema)[f.name]
    return (f"{full}: {exc.value!r} is not allowed; use "
            f"{words(hint, f.metadata.get('allowed', Allowed()), full)}")


def _default(f: Any) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        value = f.default_factory()
        return asdict(value) if is_dataclass(value) else value
    return None


def _shown(value: Any) -> str:
    """A default as YAML writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    return str(value)


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """The type of `hint` without None (a tuple for a union of several), and whether None
    is allowed."""
    if hint is Any:
        return Any, True
    if get_origin(hint) in (Union, types.UnionType):
        args = get_args(hint)
        rest = tuple(a for a in args if a is not type(None))
        return (rest[0] if len(rest) == 1 else rest), len(rest) < len(args)
    return hint, False


def _is(value: Any, kind: Any) -> bool:
    if kind is Any:
        return True
    if isinstance(kind, tuple):
        return any(_is(value, k) for k in kind)
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    if _is_schema(kind):
        return isinstance(value, Mapping)
    if (get_origin(kind) or kind) in (list, tuple):
        return isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    return isinstance(value, kind)


def _numeric(kind: Any) -> bool:
    return kind is float or (isinstance(kind, tuple) and set(kind) <= {int, float})


def _within(value: float, allowed: Allowed) -> bool:
    low, high = allowed.low, allowed.high
    if low is not None and not (value > low if allowed.open else value >= low):
        return False
    return high is None or (value < high if allowed.open else value <= high)


def _is_schema(kind: Any) -> bool:
    return isinstance(kind, type) and is_dataclass(kind)
