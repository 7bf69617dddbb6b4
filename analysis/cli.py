"""``dse-analyze sweep.dir=PATH [out=DIR] [propose=true] [plan=NAME]``: the report of a
sweep.

Composes ``conf/analyze.yaml`` with the command-line overrides (Hydra's compose API: no
output folders, no logging setup), loads the sweep, fits the rule to every ok model once,
writes report.html (inline SVG), figures/*.png and the CSV tables, optionally proposes a RegNet
design space, and prints the report path last. Every bad input is one line on stderr and exit
status 2 (1 when writing fails), never a traceback.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import conf

from .population import with_fits
from .propose import propose_regnet
from .report import ReportSettings, write_report
from .stats import space_summary
from .sweep import SweepWarning, load_sweep, ok_rows

USAGE = ("usage: dse-analyze sweep.dir=PATH [out=DIR] [metric=error|min_error] [bins=10] "
         "[top=20] [n_boot=10000] [seed=0] [fit=true] [pairs=all|consecutive] "
         "[order=[a,b,...]] [plan=NAME | plan_file=PLAN.yaml] [propose=true propose_name=NAME "
         "propose_top=100 propose_path=PATH] [allow_mixed=true|[FIELD,...]] [num_classes=K] "
         "[trained_test=fisher|barnard|boschloo]  (conf/analyze.yaml)")


def _int(cfg: Mapping[str, Any], key: str, default: int) -> int:
    v = cfg.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{key}: {v!r} is not allowed; use an integer")
    return v


def _bool(cfg: Mapping[str, Any], key: str, default: bool) -> bool:
    v = cfg.get(key, default)
    if not isinstance(v, bool):
        raise ValueError(f"{key}: {v!r} is not allowed; use true or false")
    return v


def _allow_mixed(cfg: Mapping[str, Any]) -> bool | list[str]:
    """``allow_mixed``: true/false, or the run-identity fields allowed to differ (e.g.
    ``[train_seed]``; a field covers its sub-fields, ``regime`` covers ``regime.lr``)."""
    v = cfg.get("allow_mixed", False)
    if isinstance(v, bool):
        return v
    if isinstance(v, Sequence) and not isinstance(v, str) and all(isinstance(x, str) for x in v):
        return list(v)
    raise ValueError(f"allow_mixed: {v!r} is not allowed; use true, false or a list of "
                     "run-identity fields, e.g. [train_seed]")


def settings_from(cfg: Mapping[str, Any]) -> ReportSettings:
    """`ReportSettings` from the keys of conf/analyze.yaml (ValueError naming a bad key)."""
    order = cfg.get("order")
    if order is not None and (isinstance(order, str) or not isinstance(order, Sequence)):
        raise ValueError(f"order: {order!r} is not allowed; use a list of design spaces")
    alpha = cfg.get("alpha", 0.05)
    return ReportSettings(
        metric=cfg.get("metric", "error"), bins=_int(cfg, "bins", 10), top=_int(cfg, "top", 20),
        n_boot=_int(cfg, "n_boot", 10_000), seed=_int(cfg, "seed", 0),
        fit=_bool(cfg, "fit", True), pairs=cfg.get("pairs", "all"),
        order=None if order is None else tuple(str(s) for s in order),
        alpha=float(alpha) if isinstance(alpha, (int, float)) and not isinstance(alpha, bool)
        else alpha,
        curves=_int(cfg, "curves", 3),
        num_classes=None if cfg.get("num_classes") is None else _int(cfg, "num_classes", 10),
        trained_test=cfg.get("trained_test", "fisher"))


def _sweep_dir(cfg: Mapping[str, Any]) -> Path:
    sweep = cfg.get("sweep")
    value = sweep.get("dir") if isinstance(sweep, Mapping) else None
    if not isinstance(value, str) or not value:
        raise ValueError(f"sweep.dir: {value!r} is not allowed; give the sweep's folder")
    path = Path(value)
    if not path.exists():
        raise ValueError(f"sweep.dir: {value!r} does not exist; give the folder of a sweep "
                         "(sweep.dir of dse-train)")
    if not path.is_dir():
        raise ValueError(f"sweep.dir: {value!r} is a file; give the folder of a sweep")
    return path


def _plan(cfg: Mapping[str, Any]) -> Any:
    """The analysis plan: ``plan_file`` (a YAML path, `analysis.plan.load_plan`), else
    ``plan`` (a name of conf/plan/ or a YAML path, `analysis.plan.find_plan`, or the mapping
    Hydra composed from ``plan=<name of conf/plan/>``)."""
    path, plan = cfg.get("plan_file"), cfg.get("plan")
    if path is not None and plan is not None:
        raise ValueError("plan_file: give plan=<name> or plan_file=<path>, not both")
    if path is not None or isinstance(plan, (str, Path)):
        try:
            from .plan import find_plan, load_plan
        except ImportError as exc:
            raise ValueError(f"plan_file: analysis plans are not available ({exc})") from None
        return load_plan(path if path is not None else find_plan(str(plan)))
    if plan is not None and not isinstance(plan, Mapping):
        raise ValueError(f"plan: {plan!r} is not allowed; use plan=<name of conf/plan/>")
    return plan


def _check_writable(out: Path) -> None:
    """Fail before any work when the report folder cannot be written (OSError naming it)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file; give a folder for the report")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(out)) from None


