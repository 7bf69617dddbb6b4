"""The claims catalogue: every finding of docs/PAPER.md §7 as one or more claims, each tested by
exactly one source (``conf/study/claims.yaml``, key ``claims``; docs/RESULTS.md "Every finding
of the paper"):

- ``hypothesis: {study, id}``: a hypothesis of a committed study's plan, read from its verdicts;
- ``planned: {plan: conf/plan/<name>.yaml, hypothesis}``: a hypothesis of a plan whose study has
  not run; it reads as a verdict as soon as a study of ``conf/study/`` that names the plan has
  its verdicts CSV under the results folder;
- ``measured: {study, file, column, where, low, high, n, command}``: a cell of a committed table
  that no plan judges (descriptive);
- ``untestable: <reason>``: not testable here, and why, in one line;
- ``unplanned: <reason>``: testable here, but no plan tests it yet (what it would need).

`parse_catalogue` checks the config's shape; `resolve` looks every source up (plans, studies,
committed CSVs) and returns one `Resolved` per claim. Bad input is a one-line ValueError naming
the field, the value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .study import StudyConfig, _bad, _mapping, _text  # one home for a config's checks

# pandas and the plans (`analysis.plan`: scipy) are imported by the functions that read plans
# and tables, not here: `parse_catalogue` (a study's ``claims``, `analysis.study`) needs neither.

SOURCES = ("hypothesis", "planned", "measured", "untestable", "unplanned")
_CLAIM_KEYS = ("id", "topic", "text", "source", *SOURCES)
_CATALOGUE_KEYS = ("instruments", "planned_instrument", "rows")
_MEASURED_KEYS = ("study", "file", "column", "where", "low", "high", "n", "command", "verdict")
_PLAN_PATH = re.compile(r"^conf/plan/([\w-]+)\.yaml$")
_ID = re.compile(r"^[A-Za-z_][\w]*$")


@dataclass(frozen=True)
class Committed:
    """Hypothesis `id` of the plan that judges `study`, read from the study's verdicts CSV."""

    study: str
    id: str


@dataclass(frozen=True)
class Planned:
    """Hypothesis `hypothesis` of ``conf/plan/<plan>.yaml``, judged once a study that names the
    plan has its verdicts."""

    plan: str
    hypothesis: str

    @property
    def path(self) -> str:
        return f"conf/plan/{self.plan}.yaml"


@dataclass(frozen=True)
class Measured:
    """`column` of the one row of a committed table (`file`, under the results folder) whose
    `where` columns hold the given values; `low` and `high` name interval columns, `n` a count
    column (none: the models of the study's export matching `where`). `verdict` names a column
    holding the verdict of a rule the study's own config states (e.g. the search-efficiency
    claim, conf/study/search.yaml); without it, no verdict."""

    study: str
    file: str
    column: str
    command: str
    where: Mapping[str, str] = field(default_factory=dict)
    low: str | None = None
    high: str | None = None
    n: str | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class Untestable:
    reason: str


@dataclass(frozen=True)
class Unplanned:
    """Testable with this toolkit, but judged by no plan yet; `reason` says what it needs."""

    reason: str


