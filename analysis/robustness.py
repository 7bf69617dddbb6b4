"""Verdicts across two datasets (issue 21, item 4; docs/RESULTS.md "Verdicts across two
datasets"): each claim of the refinement judged on mnist5k and on Fashion-MNIST, and under each
dataset's reference on its pilot models, read by one rule (`reading`).

- `parse_robustness`: the study key ``robustness`` (``conf/study/robustness.yaml``): the
  datasets' columns, the references, the plans judged on them and the table's rows;
- `reading`: the robustness rule;
- `pilot_runs`, `pilot_models`: a reference's pilot, one row per model (the mean error over its
  seeds, `analysis.fidelity.mean_over_seeds`);
- `unjudged`, `reference_verdicts`: the plans' hypotheses judged on a pilot
  (`analysis.plan.verdicts`), those it cannot judge kept as rows that say why.

Bad input is a one-line ValueError naming the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .study import _DATA_KEYS, Data, _bad, _file, _mapping, _number, _text, _texts

if TYPE_CHECKING:  # pandas and the plans are imported where the data are read
    import pandas as pd

    from .plan import Hypothesis, Plan

# `analysis.plan.VERDICTS`, kept here so that parsing a config imports no pandas or scipy
# (tests/test_robustness.py checks they are the same).
VERDICTS = ("supported", "contradicted", "equivalent", "not resolved")
DECIDED = ("supported", "contradicted", "equivalent")
NOT_JUDGED = "not judged"  # a hypothesis the pilot cannot judge (its row says why)
STAGE1 = "stage1"  # a reference chosen by the Fashion-MNIST screen's stage 1
_KEYS = ("folder", "datasets", "placeholders", "power", "cost", "references", "plans", "rows")
_COST_KEYS = ("title", "dataset", "kind", "runs", "sequential")
COST_KINDS = ("instrument", "study")
_REFERENCE_KEYS = ("title", "runs", "regime", "seeds", "chosen_by", "spaces", "indices", "data")
_ROW_KEYS = ("id", "text", "source", "reference")
_CELL_KEYS = ("study", "id", "posthoc")
_ID = re.compile(r"^[A-Za-z_]\w*$")
# What a pilot's model keeps of its first seed's run: its complexity, stages (up to five, those
# its runs export has: `study_export.stage_count`) and geometry.
SPEC_COLUMNS = ["flops", "params", "acts", "depth",
                *(f"{k}{i}" for k in "dwbg" for i in range(1, 6)), "stem_stride", "strides"]


# --- the rule ------------------------------------------------------------------------------------

def opposite(a: str, b: str) -> bool:
    """Whether verdicts `a` and `b` say opposite things: contradicted against supported or
    equivalent."""
    return {a, b} in ({"contradicted", "supported"}, {"contradicted", "equivalent"})


@dataclass(frozen=True)
class Reading:
    """How the rule reads one claim: robust or not, the datasets' common verdict when robust,
    and why not (a few words each)."""

    robust: bool
    verdict: str | None
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        if self.robust:
            return f"**robust**: {self.verdict} on both"
        return "not robust: " + "; ".join(self.reasons)


def _verdict(where: str, v: str | None) -> str | None:
    if v is not None and v not in VERDICTS:
        raise _bad(where, v, "give a verdict (" + ", ".join(VERDICTS) + ") or None")
    return v


def reading(datasets: Mapping[str, str | None], references: Mapping[str, str | None],
            unplanned: Collection[str] = ()) -> Reading:
    """The robustness rule (issue 21): a claim is **robust** when every dataset's verdict is the
    same decided verdict (supported, contradicted or equivalent) and no reference's verdict is
    its opposite (contradicted against supported or equivalent, supported or equivalent against
    contradicted). `datasets` and `references` map a column's title to its verdict, None where
    there is none (a study not run yet, a reference not chosen, a hypothesis the pilot cannot
    judge). Otherwise the reasons, each in a few words: a dataset not planned (the titles of
    `unplanned`, whose verdict is None) or not run yet, unresolved on a dataset, the datasets
    disagree, a reference contradicts (a reference's verdict opposite to a dataset's decided
    one)."""
    for title, v in {**datasets, **references}.items():
        _verdict(title, v)
    absent = [d for d in unplanned if d in datasets and datasets[d] is None]
    missing = [d for d, v in datasets.items() if v is None and d not in absent]
    unresolved = [d for d, v in datasets.items() if v == "not resolved"]
    decided = [v for v in datasets.values() if v in DECIDED]
    reasons = []
    if absent:
        reasons.append(f"not planned on {' and '.join(absent)}")
    if missing:
        reasons.append(f"{' and '.join(missing)} not run yet")
    if unresolved:
        reasons.append(f"unresolved on {' and '.join(unresolved)}")
    if len(set(decided)) > 1:
        reasons.append("datasets disagree")
    against = [r for r, v in references.items()
               if v is not None and any(opposite(v, d) for d in decided)]
    if against:
        reasons.append(f"{' and '.join(against)} contradict{'s' if len(against) == 1 else ''}")
    if reasons or not datasets:
        return Reading(False, None, tuple(reasons) or ("no dataset",))
    return Reading(True, decided[0], ())


# --- the config ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """Where a dataset's verdict of a claim comes from: hypothesis `id` of the plan that judges
    `study`, read from the study's verdicts CSV; `posthoc` marks a plan written after its
    data were seen (exploratory)."""

    study: str
    id: str
    posthoc: bool = False


@dataclass(frozen=True)
class Row:
    """One claim: the paper's claim in a few words, where the paper makes it, its verdict's
    source per dataset (None: no such study is planned) and the hypothesis that the references
    judge for it (None: none)."""

    id: str
    text: str
    source: str
    cells: Mapping[str, Cell | None]
    reference: str | None = None


@dataclass(frozen=True)
class Reference:
    """A dataset's reference on its pilot models: the runs export `runs` (under the results
    folder), the models of `spaces` at indices below `indices`, each the mean over `seeds` of
    its runs of `regime`; with `chosen_by` ``stage1`` the regime and the seeds are the
    Fashion-MNIST screen's choice (docs/REGIME.md, "Stage 1")."""

    name: str
    title: str
    runs: str
    spaces: tuple[str, ...]
    indices: int
    data: Data
    regime: str | None = None
    seeds: tuple[int, ...] = ()
    chosen_by: str | None = None


