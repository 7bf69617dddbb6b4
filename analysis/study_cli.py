"""``dse-study NAME STEP``: one thin command for every study of ``conf/study/``
(docs/ARCHITECTURE.md "Commands"). Each step computes the texts of its files first
(`analysis.study_export`, `analysis.study_tables`, the page's table set in `TABLE_SETS`) and
only then writes them, or with ``--check`` compares them byte for byte with what is there. Bad
input is one line ``dse-study: error: ...`` and exit status 2; ``--check`` with a stale file
exits 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from anynet.record import write_text_atomic
from anynet.system import quiet_broken_pipe

from .study import StudyConfig, load_study, study_names

# The modules of a step's work (pandas, scipy, matplotlib: the plan, the tables, the exports,
# the docs pages' table sets) are imported where the work starts, after the checks that need
# none of them: bad input (a name, a step, an override) is refused without their cost.

PROG = "dse-study"


@dataclass(frozen=True)
class TableSet:
    """The generated blocks of one docs page: `load` reads their inputs under the results
    folder, each of `blocks` renders one ``<!-- generated: NAME -->`` block from them."""

    load: Callable[[Path], Any]
    blocks: Mapping[str, Callable[[Any], str]]
    doc: str  # the page, from the repository root


class _TableSets(Mapping[str, TableSet]):
    """The table sets by name, each from its module ``analysis.<module>`` (its `load` and
    `BLOCKS`, or `blocks()` where the names come from configs) and its page. A set's module is
    imported when the set is looked up: naming one (``in``, the names) imports none."""

    def __init__(self, sources: Mapping[str, tuple[str, str]]) -> None:
        self._sources = dict(sources)  # name -> (module, page)

    def __getitem__(self, name: str) -> TableSet:
        module, doc = self._sources[name]
        tables = import_module(f"{__package__}.{module}")
        # a set whose block names come from configs gives them by a function, `blocks()`
        found = tables.blocks() if hasattr(tables, "blocks") else tables.BLOCKS
        return TableSet(tables.load, found, doc)

    def __contains__(self, name: object) -> bool:
        return name in self._sources

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


# A study's ``docs`` names one entry; the sets of one page render it together (each its blocks).
TABLE_SETS: Mapping[str, TableSet] = _TableSets({
    "results": ("results_tables", "docs/RESULTS.md"),
    "claims": ("claims_tables", "docs/RESULTS.md"),
    "instrument": ("instrument_tables", "docs/REGIME.md"),
    "speed": ("speed_tables", "docs/SPEED.md"),
    "sequential": ("sequential_tables", "docs/ANALYSIS.md"),
    "search": ("search_tables", "docs/RESULTS.md"),
    "baselines": ("baselines_tables", "docs/RESULTS.md"),
    "geometry7": ("geometry7_tables", "docs/RESULTS.md"),
    "robustness": ("robustness_tables", "docs/RESULTS.md"),
    "paper": ("paper_tables", "docs/RESULTS.md"),
    "benchmarks": ("bench_tables", "docs/DESIGN_SPACES.md"),
    "readme": ("readme_tables", "README.md"),
})

STEPS = {
    "export": "its exports from the sweep folders its config names (those that name some, or "
              "the EXPORTs named)",
    "restore": "the run records of its records exports written back into their sweep folders "
               "(those missing there), so a sweep moved to another machine resumes",
    "verdicts": "the plan's verdicts on its models export",
    "tables": "its tables: summary, comparisons, best parameters, e_fit, width line, proposal",
    "power": "the pilot's models per space",
    "sequential": "its models judged look by look, and the design's error rates by resampling",
    "search": "the chance that k random models contain a good one, and the claim's verdict",
    "references": "the plans' verdicts on each dataset's reference pilot models",
    "cost": "each study's models and machine time, and their sum",
    "docs": "the generated blocks of the docs page it feeds",
    "check": "verdicts, tables, power, sequential, search, references, cost and docs as with "
             "--check (export needs the sweeps)",
}
USAGE = (f"usage: {PROG} NAME STEP [EXPORT ...] [KEY=VALUE ...] [--results DIR] [--doc PAGE] "
         "[--check]")


def _help() -> str:
    steps = "\n".join(f"  {k:<9} {v}" for k, v in STEPS.items())
    return (f"{USAGE}\n\nNAME: a study of conf/study/ ({', '.join(study_names())}).\n"
            f"STEP:\n{steps}\nKEY=VALUE: a Hydra override of the study's config, e.g. "
            "'exports.study.sweeps=[runs/x]'.\n"
            "--results DIR: the results folder (default results); --doc PAGE: the page "
            "(default the study's, e.g. docs/RESULTS.md); --check: write nothing, exit 1 when "
            "a file is out of date.\nRun it from the repository root.")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def _parser() -> _Parser:
    p = _Parser(prog=PROG, add_help=False)
    p.add_argument("name", nargs="?")
    p.add_argument("step", nargs="?")
    p.add_argument("words", nargs="*", metavar="EXPORT|KEY=VALUE")
    p.add_argument("--results", default="results")
    p.add_argument("--doc", default=None)
    p.add_argument("--check", action="store_true")
    return p


def _lacks(study: StudyConfig, step: str) -> ValueError:
    has = [s for s in STEPS if s != "check" and _has(study, s)]
    return ValueError(f"{step}: study {study.name!r} has no {step} in conf/study/"
                      f"{study.name}.yaml; its steps are {', '.join(has) or 'none'}")


def _has(study: StudyConfig, step: str) -> bool:
    if step == "restore":
        return any(e.kind == "records" for e in study.exports.values())
    return bool({"export": study.exports, "verdicts": study.verdicts, "tables": study.tables,
                 "power": study.power, "sequential": study.sequential,
                 "search": study.search, "references": study.robustness,
                 "cost": study.cost, "docs": study.docs}[step])


def _table_set_name(study: StudyConfig) -> str:
    """The study's ``docs``, checked to name an entry of `TABLE_SETS` (its module not
    imported)."""
    if study.docs not in TABLE_SETS:
        raise ValueError(f"docs: {study.docs!r} is not a docs page's table set; use one of "
                         + ", ".join(TABLE_SETS))
    return study.docs


def table_set(study: StudyConfig) -> TableSet:
    return TABLE_SETS[_table_set_name(study)]


def _settle(study: StudyConfig, names: Sequence[str]) -> None:
    """Refuse, before any file is read, what names something the study does not have."""
    unknown = [n for n in names if n not in study.exports]
    if unknown:
        raise ValueError(f"export: {unknown[0]!r} is not an export of study {study.name!r}; "
                         f"use one of {', '.join(study.exports)}")
    if study.plan is not None:
        from .plan import find_plan

        find_plan(study.plan)
    if study.docs is not None:
        _table_set_name(study)
    if study.claims is not None:
        from .claims import check as check_claims

        check_claims(study.claims, {n: load_study(n) for n in study_names()})


def _exports(study: StudyConfig, names: Sequence[str], results: Path) -> dict[Path, str]:
    from .study_export import export

    chosen = [study.exports[n] for n in names] or [e for e in study.exports.values()
                                                    if e.sweeps]
    return {results / e.out: export(e, results) for e in chosen}


def _restored(study: StudyConfig, results: Path) -> dict[Path, str]:
    from .record_archive import restore
    from .study_export import sweep_folders

    files: dict[Path, str] = {}
    for e in study.exports.values():
        if e.kind == "records":
            sweep, = sweep_folders(e)
            out = results / e.out
            if not out.is_file():
                raise ValueError(f"exports.{e.name}.out: {str(out)!r} does not exist; "
                                 f"export it first (dse-study {study.name} export)")
            files.update(restore(out.read_text(), sweep, str(out)))
    return files


def _docs(study: StudyConfig, results: Path, doc: str | None) -> dict[Path, str]:
    from .docblocks import bind, render

    tables = table_set(study)
    page = Path(doc or tables.doc)
    if not page.is_file():
        raise ValueError(f"--doc: {str(page)!r} does not exist; give the page "
                         f"(default {tables.doc}, from the repository root)")
    blocks = {name: block for s in TABLE_SETS.values() if s.doc == tables.doc
              for name, block in bind(s.blocks, s.load(results)).items()}
    return {page: render(page.read_text(), blocks)}


def outputs(study: StudyConfig, step: str, results: Path, names: Sequence[str] = (),
            doc: str | None = None) -> dict[Path, str]:
    """The files `step` of `study` writes, with their texts; nothing is written."""
    if step == "check":
        steps = [s for s in STEPS if s not in ("export", "restore", "check") and _has(study, s)]
        if {"verdicts", "sequential"} & set(steps) and not has_run(study, results):
            steps = [s for s in steps if s not in ("verdicts", "sequential")]  # judged once
        return {p: t for s in steps for p, t in outputs(study, s, results, (), doc).items()}
    if not _has(study, step):
        raise _lacks(study, step)
    if step == "export":
        return _exports(study, names, results)
    if step == "restore":
        return _restored(study, results)
    if step == "verdicts":
        from .study_tables import verdict_table

        return {results / study.verdicts: verdict_table(study, results)}
    if step == "tables":
        from .study_tables import study_tables

        folder = results / study.tables.folder
        return {folder / name: text for name, text in study_tables(study, results).items()}
    if step == "power":
        from .study_tables import power_table

        return {results / study.power.out: power_table(study, results)}
    if step == "sequential":
        from . import sequential_tables

        return sequential_tables.outputs(study, results)
    if step == "search":
        from . import search_tables

        return {results / name: text for name, text in search_tables.files(study, results).items()}
    if step == "references":
        from . import robustness_tables

        return {results / name: text
                for name, text in robustness_tables.files(study, results).items()}
    if step == "cost":
        from .study_costs import files as cost_files

        return cost_files(study, results)
    return _docs(study, results, doc)


def has_run(study: StudyConfig, results: Path) -> bool:
    """Whether ``check`` has verdicts or a sequential replay of `study` to compare: yes once
    its verdicts CSV (where it has one) exists; no without its models export; for a fixed-n
    plan (or none), yes once that export exists. Several sequential plans share one export
    (the issue-25 studies' results/paper/models.csv) and each stops its populations at its own
    looks (docs/SWEEPS.md "Sequential sweeps"), so for a sequential plan the export says so
    only once it reaches the looks that decide every hypothesis (`sequential_verdicts` judges
    it without `NotTrainedYet`): a decided plan whose verdicts were never written is then
    reported stale, one still training is not judged; a bad export is still an error."""
    if study.verdicts is not None and (results / study.verdicts).is_file():
        return True
    if not (results / study.models).is_file():
        return False
    if study.plan is None or study.verdicts is None:
        return True
    from .plan import find_plan, load_plan

    plan = load_plan(find_plan(study.plan))
    if plan.sequential is None:
        return True
    from .sequential import NotTrainedYet, sequential_verdicts
    from .study_tables import models_frame

    try:
        sequential_verdicts(models_frame(study, results), plan)
    except NotTrainedYet:
        return False
    return True


def _current(path: Path) -> str | None:
    return path.read_bytes().decode() if path.is_file() else None


def emit(files: Mapping[Path, str], check: bool) -> int:
    """Write the files that differ (0), or with `check` report them (1 when any does)."""
    stale = {p: t for p, t in files.items() if _current(p) != t}
    for path in files:
        if path not in stale:
            print(f"{path}: up to date")
        elif check:
            from .docblocks import stale_blocks

            old = _current(path)
            blocks = (stale_blocks(old, stale[path]) if old is not None and path.suffix == ".md"
                      and "<!-- generated:" in old else [])
            what = f" (blocks {', '.join(blocks)})" if blocks else ""
            print(f"{path}: out of date{what}", file=sys.stderr)
    if check:
        return 1 if stale else 0
    for path, text in stale.items():
        write_text_atomic(path, text)
        print(f"wrote {path}")
    return 0


def run(argv: Sequence[str]) -> int:
    """Parse `argv`, compute the step's files, write or check them."""
    args = _parser().parse_args(list(argv))
    if args.name is None:
        raise ValueError(f"NAME: give a study of conf/study/ ({', '.join(study_names())}); "
                         f"{USAGE}")
    if args.step not in STEPS:
        raise ValueError(f"step: {args.step!r} is not a step; use one of {', '.join(STEPS)}"
                         if args.step is not None else
                         f"STEP: give one of {', '.join(STEPS)}; {USAGE}")
    overrides = [w for w in args.words if "=" in w]
    names = [w for w in args.words if "=" not in w]
    if names and args.step != "export":
        raise ValueError(f"{names[0]}: not a KEY=VALUE override; only export takes names "
                         f"({USAGE})")
    study = load_study(args.name, overrides)
    if args.step != "check" and not _has(study, args.step):
        raise _lacks(study, args.step)
    _settle(study, names)
    results = Path(args.results)
    if not results.is_dir():
        raise ValueError(f"--results: {str(results)!r} is not a folder; give the results "
                         "folder (default results, from the repository root)")
    from .sweep_warning import SweepWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")  # numerical warnings of the statistics
        warnings.simplefilter("always", SweepWarning)  # a record an export skipped
        try:
            files = outputs(study, args.step, results, names, args.doc)
        finally:
            for w in caught:
                print(f"{PROG}: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    return emit(files, args.check or args.step == "check")  # the check step never writes


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``dse-study``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(_help())
        return
    try:
        status = run(args)
    except ValueError as exc:
        _fail(str(exc).splitlines()[0], 2)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{where}{exc.strerror or exc}", 1)
    sys.exit(status)


def _fail(message: str, status: int) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