Test = Committed | Planned | Measured | Untestable | Unplanned


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: its `topic` (a topic of docs/PAPER.md §7), the claim in a few
    words, where the paper makes it, and what tests it here."""

    id: str
    topic: str
    text: str
    source: str
    test: Test


@dataclass(frozen=True)
class Catalogue:
    """The claims in table order; how each study's instrument reads (`instruments`, by study
    name) and the instrument of a planned study without one."""

    claims: tuple[Claim, ...]
    instruments: Mapping[str, str]
    planned_instrument: str


@dataclass(frozen=True)
class Resolved:
    """A claim with what its source says now. `status`: ``verdict`` (`row` is its line of a
    verdicts CSV), ``planned`` (not run yet), ``measured`` (`row` is the table's line, `n` its
    count) or ``untestable``; `study` is the study that made the numbers, if any."""

    claim: Claim
    status: str
    instrument: str  # as the catalogue words it (empty for an untestable claim)
    study: StudyConfig | None = None
    row: Mapping[str, Any] | None = None
    n: float | None = None


# --- parsing -------------------------------------------------------------------------------------

def _hyp_id(where: str, value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise _bad(where, value, "give a hypothesis id (letters, digits, _)")
    return value


def _source(where: str, kind: str, value: Any) -> Test:
    where = f"{where}.{kind}"
    if kind == "untestable":
        return Untestable(_text(where, value))
    if kind == "unplanned":
        return Unplanned(_text(where, value))
    if kind == "hypothesis":
        h = _mapping(where, value, ("study", "id"))
        return Committed(_text(f"{where}.study", h.get("study")), _hyp_id(f"{where}.id",
                                                                            h.get("id")))
    if kind == "planned":
        p = _mapping(where, value, ("plan", "hypothesis"))
        plan = p.get("plan")
        m = _PLAN_PATH.match(plan) if isinstance(plan, str) else None
        if m is None:
            raise _bad(f"{where}.plan", plan, "give conf/plan/<name>.yaml")
        return Planned(m.group(1), _hyp_id(f"{where}.hypothesis", p.get("hypothesis")))
    m = _mapping(where, value, _MEASURED_KEYS)
    where_ = m.get("where") or {}
    if not isinstance(where_, Mapping):
        raise _bad(f"{where}.where", where_, "give a mapping of column to value")
    file = _text(f"{where}.file", m.get("file"))
    if file.startswith("/") or ".." in file.split("/"):
        raise _bad(f"{where}.file", file, "give a path relative to the results folder, "
                   "without '..'")
    return Measured(study=_text(f"{where}.study", m.get("study")), file=file,
                    column=_text(f"{where}.column", m.get("column")),
                    command=_text(f"{where}.command", m.get("command")),
                    where={str(k): str(v) for k, v in where_.items()},
                    low=_text(f"{where}.low", m.get("low"), True),
                    high=_text(f"{where}.high", m.get("high"), True),
                    n=_text(f"{where}.n", m.get("n"), True),
                    verdict=_text(f"{where}.verdict", m.get("verdict"), True))


def parse_claim(where: str, value: Any) -> Claim:
    """One entry of ``claims.rows``: id, topic, text, source and exactly one of `SOURCES`."""
    c = _mapping(where, value, _CLAIM_KEYS)
    given = [k for k in SOURCES if c.get(k) is not None]
    if len(given) != 1:
        raise _bad(where, c.get("id"), f"give exactly one of {', '.join(SOURCES)} (it gives "
                   f"{' and '.join(given) or 'none'})")
    return Claim(id=_hyp_id(f"{where}.id", c.get("id")), topic=_text(f"{where}.topic",
                                                                      c.get("topic")),
                 text=_text(f"{where}.text", c.get("text")),
                 source=_text(f"{where}.source", c.get("source")),
                 test=_source(where, given[0], c[given[0]]))


def parse_catalogue(value: Any) -> Catalogue:
    """The study key ``claims`` (`instruments`, `planned_instrument`, `rows`) validated."""
    cfg = _mapping("claims", value, _CATALOGUE_KEYS)
    rows = cfg.get("rows")
    if not isinstance(rows, Sequence) or isinstance(rows, str) or not rows:
        raise _bad("claims.rows", rows, "give a non-empty list of claims")
    claims = tuple(parse_claim(f"claims.rows[{i}]", r) for i, r in enumerate(rows))
    seen: set[str] = set()
    for i, c in enumerate(claims):
        if c.id in seen:
            raise _bad(f"claims.rows[{i}].id", c.id, "give each claim its own id")
        seen.add(c.id)
    instruments = cfg.get("instruments") or {}
    if not isinstance(instruments, Mapping):
        raise _bad("claims.instruments", instruments, "give a mapping of study to text")
    return Catalogue(claims=claims,
                     instruments={str(k): _text(f"claims.instruments.{k}", v)
                                  for k, v in instruments.items()},
                     planned_instrument=_text("claims.planned_instrument",
                                              cfg.get("planned_instrument")))


# --- looking the sources up ----------------------------------------------------------------------

def _plan_ids(name: str) -> list[str] | None:
    """The hypothesis ids of plan `name`, or None while its file does not exist."""
    from .plan import find_plan, load_plan

    try:
        path = find_plan(name)
    except ValueError:
        return None
    return [h.id for h in load_plan(path).hypotheses]


def _judging(plan: str, studies: Mapping[str, StudyConfig]) -> list[StudyConfig]:
    """The studies with verdicts whose plan is `plan` (by name or by its file)."""
    from .plan import find_plan

    try:
        target = find_plan(plan).resolve()
    except ValueError:
        target = None
    out = []
    for s in studies.values():
        if s.verdicts is None or s.plan is None:
            continue
        try:
            same = s.plan == plan or (target is not None
                                      and find_plan(s.plan).resolve() == target)
        except ValueError:
            same = False
        if same:
            out.append(s)
    return out


def _source_study(t: Test, studies: Mapping[str, StudyConfig], where: str
                  ) -> StudyConfig | None:
    """The study whose files give `t` its numbers (None: untestable, or planned and not yet
    named by any study); a source naming what does not exist is a one-line ValueError."""
    if isinstance(t, Untestable | Unplanned):
        return None
    if isinstance(t, Measured):
        if t.study not in studies:
            raise _bad(f"{where}.measured.study", t.study, "give a study of conf/study/: "
                       + ", ".join(sorted(studies)))
        return studies[t.study]
    if isinstance(t, Committed):
        study = studies.get(t.study)
        if study is None or study.verdicts is None or study.plan is None:
            judged = sorted(n for n, s in studies.items() if s.verdicts and s.plan)
            raise _bad(f"{where}.hypothesis.study", t.study, "give a study of conf/study/ "
                       "with verdicts: " + ", ".join(judged))
        ids = _plan_ids(study.plan)
        if ids is None:
            raise _bad(f"{where}.hypothesis.study", t.study,
                       f"its plan {study.plan!r} does not exist")
        if t.id not in ids:
            raise _bad(f"{where}.hypothesis.id", t.id, f"plan {study.plan!r} of study "
                       f"{t.study!r} has " + ", ".join(ids))
        return study
    ids = _plan_ids(t.plan)
    if ids is not None and t.hypothesis not in ids:
        raise _bad(f"{where}.planned.hypothesis", t.hypothesis, f"{t.path} has "
                   + ", ".join(ids))
    judging = _judging(t.plan, studies)
    if len(judging) > 1:
        raise _bad(f"{where}.planned.plan", t.path, "it is the plan of the studies "
                   + ", ".join(s.name for s in judging) + "; name one with hypothesis: "
                   "{study, id}")
    return judging[0] if judging else None


def _instrument(c: Claim, study: StudyConfig | None, cat: Catalogue, where: str) -> str:
    """How the catalogue words the instrument of `c`'s numbers."""
    if isinstance(c.test, Untestable | Unplanned):
        return ""
    if study is not None and study.name in cat.instruments:
        return cat.instruments[study.name]
    if isinstance(c.test, Planned):
        return cat.planned_instrument
    raise _bad("claims.instruments", dict(cat.instruments),
               f"name the instrument of study {study.name!r} ({where})")