@dataclass(frozen=True)
class PlanPart:
    """A plan judged on each reference: its hypotheses (`ids`; None: all), one Holm family."""

    plan: str
    ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CostPart:
    """One part of the two-dataset study's machine time (issue 21, item 6): its runs export
    (`runs`, with each run's own ``wall_seconds``), whether it built an instrument or is a study
    (`kind`), its dataset (a key of ``datasets``) and, for a study replayed look by look, the
    replay's models CSV (`sequential`: ``fixed_core_hours`` and ``sequential_core_hours`` per
    space)."""

    title: str
    dataset: str
    kind: str
    runs: str
    sequential: str | None = None


@dataclass(frozen=True)
class Robustness:
    """The study key ``robustness``: the folder of the references' files, the datasets'
    columns (key -> title, table order), studies a cell may name before their config exists
    (`placeholders`), the references (table order), the plans judged on them, the rows, and
    per study the plan-power CSV (`analysis.plan_power`) that says, beside a claim it does not
    resolve, whether its n could have (`power`), and the parts of the machine time (`cost`)."""

    folder: str
    datasets: Mapping[str, str]
    placeholders: tuple[str, ...]
    references: Mapping[str, Reference]
    plans: tuple[PlanPart, ...]
    rows: tuple[Row, ...]
    power: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cost: tuple[CostPart, ...] = ()

    def reference_ids(self) -> list[str]:
        """The hypotheses the rows read from the references' verdicts."""
        return [r.reference for r in self.rows if r.reference is not None]


def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise _bad(where, value, "give a name (letters, digits, _)")
    return value


def _cell(where: str, value: Any) -> Cell | None:
    if value is None:
        return None
    c = _mapping(where, value, _CELL_KEYS)
    posthoc = c.get("posthoc", False)
    if not isinstance(posthoc, bool):
        raise _bad(f"{where}.posthoc", posthoc, "give true or false")
    return Cell(_name(f"{where}.study", c.get("study")), _name(f"{where}.id", c.get("id")),
                posthoc)


