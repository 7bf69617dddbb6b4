"""``dse-analyze sweep.dir=PATH [out=DIR] [propose=true] [plan=NAME]``: the report of a
sweep.

Composes ``conf/analyze.yaml`` with the command-line overrides (Hydra's compose API: no
output folders, no logging setup), loads the sweep, fits the rule to every ok model once,
writes report.html (inline SVG), figures/*.png and the CSV tables, optionally proposes a RegNet
design space, and prints the report path last. Every bad input is one line on stderr and exit
status 2 (1 when writing fails), never a traceback.
"""

from __future__ import annotations

import errno
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import conf
from anynet.record import RECORD_NAME, STATUSES, find_records
from anynet.system import quiet_broken_pipe

from .population import with_fits
from .propose import propose_regnet
from .report import ReportSettings, write_report
from .stats import space_summary
from .sweep import SweepWarning, load_sweep, mixed_fields, ok_rows

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
    ``[train_seed]``; a field covers its sub-fields, ``regime`` covers ``regime.lr``;
    ``population``: populations of one space drawn with other settings)."""
    v = cfg.get("allow_mixed", False)
    if isinstance(v, bool):
        return v
    if isinstance(v, Sequence) and not isinstance(v, str) and all(isinstance(x, str) for x in v):
        mixed_fields(v)  # an unknown field: one line listing the allowed ones
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


# The keys of conf/analyze.yaml (``sweep`` holds only ``dir``).
KEYS = ("sweep", "out", "metric", "allow_mixed", "bins", "top", "n_boot", "seed", "fit",
        "pairs", "order", "alpha", "num_classes", "trained_test", "curves", "plan", "plan_file",
        "propose", "propose_name", "propose_top", "propose_path")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _check_keys(cfg: Mapping[str, Any]) -> None:
    """Unknown keys (``+bogus=1``) and the keys read only after the report, checked first."""
    unknown = sorted(set(cfg) - set(KEYS))
    sweep = cfg.get("sweep")
    if isinstance(sweep, Mapping):
        unknown += [f"sweep.{k}" for k in sorted(set(sweep) - {"dir"})]
    if unknown:
        raise ValueError(f"config: unknown key(s) {unknown}; allowed: {list(KEYS)} (sweep.dir)")
    out = cfg.get("out")
    if out is not None and (not isinstance(out, str) or not out):
        raise ValueError(f"out: {out!r} is not allowed; give a folder for the report")
    order = cfg.get("order")
    if isinstance(order, Sequence) and not isinstance(order, str):
        twice = sorted({str(x) for x in order if list(order).count(x) > 1})
        if twice:
            raise ValueError(f"order: {twice} given twice; name each design space once")
    if _bool(cfg, "propose", False):
        if cfg.get("propose_top") is not None:
            top = _int(cfg, "propose_top", 100)
            if top < 1:
                raise ValueError(f"propose_top: {top} is not allowed; use an integer >= 1")
        name = cfg.get("propose_name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"propose_name: {name!r} is not allowed; use a config name "
                             "(letters, digits, _ . -; no path)")
        _check_propose_path(cfg.get("propose_path"))


def _check_propose_path(value: Any) -> None:
    """``propose_path``: null, or the path of a file to write (a folder is bad input; a file
    in the way of its folder is the environment's, OSError)."""
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise ValueError(f"propose_path: {value!r} is not allowed; give the path of a .yaml file")
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"propose_path: {value!r} is a folder; give the path of a .yaml file")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OSError(errno.ENOTDIR, f"propose_path: cannot write {value}: {blocker} is a file")


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
    """Fail before the report's work when its folder cannot be created or written (OSError
    naming it)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(out)) from None


def _counts(df, metric: str = "error") -> list[str]:
    """One line per space: its records by status; records that count as none of them (status
    ok without a usable `metric`, or a status a record cannot have) are named by file."""
    usable = df.index.isin(ok_rows(df, metric).index)
    no_metric = df[~usable & (df["status"] == "ok")]
    unknown = df[~df["status"].isin(STATUSES)]
    lines = []
    for r in space_summary(df, metric).itertuples():
        parts = [", ".join(f"{n} {k}" for n, k in ((r.n, "ok"), (r.n_diverged, "diverged"),
                                                   (r.n_failed, "failed")) if n)]
        odd = unknown[unknown["design_space"] == r.design_space]
        statuses = ", ".join(sorted({repr(v) for v in odd["status"]}))
        parts += [_files(no_metric[no_metric["design_space"] == r.design_space],
                         f"ok without a finite {metric}"),
                  _files(odd, f"of unknown status ({statuses})")]
        lines.append(f"  {r.design_space}: " + "; ".join(p for p in parts if p))
    return lines


def _files(rows, what: str) -> str:
    """``"2 <what>: <path>, <path>"`` (the first three files), or "" for no rows."""
    paths = rows["path"].astype(str).tolist()
    more = f", … {len(paths) - 3} more" if len(paths) > 3 else ""
    return f"{len(paths)} {what}: {', '.join(paths[:3])}{more}" if paths else ""


def _no_records(sweep_dir: Path) -> ValueError:
    """The error of a sweep without a usable record (the skipped files were warned about)."""
    files = sum(1 for _ in find_records(sweep_dir))
    if files:
        return ValueError(f"sweep.dir: {str(sweep_dir)!r} holds no usable run record "
                          f"({files} skipped: see above)")
    return ValueError(f"sweep.dir: {str(sweep_dir)!r} holds no run record (no {RECORD_NAME} "
                      "below it); give the sweep.dir of dse-train")


def analyze(cfg: Mapping[str, Any]) -> Path:
    """Run the analysis described by a plain config dict (the keys of conf/analyze.yaml);
    return the report's path. Bad values raise ValueError naming the key."""
    _check_keys(cfg)
    sweep_dir = _sweep_dir(cfg)
    settings = settings_from(cfg)
    allow_mixed = _allow_mixed(cfg)
    plan = _plan(cfg)
    out = Path(cfg.get("out") or sweep_dir / "report")
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file; give a folder for the report")
    if next(find_records(sweep_dir), None) is None:
        raise _no_records(sweep_dir)
    df = load_sweep(sweep_dir, allow_mixed=allow_mixed)
    if df.empty:
        raise _no_records(sweep_dir)
    created = _first_missing(out)
    _check_writable(out)  # bad input above leaves nothing behind; this creates the folder
    try:
        return _report(cfg, df, sweep_dir, out, settings, plan)
    except ValueError:
        if created is not None:  # a folder this run made holds nothing of anyone else's
            shutil.rmtree(created, ignore_errors=True)
        raise


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of `path` that does not exist yet (None: it exists)."""
    if path.exists():
        return None
    while not path.parent.exists():
        path = path.parent
    return path


def _report(cfg: Mapping[str, Any], df, sweep_dir: Path, out: Path, settings: ReportSettings,
            plan: Any) -> Path:
    """The report (and proposed space) of a loaded sweep; returns the report's path."""
    print(f"{sweep_dir}: {len(df)} records")
    for line in _counts(df, settings.metric):
        print(line)
    ok = ok_rows(df, settings.metric)
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
    """conf/analyze.yaml with `overrides`, as a plain dict (`conf.compose_plain`). A
    ``plan=VALUE`` that is not a plan of conf/plan/ (a path, a plan of ``$ANYNET_DSE_CONF``, a
    typo) is kept as the string VALUE for `_plan`, which resolves it with
    `analysis.plan.find_plan` or names what is allowed, instead of Hydra's "Could not find"."""
    rest, plan = [], None
    for arg in overrides:
        key, eq, value = arg.partition("=")
        if eq and key == "plan" and value not in ("", "null") \
                and not (conf.path() / "plan" / f"{value}.yaml").is_file():
            plan = value
        else:
            rest.append(arg)
    cfg = conf.compose_plain("analyze", rest)
    if plan is not None:
        cfg["plan"] = plan
    return cfg


@quiet_broken_pipe
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
        except BrokenPipeError:
            raise
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            failure = (f"{where}{exc.strerror or exc}", 1)
    for w in caught:
        print(f"dse-analyze: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    if failure is not None:
        _fail(*failure)


def _fail(message: str, status: int) -> None:
    print(f"dse-analyze: error: {message}", file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