def check(cat: Catalogue, studies: Mapping[str, StudyConfig]) -> None:
    """Refuse, in one line, a claim whose source names a study, plan or hypothesis that does
    not exist, or a study whose instrument the catalogue does not name (nothing is read from
    the results folder). `studies`: the studies of ``conf/study/`` by name."""
    for i, c in enumerate(cat.claims):
        where = f"claims.rows[{i}] ({c.id})"
        _instrument(c, _source_study(c.test, studies, where), cat, where)


def verdict_row(study: StudyConfig, hyp: str, results: Path, where: str) -> dict[str, Any]:
    """The row of hypothesis `hyp` in `study`'s committed verdicts CSV (a one-line error naming
    `where` when the id is not in it)."""
    import pandas as pd

    path = results / study.verdicts
    frame = pd.read_csv(path)
    rows = frame[frame["id"] == hyp]
    if rows.empty:
        raise _bad(where, hyp, f"{path} has no row with this id; it has "
                   + ", ".join(map(str, frame["id"])))
    return rows.iloc[0].to_dict()


def _measured(t: Measured, study: StudyConfig, results: Path, where: str
              ) -> tuple[dict[str, Any], float | None]:
    """The selected row of `t`'s table and its count."""
    import pandas as pd

    path = results / t.file
    if not path.is_file():
        raise ValueError(f"results: {str(path)!r} does not exist; {t.command}")
    frame = pd.read_csv(path, dtype=str)
    for col in [*t.where, t.column, *(x for x in (t.low, t.high, t.n, t.verdict) if x)]:
        if col not in frame.columns:
            raise _bad(where, col, f"{path} has the columns {', '.join(frame.columns)}")
    rows = frame
    for col, value in t.where.items():
        rows = rows[rows[col] == value]
    if len(rows) != 1:
        raise _bad(f"{where}.where", dict(t.where), f"select exactly one row of {path} "
                   f"(it selects {len(rows)})")
    row = rows.iloc[0].to_dict()
    return row, float(row[t.n]) if t.n else _models(study, t.where, results)


def _models(study: StudyConfig, where: Mapping[str, str], results: Path) -> float | None:
    """The models of `study`'s export matching `where` (None: no export, or `where` names a
    column it lacks)."""
    import pandas as pd

    if study.models is None or not (results / study.models).is_file():
        return None
    frame = pd.read_csv(results / study.models, dtype=str)
    if not set(where) <= set(frame.columns):
        return None
    for col, value in where.items():
        frame = frame[frame[col] == value]
    return float(len(frame))


def resolve(cat: Catalogue, studies: Mapping[str, StudyConfig], results: Path
            ) -> list[Resolved]:
    """Every claim of `cat` (`check`ed first) with what its source says under the results
    folder `results`; `studies` are the studies of ``conf/study/`` by name."""
    check(cat, studies)
    out = []
    for i, c in enumerate(cat.claims):
        where = f"claims.rows[{i}] ({c.id})"
        t, study = c.test, _source_study(c.test, studies, where)
        r = Resolved(c, "unplanned" if isinstance(t, Unplanned) else "untestable",
                     _instrument(c, study, cat, where), study)
        if isinstance(t, Measured):
            row, n = _measured(t, study, results, f"{where}.measured")
            r = replace(r, status="measured", row=row, n=n)
        elif isinstance(t, Committed | Planned):
            hyp, key = ((t.id, "hypothesis.id") if isinstance(t, Committed)
                        else (t.hypothesis, "planned.hypothesis"))
            if study is not None and (results / study.verdicts).is_file():
                r = replace(r, status="verdict",
                            row=verdict_row(study, hyp, results, f"{where}.{key}"))
            elif isinstance(t, Committed):
                raise ValueError(f"results: {str(results / study.verdicts)!r} does not exist; "
                                 f"run dse-study {study.name} verdicts")
            else:
                r = replace(r, status="planned")
        out.append(r)
    return out