def _row(where: str, value: Any, datasets: Sequence[str]) -> Row:
    r = _mapping(where, value, [*_ROW_KEYS, *datasets])
    missing = [d for d in datasets if d not in r]
    if missing:
        raise _bad(f"{where}.{missing[0]}", None, "give every dataset's source ({study, id}, "
                   "or null where no study is planned)")
    ref = r.get("reference")
    return Row(id=_name(f"{where}.id", r.get("id")), text=_text(f"{where}.text", r.get("text")),
               source=_text(f"{where}.source", r.get("source")),
               cells={d: _cell(f"{where}.{d}", r[d]) for d in datasets},
               reference=None if ref is None else _name(f"{where}.reference", ref))


def _seeds(where: str, value: Any) -> tuple[int, ...]:
    if (not isinstance(value, Sequence) or isinstance(value, str) or not value
            or len(set(value)) != len(value)):
        raise _bad(where, value, "give a list of distinct training seeds")
    return tuple(_number(f"{where}[{i}]", s, 0, 2**31, integer=True)
                 for i, s in enumerate(value))


def _reference(where: str, name: str, value: Any) -> Reference:
    r = _mapping(where, value, _REFERENCE_KEYS)
    chosen = r.get("chosen_by")
    if chosen is not None:
        if chosen != STAGE1:
            raise _bad(f"{where}.chosen_by", chosen, f"give {STAGE1} (the Fashion-MNIST "
                       "screen's stage 1) or leave it out")
        given = [k for k in ("regime", "seeds") if r.get(k) is not None]
        if given:
            raise _bad(f"{where}.{given[0]}", r[given[0]], "leave it out with chosen_by "
                       "(stage 1 chooses it)")
    d = _mapping(f"{where}.data", r.get("data"), _DATA_KEYS)
    spaces = _texts(f"{where}.spaces", r.get("spaces"))
    if not spaces:
        raise _bad(f"{where}.spaces", r.get("spaces"), "give the pilot's spaces")
    return Reference(
        name=name, title=_text(f"{where}.title", r.get("title")),
        runs=_file(f"{where}.runs", r.get("runs"), optional=False), spaces=spaces,
        indices=_number(f"{where}.indices", r.get("indices"), 1, 10**6, integer=True),
        data=Data(**{k: _number(f"{where}.data.{k}", d.get(k), 1, 10**6, integer=True)
                     for k in _DATA_KEYS}),
        regime=None if chosen else _text(f"{where}.regime", r.get("regime")),
        seeds=() if chosen else _seeds(f"{where}.seeds", r.get("seeds")), chosen_by=chosen)