def _counts(df) -> list[str]:
    lines = []
    for r in space_summary(df).itertuples():
        other = r.n_records - r.n - r.n_diverged - r.n_failed
        parts = [(r.n, "ok"), (r.n_diverged, "diverged"), (r.n_failed, "failed"),
                 (other, "without a finite metric")]
        lines.append(f"  {r.design_space}: " + ", ".join(f"{n} {k}" for n, k in parts if n))
    return lines


def analyze(cfg: Mapping[str, Any]) -> Path:
    """Run the analysis described by a plain config dict (the keys of conf/analyze.yaml);
    return the report's path. Bad values raise ValueError naming the key."""
    sweep_dir = _sweep_dir(cfg)
    settings = settings_from(cfg)
    out = Path(cfg.get("out") or sweep_dir / "report")
    _check_writable(out)
    plan = _plan(cfg)
    df = load_sweep(sweep_dir, allow_mixed=_allow_mixed(cfg))
    print(f"{sweep_dir}: {len(df)} records")
    if len(df):
        for line in _counts(df):
            print(line)
    ok = ok_rows(df, settings.metric) if len(df) else df
    if settings.fit and len(ok):
        df = with_fits(df, settings.metric)
    path = write_report(df, out, settings, source=str(sweep_dir), plan=plan)
    if _bool(cfg, "propose", False) and len(ok):
        top = cfg.get("propose_top")
        if top is not None:
            top = _int(cfg, "propose_top", 100)
        proposed = propose_regnet(df, top=top, name=str(cfg.get("propose_name")),
                                  path=cfg.get("propose_path"), n=settings.n_boot,
                                  seed=settings.seed, metric=settings.metric)
        print(f"proposed design space: {proposed.path}")
    print(f"report: {path}")
    return path


def compose(overrides: Sequence[str]) -> dict[str, Any]:
    """conf/analyze.yaml with `overrides`, as a plain dict (`conf.compose_plain`)."""
    return conf.compose_plain("analyze", overrides)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``dse-analyze``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        print(f"keys (key=value; defaults from conf/analyze.yaml):\n{conf.describe('analyze')}")
        return
    flags = [a for a in args if a.startswith("-")]
    if flags:
        _fail(f"{flags[0]}: not an option; {USAGE}", 2)
    failure: tuple[str, int] | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SweepWarning)
        try:
            analyze(compose(args))
        except ValueError as exc:
            failure = (str(exc).splitlines()[0], 2)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            failure = (f"{where}{exc.strerror or exc}", 1)
    for w in caught:
        print(f"dse-analyze: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    if failure is not None:
        _fail(*failure)


def _fail(message: str, status: int) -> None:
    print(f"dse-analyze: {message}", file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
