"""``dse-analyze sweep.dir=PATH [out=DIR] [propose=true] [plan=NAME]``: the report of a
sweep.

Composes ``conf/analyze.yaml`` with the command-line overrides (Hydra's compose API: no
output folders, no logging setup), loads the sweep, fits the rule to every ok model once,
writes report.html (inline SVG), figures/*.png and the CSV tables, optionally proposes a RegNet
design space, and prints the report path last. Every bad input is one line on stderr and exit
status 2 (1 when writing fails), never a traceback.
"""

from __future__ import annotations

import dataclasses
import errno
import shutil
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import conf
from anynet.record import RECORD_NAME, STATUSES, find_records
from anynet.system import quiet_broken_pipe
from conf.check import checked, describe
from conf.schema import AnalyzeConfig

from .sweep_warning import SweepWarning

if TYPE_CHECKING:
    from .report import ReportSettings

# pandas, scipy and matplotlib (the modules of the report's work) are imported where the work
# starts, after the checks that need none of them: bad input is refused without their cost.

USAGE = ("usage: dse-analyze sweep.dir=PATH [out=DIR] [metric=error|min_error] [bins=N] "
         "[top=N] [n_boot=N] [seed=N] [fit=true|false] [pairs=all|consecutive] "
         "[order=[a,b,...]] [plan=NAME | plan_file=PLAN.yaml] [propose=true propose_name=NAME "
         "propose_top=N propose_path=PATH] [allow_mixed=true|[FIELD,...]] [num_classes=K] "
         "[trained_test=fisher|barnard|boschloo]  (conf/analyze.yaml)")


def _allow_mixed(cfg: Mapping[str, Any]) -> bool | list[str]:
    """``allow_mixed``: true/false, or the run-identity fields allowed to differ (e.g.
    ``[train_seed]``; a field covers its sub-fields, ``regime`` covers ``regime.lr``;
    ``population``: populations of one space drawn with other settings)."""
    v = cfg["allow_mixed"]
    if isinstance(v, bool):
        return v
    if isinstance(v, Sequence) and not isinstance(v, str) and all(isinstance(x, str) for x in v):
        from .sweep import mixed_fields

        mixed_fields(v)  # an unknown field: one line listing the allowed ones
        return list(v)
    raise ValueError(f"allow_mixed: {v!r} is not allowed; use true, false or a list of "
                     "run-identity fields, e.g. [train_seed]")


def settings_from(cfg: Mapping[str, Any]) -> ReportSettings:
    """`ReportSettings` from the keys of conf/analyze.yaml (`conf.schema.AnalyzeConfig`: a
    missing key takes its default there) that it has; ValueError naming a bad key."""
    from .report import ReportSettings

    cfg = checked(cfg, AnalyzeConfig)
    given = {f.name: cfg[f.name] for f in dataclasses.fields(ReportSettings) if f.name in cfg}
    if given["order"] is not None:
        given["order"] = tuple(str(s) for s in given["order"])
    return ReportSettings(**given)


def _check_late_keys(cfg: Mapping[str, Any]) -> None:
    """What the keys read only after the report need beyond their types, checked first:
    ``order`` names each space once; with ``propose``, ``propose_path`` can be written."""
    order = cfg["order"]
    twice = sorted({str(x) for x in order or () if list(order).count(x) > 1})
    if twice:
        raise ValueError(f"order: {twice} given twice; name each design space once")
    if cfg["propose"]:
        _check_propose_path(cfg["propose_path"])


def _check_propose_path(value: str | None) -> None:
    """``propose_path``: null, or the path of a file to write (a folder is bad input; a file
    in the way of its folder is the environment's, OSError)."""
    if value is None:
        return
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"propose_path: {value!r} is a folder; give the path of a .yaml file")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OSError(errno.ENOTDIR, f"propose_path: cannot write {value}: {blocker} is a file")


def _sweep_dir(cfg: Mapping[str, Any]) -> Path:
    value = cfg["sweep"]["dir"]
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
    path, plan = cfg["plan_file"], cfg["plan"]
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
    from .stats import space_summary
    from .sweep import ok_rows

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
    """Run the analysis described by a plain config dict (the keys of conf/analyze.yaml; a
    missing key takes its default, `conf.schema.AnalyzeConfig`); return the report's path.
    Bad values raise ValueError naming the key."""
    cfg = checked(cfg, AnalyzeConfig)
    _check_late_keys(cfg)
    sweep_dir = _sweep_dir(cfg)
    settings = settings_from(cfg)
    allow_mixed = _allow_mixed(cfg)
    plan = _plan(cfg)
    out = Path(cfg["out"] or sweep_dir / "report")
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} is a file; give a folder for the report")
    if next(find_records(sweep_dir), None) is None:
        raise _no_records(sweep_dir)
    from .sweep import load_sweep

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


def _looks(sweep_dir: Path):
    """A sequential sweep's decisions (``sequential.csv``, `analysis.sweeper`), or None; an
    unreadable file is a warning, and the report goes on without it."""
    import pandas as pd

    path = sweep_dir / "sequential.csv"
    if not path.is_file():
        return None
    try:
        looks = pd.read_csv(path)
        if not {"look", "id", "decision"} <= set(looks.columns):
            raise ValueError("it lacks the columns look, id, decision")
    except (ValueError, OSError, pd.errors.ParserError) as e:
        print(f"dse-analyze: warning: {path}: not a sequential sweep's decisions "
              f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); left out",
              file=sys.stderr)
        return None
    return looks


def _report(cfg: Mapping[str, Any], df, sweep_dir: Path, out: Path, settings: ReportSettings,
            plan: Any) -> Path:
    """The report (and proposed space) of a loaded sweep; returns the report's path."""
    from .population import with_fits
    from .propose import propose_regnet
    from .report import write_report
    from .sweep import ok_rows

    print(f"{sweep_dir}: {len(df)} records")
    for line in _counts(df, settings.metric):
        print(line)
    ok = ok_rows(df, settings.metric)
    if settings.fit and len(ok):
        df = with_fits(df, settings.metric)
    path = write_report(df, out, settings, source=str(sweep_dir), plan=plan,
                        sequential=_looks(sweep_dir))
    if cfg["propose"] and len(ok):
        proposed = propose_regnet(df, top=cfg["propose_top"], name=cfg["propose_name"],
                                  path=cfg["propose_path"], n=settings.n_boot,
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
        print(f"keys (key=value; defaults from conf/schema.py):\n{describe(AnalyzeConfig)}")
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