def _plans(value: Any) -> tuple[PlanPart, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise _bad("robustness.plans", value, "give a list of {plan, ids}")
    out = []
    for i, p in enumerate(value):
        m = _mapping(f"robustness.plans[{i}]", p, ("plan", "ids"))
        ids = m.get("ids")
        out.append(PlanPart(_name(f"robustness.plans[{i}].plan", m.get("plan")),
                            None if ids is None else tuple(
                                _name(f"robustness.plans[{i}].ids[{j}]", x)
                                for j, x in enumerate(_texts(f"robustness.plans[{i}].ids",
                                                             ids)))))
    return tuple(out)


def parse_robustness(value: Any) -> Robustness:
    """The study key ``robustness`` validated (plans and studies are looked up where they are
    read, `analysis.robustness_tables`)."""
    cfg = _mapping("robustness", value, _KEYS)
    datasets = _mapping("robustness.datasets", cfg.get("datasets"),
                        [str(k) for k in cfg.get("datasets") or {}]
                        if isinstance(cfg.get("datasets"), Mapping) else ())
    if not datasets:
        raise _bad("robustness.datasets", cfg.get("datasets"), "give the datasets' columns "
                   "(key: title)")
    datasets = {_name(f"robustness.datasets.{k}", k): _text(f"robustness.datasets.{k}", v)
                for k, v in datasets.items()}
    refs = cfg.get("references")
    if not isinstance(refs, Mapping) or not refs:
        raise _bad("robustness.references", refs, "give the references (key: {title, runs, "
                   "...})")
    rows = cfg.get("rows")
    if not isinstance(rows, Sequence) or isinstance(rows, str) or not rows:
        raise _bad("robustness.rows", rows, "give a non-empty list of claims")
    parsed = tuple(_row(f"robustness.rows[{i}]", r, list(datasets)) for i, r in enumerate(rows))
    seen: set[str] = set()
    for i, r in enumerate(parsed):
        if r.id in seen:
            raise _bad(f"robustness.rows[{i}].id", r.id, "give each row its own id")
        seen.add(r.id)
    return Robustness(
        folder=_file("robustness.folder", cfg.get("folder"), optional=False),
        datasets=datasets,
        placeholders=tuple(_name(f"robustness.placeholders[{i}]", s) for i, s in
                           enumerate(_texts("robustness.placeholders",
                                            cfg.get("placeholders") or []))),
        references={_name(f"robustness.references.{k}", k):
                    _reference(f"robustness.references.{k}", k, v) for k, v in refs.items()},
        plans=_plans(cfg.get("plans")), rows=parsed, power=_power(cfg.get("power")),
        cost=parse_cost(cfg.get("cost"), datasets))


def parse_cost(value: Any, datasets: Collection[str]) -> tuple[CostPart, ...]:
    """``robustness.cost``: a list of {title, dataset, kind, runs, sequential}."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _bad("robustness.cost", value, "give a list of {title, dataset, kind, runs, "
                   "sequential}")
    out = []
    for i, part in enumerate(value):
        where = f"robustness.cost[{i}]"
        c = _mapping(where, part, _COST_KEYS)
        if not isinstance(c.get("dataset"), str) or c["dataset"] not in datasets:
            raise _bad(f"{where}.dataset", c.get("dataset"), "give one of the datasets: "
                       + ", ".join(datasets))
        if c.get("kind") not in COST_KINDS:
            raise _bad(f"{where}.kind", c.get("kind"), "give " + " or ".join(COST_KINDS))
        runs = _file(f"{where}.runs", c.get("runs"), optional=False)
        if runs in (p.runs for p in out):
            raise _bad(f"{where}.runs", runs, "give each export once (its runs would count "
                       "twice)")
        out.append(CostPart(title=_text(f"{where}.title", c.get("title")),
                            dataset=c["dataset"], kind=c["kind"], runs=runs,
                            sequential=_file(f"{where}.sequential", c.get("sequential"))))
    return tuple(out)


def _power(value: Any) -> dict[str, str]:
    """``robustness.power``: study -> its plan-power CSV under the results folder."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad("robustness.power", value, "give a mapping of study: its plan-power CSV")
    return {_name(f"robustness.power.{k}", k): _file(f"robustness.power.{k}", v, optional=False)
            for k, v in value.items()}


# --- a reference's pilot -------------------------------------------------------------------------

def pilot_runs(runs: pd.DataFrame, regime: str, seeds: Sequence[int], spaces: Sequence[str],
               indices: int) -> pd.DataFrame:
    """The pilot's runs: regime `regime`, spaces `spaces`, indices below `indices`, training
    seeds `seeds` (one row per run, as the export has them)."""
    return runs[(runs["regime_name"] == regime) & runs["design_space"].isin(list(spaces))
                & (runs["index"] < indices) & runs["train_seed"].isin(list(seeds))]


def expected_runs(ref: Reference, seeds: Sequence[int]) -> int:
    """The runs of a complete pilot: every space's `indices` models under every seed."""
    return len(ref.spaces) * ref.indices * len(seeds)


def pilot_models(runs: pd.DataFrame, seeds: Sequence[int], spaces: Sequence[str]
                 ) -> pd.DataFrame:
    """One row per model of `runs` (`pilot_runs`) with a run under every seed of `seeds`, in
    the order of `spaces`, then index: its mean error over the seeds (ok only if ok under every
    seed; `analysis.fidelity.mean_over_seeds`), its complexity, stages and geometry
    (`SPEC_COLUMNS`, from its first seed's run), its regime and the seeds averaged."""
    import pandas as pd

    from .fidelity import KEYS, mean_over_seeds

    per_seed = [runs[runs["train_seed"] == s] for s in seeds]
    means = mean_over_seeds(per_seed)
    spec = per_seed[0][[*KEYS, *(c for c in SPEC_COLUMNS if c in runs.columns),
                        "regime_name"]]
    out = means.merge(spec, on=KEYS)
    out["seeds"] = ",".join(str(s) for s in seeds)
    rank = {s: i for i, s in enumerate(spaces)}
    out = out.sort_values(["design_space", "index"], key=lambda c: c.map(rank)
                          if c.name == "design_space" else c, kind="stable")
    cols = [*KEYS, "status", "error", *(c for c in SPEC_COLUMNS if c in out.columns),
            "wall_seconds", "regime_name", "seeds"]
    return pd.DataFrame(out[cols]).reset_index(drop=True)


# --- the plans on a pilot ------------------------------------------------------------------------

def _needs(h: Hypothesis) -> tuple[list[str], list[str]]:
    """The spaces and the columns hypothesis `h` reads."""
    from .plan import Side

    spaces, columns = [], []
    for key, value in h.params.items():
        if isinstance(value, Side):
            spaces.append(value.space)
            if value.where is not None:
                columns.append(re.match(r"\s*([A-Za-z_]\w*)", value.where).group(1))
        elif key == "space":
            spaces.append(value)
        elif key == "spaces":
            spaces.extend(value)
        elif key in ("parameter", "covariate"):
            columns.append(value)
    if h.kind == "best_exponent":
        columns.append("flops")
    return spaces, columns


def unjudged(h: Hypothesis, frame: pd.DataFrame) -> str | None:
    """Why the pilot `frame` (`pilot_models` read as a models export) cannot judge `h`: a space
    it has no models of, or a column it lacks (a fit column counts as present where the rows
    carry specs, from which `analysis.plan` fits it); None when it can."""
    from .docblocks import space_name
    from .plan import FIT_COLUMNS

    spaces, columns = _needs(h)
    have = set(frame["design_space"])
    absent = [s for s in dict.fromkeys(spaces) if s not in have]
    if absent:
        return "no " + " or ".join(space_name(s) for s in absent) + " models in the pilot"
    lacking = [c for c in dict.fromkeys(columns) if c not in frame.columns
               and not (c in FIT_COLUMNS and "spec" in frame.columns)]
    if lacking:
        return "no column " + ", ".join(lacking) + " in the pilot's export"
    return None


def select(plan: Plan, ids: Sequence[str] | None) -> Plan:
    """`plan` with only the hypotheses `ids` (None: all), in the plan's order; an id the plan
    lacks is a ValueError."""
    if ids is None:
        return plan
    known = [h.id for h in plan.hypotheses]
    for i in ids:
        if i not in known:
            raise _bad(f"robustness.plans ({plan.source})", i, "give hypotheses of the plan: "
                       + ", ".join(known))
    return dataclasses.replace(plan, hypotheses=tuple(h for h in plan.hypotheses
                                                      if h.id in ids))


def reference_verdicts(frame: pd.DataFrame, plans: Mapping[str, Plan]) -> pd.DataFrame:
    """Each plan of `plans` (by name) judged on the pilot `frame` by `analysis.plan.verdicts`: its
    hypotheses the pilot can judge form its Holm family; each other one is a row with verdict
    `NOT_JUDGED` and its reason in ``note``. Columns: ``plan``, `analysis.plan.COLUMNS`,
    ``note``; rows in the plans' order."""
    import pandas as pd

    from .plan import COLUMNS, verdicts

    parts = []
    for name, plan in plans.items():
        why = {h.id: unjudged(h, frame) for h in plan.hypotheses}
        kept = tuple(h for h in plan.hypotheses if why[h.id] is None)
        judged = (verdicts(frame, dataclasses.replace(plan, hypotheses=kept)).set_index("id")
                  if kept else None)
        rows = []
        for h in plan.hypotheses:
            if why[h.id] is None:
                rows.append({"id": h.id, **judged.loc[h.id].to_dict(), "note": ""})
            else:
                rows.append({"id": h.id, "kind": h.kind, "family": h.family,
                             "metric": h.metric or plan.metric, "text": h.text,
                             "verdict": NOT_JUDGED, "note": why[h.id]})
        part = pd.DataFrame(rows).reindex(columns=[*COLUMNS, "note"])
        part.insert(0, "plan", name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
