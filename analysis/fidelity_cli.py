"""``dse-fidelity proxy=[DIR,…] reference=[DIR,…] [order=[…]] [out=DIR]``: regime fidelity in
every design space (`analysis.fidelity.fidelity_by_space`), printed and optionally saved as CSV.

Composes ``conf/fidelity.yaml`` with the command-line overrides (Hydra's compose API, as
``dse-analyze``). Every bad input is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import conf
from anynet.record import write_text_atomic

from .fidelity import Targets, check_targets, fidelity_by_space, split_by_seed
from .sweep import SweepWarning, load_sweep
from .trainability import chance_error, num_classes_of

USAGE = ("usage: dse-fidelity proxy=[DIR,DIR] reference=[DIR,DIR] [order=[a,b,...]] "
         "[n_boot=2000] [ci=95] [seed=0] [out=DIR]  (conf/fidelity.yaml)")
KEYS = ("proxy", "reference", "order", "n_boot", "ci", "seed", "out", "targets")


def _dirs(cfg: Mapping[str, Any], key: str) -> list[Path]:
    value = cfg.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ValueError(f"{key}: {value!r} is not allowed; give sweep folders, "
                         f"{key}=[DIR,...] (a folder per training seed, or one holding several)")
    out = []
    for v in value:
        path = Path(str(v))
        if not path.is_dir():
            raise ValueError(f"{key}: {str(v)!r} is not a folder; give sweep folders")
        out.append(path)
    return out


def _int(cfg: Mapping[str, Any], key: str, low: int) -> int:
    v = cfg.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"{key}: {v!r} is not allowed; use an integer >= {low}")
    return v


def fidelity_tables(cfg: Mapping[str, Any]):
    """The three tables of a plain config (the keys of conf/fidelity.yaml): per space, per
    consecutive pair, and the targets (`check_targets`, with the proxy records' median
    seconds per model)."""
    unknown = sorted(set(cfg) - set(KEYS))
    if unknown:
        raise ValueError(f"config: unknown key(s) {unknown}; allowed: {list(KEYS)}")
    proxy = split_by_seed([load_sweep(d, allow_mixed=True) for d in _dirs(cfg, "proxy")])
    reference = split_by_seed([load_sweep(d, allow_mixed=True)
                               for d in _dirs(cfg, "reference")])
    ci = cfg.get("ci")
    if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not 0 < ci < 100:
        raise ValueError(f"ci: {ci!r} is not allowed; use a percentage in (0, 100)")
    order = cfg.get("order")
    if order is not None and (isinstance(order, str) or not isinstance(order, Sequence)):
        raise ValueError(f"order: {order!r} is not allowed; use a list of design spaces")
    targets = targets_of(cfg)
    chance = chance_error(num_classes_of(proxy[0]))
    spaces, pairs = fidelity_by_space(proxy, reference, None if order is None else list(order),
                                      chance_error=chance, n_boot=_int(cfg, "n_boot", 1),
                                      ci=float(ci), seed=_int(cfg, "seed", 0))
    seconds = proxy[0].groupby("design_space")["wall_seconds"].median()
    return spaces, pairs, check_targets(spaces, pairs, seconds, targets)


def targets_of(cfg: Mapping[str, Any]) -> Targets:
    """The ``targets`` mapping of the config as `Targets` (unknown or non-numeric keys: one
    line)."""
    given = cfg.get("targets") or {}
    fields = [f.name for f in dataclasses.fields(Targets)]
    if not isinstance(given, Mapping):
        raise ValueError(f"targets: {given!r} is not allowed; give a mapping of {fields}")
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise ValueError(f"targets: unknown key(s) {unknown}; allowed: {fields}")
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"targets.{key}: {value!r} is not allowed; use a number >= 0")
    return Targets(**{k: (int(v) if k == "min_models" else float(v)) for k, v in given.items()})


def compose(overrides: Sequence[str]) -> dict[str, Any]:
    """conf/fidelity.yaml with `overrides`, as a plain dict (`conf.compose_plain`)."""
    return conf.compose_plain("fidelity", overrides)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``dse-fidelity``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        print(f"keys (key=value; defaults from conf/fidelity.yaml):\n{conf.describe('fidelity')}")
        return
    try:
        flags = [a for a in args if a.startswith("-")]
        if flags:
            raise ValueError(f"{flags[0]}: not an option; {USAGE}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SweepWarning)
            cfg = compose(args)
            spaces, pairs, judged = fidelity_tables(cfg)
        if cfg.get("out"):
            out = Path(str(cfg["out"]))
            write_text_atomic(out / "fidelity_spaces.csv",
                              spaces.to_csv(index=False, float_format="%.4f"))
            write_text_atomic(out / "fidelity_pairs.csv",
                              pairs.to_csv(index=False, float_format="%.4f"))
            write_text_atomic(out / "fidelity_targets.csv",
                              judged.to_csv(index=False, float_format="%.4f"))
    except ValueError as exc:
        print(f"dse-fidelity: {str(exc).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        print(f"dse-fidelity: {exc}", file=sys.stderr)
        sys.exit(1)
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    print(spaces.to_string(**fmt))
    print()
    print(pairs.to_string(**fmt) if len(pairs) else "(no pairs)")
    print()
    print(judged.to_string(**fmt))


if __name__ == "__main__":
    main()
