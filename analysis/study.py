"""A study is a config: ``conf/study/<name>.yaml`` names the experiment that made its runs, its
spaces in table order with their display names, its exports (sweep folders -> committed CSVs),
the plan that judges it, its tables and the docs page they feed (docs/ARCHITECTURE.md
"Commands", `dse-study`). `load_study` composes one (Hydra defaults, overrides) into a
`StudyConfig`; bad input is a one-line ValueError naming the field, the value and what is
allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

import conf

EXPORT_KINDS = ("models", "runs", "timing", "fidelity", "records")
_KEYS = ("experiment", "names", "short", "order", "exports", "models", "plan",
         "verdicts", "data", "tables", "power", "budget_hours", "sequential", "docs", "claims",
         "search", "robustness", "cost")
_EXPORT_KEYS = ("kind", "out", "sweeps", "candidate")
_DATA_KEYS = ("resolution", "in_channels", "num_classes", "stem_width")
_TABLE_KEYS = ("folder", "proposed", "pairs", "best_of", "top")
_POWER_KEYS = ("out", "kind", "pilot", "regime", "seed", "shift", "target", "family_size",
               "pilots", "effects", "medians", "grid", "reps", "n_boot", "scale")
POWER_KINDS = ("pilot", "seeds")
_BLOCK = re.compile(r"[A-Za-z0-9][\w-]*")  # a generated block's name (analysis.docblocks.MARKER)
_SEQUENTIAL_KEYS = ("design", "n", "reps", "seed", "shift", "family", "pools", "folder", "blocks",
                    "fixed")


@dataclass(frozen=True)
class Export:
    """One committed file made from sweep folders: `kind` ``models`` (one row per model of one
    sweep), ``runs`` (one row per run of several), ``timing`` (runs of ``RULE=DIR`` sweeps),
    ``fidelity`` (rows of `candidate`: the first sweep against each other one) or ``records``
    (every run record of one sweep, `analysis.record_archive`)."""

    name: str
    kind: str
    out: str  # under the results folder
    sweeps: tuple[str, ...]
    candidate: str | None = None


@dataclass(frozen=True)
class Data:
    """What a study export does not record per model (`study_export.study_frame`)."""

    resolution: int
    in_channels: int
    num_classes: int
    stem_width: int


@dataclass(frozen=True)
class Tables:
    """The study's tables (`study_tables`): where, the proposed space's name, the pairs
    compared besides consecutive spaces and the space whose `top` best models are fitted."""

    folder: str
    proposed: str
    pairs: tuple[tuple[str, str], ...]
    best_of: str
    top: int


@dataclass(frozen=True)
class Power:
    """The pilot's sample size per space (`analysis.sample_size`; docs/ANALYSIS.md "Power and
    sample size"): `regime`'s runs under training seed `seed` in the `pilot` exports. With
    `pilots` (each space of the study's plan -> the pilot space that stands in for it) it is the
    power of the whole plan instead (`analysis.plan_sample_size`; "Power of a plan"): each
    space's errors times its `effects` factor (1 where absent), `reps` replicates with `n_boot`
    resamples at each n of `grid`, until every hypothesis reaches `target`; `medians` (space ->
    (other space, factor)) states effects as medians instead, f times the other's
    (`analysis.median_effects`); `scale` (space -> column -> factor) multiplies columns of a
    space's pilot rows (`analysis.scaled_pilots`). Without `pilots`, `grid` is the models per
    space the sample size walks (`analysis.power_analysis.DEFAULT_GRID` when empty).
    `kind` ``seeds``: the seeds per model that [DDS] §5's comparison of one chosen model against
    a baseline needs (`analysis.baselines.power_csv`, its rule and inputs fixed there and in
    conf/plan/baselines.yaml); only `out` is read."""

    out: str
    pilot: tuple[str, ...] = ()
    regime: str = ""
    seed: int = 0
    shift: float | None = None
    target: float = 0.8
    family_size: int | None = None
    kind: str = "pilot"
    pilots: Mapping[str, str] | None = None
    effects: Mapping[str, float] | None = None
    medians: Mapping[str, tuple[str, float]] | None = None
    grid: tuple[int, ...] = ()
    reps: int = 200
    n_boot: int = 1000
    scale: Mapping[str, Mapping[str, float]] | None = None


@dataclass(frozen=True)
class Sequential:
    """The study's models judged look by look under a sequential `design`
    (`analysis.sequential`; docs/ANALYSIS.md "Sequential plans"): the replay and the design's
    error rates by resampling each of `pools`' errors `reps` times, null and `shift`ed, at
    level alpha / `family`. Its files go to `folder` (under the results folder) and its
    generated blocks are named `blocks`-verdicts, -replay, -saved and -simulation
    (`analysis.sequential_tables`); `fixed` is the study whose verdicts CSV holds the fixed-n
    verdicts it is read against. `n` None: the plan's n_per_space, read when the replay runs
    (the design's looks are placed on it then, `analysis.sequential.placed`)."""

    design: Any  # analysis.sequential.Design
    n: int | None
    reps: int
    seed: int
    shift: float
    family: int
    pools: tuple[str, ...]
    fixed: str
    folder: str = "sequential"
    blocks: str = "sequential"


@dataclass(frozen=True)
class StudyConfig:
    """A composed ``conf/study/<name>.yaml``; file names are relative to the results folder."""

    name: str
    experiment: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    short: Mapping[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    exports: Mapping[str, Export] = field(default_factory=dict)
    models: str | None = None
    plan: str | None = None
    verdicts: str | None = None
    data: Data | None = None
    tables: Tables | None = None
    power: Power | None = None
    budget_hours: float | None = None
    sequential: Sequential | None = None
    docs: str | None = None
    claims: Any = None  # analysis.claims.Catalogue: the paper's claims (conf/study/claims.yaml)
    search: Any = None  # analysis.search_efficiency.Search ([DDS] Fig. 9 right)
    robustness: Any = None  # analysis.robustness.Robustness (issue 21: two datasets)
    cost: Any = None  # analysis.study_costs.Costs (issue 25: each study's machine time)

    def name_of(self, space: str) -> str:
        """`space` as the docs' tables print it (a space without a display name: its id)."""
        return self.names.get(space, space)

    def short_of(self, space: str) -> str:
        return self.short.get(space, self.name_of(space))


def space_names() -> dict[str, str]:
    """The display names of the design spaces (``conf/study/_spaces.yaml``, which every study
    composes): the one table the docs' generated pages print spaces by."""
    return dict(yaml.safe_load((conf.path() / "study" / "_spaces.yaml").read_text())["names"])


def study_names() -> list[str]:
    """The studies of ``conf/study/`` (files starting with ``_`` are parts, not studies)."""
    return sorted(p.stem for p in (conf.path() / "study").glob("*.yaml")
                  if not p.stem.startswith("_"))


def load_study(name: str, overrides: Sequence[str] = ()) -> StudyConfig:
    """``conf/study/<name>.yaml`` composed with Hydra-style `overrides`
    (``exports.study.sweeps=[runs/x]``), validated."""
    known = study_names()
    if name not in known:
        raise ValueError(f"study: {name!r} is not a study of conf/study/; use one of "
                         + ", ".join(known))
    cfg = conf.compose_plain(name, overrides, folder=conf.path() / "study")
    return parse_study(name, cfg)


def _bad(where: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{where}: {value!r} is not allowed; {allowed}")


def _mapping(where: str, value: Any, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, value, f"give a mapping of {', '.join(keys)}")
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise _bad(f"{where}.{unknown[0]}" if where else unknown[0], value[unknown[0]],
                   f"{where or 'a study'} has the keys {', '.join(keys)}")
    return dict(value)


def _text(where: str, value: Any, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(where, value, "give a non-empty string")
    return value


def _file(where: str, value: Any, optional: bool = True) -> str | None:
    """A path under the results folder: relative, without ``..``."""
    text = _text(where, value, optional)
    if text is not None and (text.startswith("/") or ".." in text.split("/")):
        raise _bad(where, value, "give a path relative to the results folder, without '..'")
    return text


def _number(where: str, value: Any, low: float, high: float, integer: bool = False) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise _bad(where, value, f"give {what} in [{low:g}, {high:g}]")
    return value


def _texts(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _bad(where, value, "give a list of strings")
    return tuple(_text(f"{where}[{i}]", v) for i, v in enumerate(value))


def _space(where: str, value: Any, order: Sequence[str]) -> str:
    if value not in order:
        raise _bad(where, value, "give a space of order: " + ", ".join(order))
    return value


def _exports(value: Any) -> dict[str, Export]:
    if not isinstance(value, Mapping):
        raise _bad("exports", value, "give a mapping of export names to {kind, out, sweeps}")
    out = {}
    for name, entry in value.items():
        where = f"exports.{name}"
        e = _mapping(where, entry, _EXPORT_KEYS)
        kind = e.get("kind")
        if kind not in EXPORT_KINDS:
            raise _bad(f"{where}.kind", kind, "use one of " + ", ".join(EXPORT_KINDS))
        sweeps = _texts(f"{where}.sweeps", e.get("sweeps", []))
        if kind == "timing":
            for i, s in enumerate(sweeps):
                rule, eq, folder = s.partition("=")
                if not (eq and rule and folder):
                    raise _bad(f"{where}.sweeps[{i}]", s, "give RULE=DIR")
        out[name] = Export(name, kind, _file(f"{where}.out", e.get("out"), optional=False),
                           sweeps, _text(f"{where}.candidate", e.get("candidate"), True))
    return out


def _tables(value: Any, order: Sequence[str]) -> Tables:
    t = _mapping("tables", value, _TABLE_KEYS)
    pairs = t.get("pairs", [])
    if not isinstance(pairs, Sequence) or isinstance(pairs, str):
        raise _bad("tables.pairs", pairs, "give a list of [a, b] pairs")
    checked = []
    for i, pair in enumerate(pairs):
        where = f"tables.pairs[{i}]"
        if (not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2
                or pair[0] not in order or pair[1] not in order
                or order.index(pair[0]) >= order.index(pair[1])):
            raise _bad(where, pair, "give [a, b], two spaces of order with a before b")
        checked.append((pair[0], pair[1]))
    return Tables(folder=_file("tables.folder", t.get("folder"), optional=False),
                  proposed=_text("tables.proposed", t.get("proposed")),
                  pairs=tuple(checked), best_of=_space("tables.best_of", t.get("best_of"), order),
                  top=_number("tables.top", t.get("top"), 1, 10**6, integer=True))


def _power(value: Any) -> Power:
    p = _mapping("power", value, _POWER_KEYS)
    kind = p.get("kind", "pilot")
    if kind not in POWER_KINDS:
        raise _bad("power.kind", kind, "use one of " + ", ".join(POWER_KINDS))
    if kind == "seeds":
        extra = [k for k in p if k not in ("out", "kind")]
        if extra:
            raise _bad(f"power.{extra[0]}", p[extra[0]], "leave it out with power.kind: seeds "
                       "(its inputs are fixed in analysis.baselines)")
        return Power(out=_file("power.out", p.get("out"), optional=False), kind=kind)
    pilot = _texts("power.pilot", p.get("pilot"))
    if not pilot:
        raise _bad("power.pilot", p.get("pilot"), "give at least one export of pilot runs")
    common = dict(out=_file("power.out", p.get("out"), optional=False),
                  pilot=tuple(_file(f"power.pilot[{i}]", f) for i, f in enumerate(pilot)),
                  regime=_text("power.regime", p.get("regime")),
                  seed=_number("power.seed", p.get("seed"), 0, 2**63 - 1, integer=True),
                  target=_number("power.target", p.get("target"), 1e-9, 1 - 1e-9))
    if p.get("pilots") is None:
        for key in ("effects", "medians", "reps", "n_boot", "scale"):
            if p.get(key) is not None:
                raise _bad(f"power.{key}", p[key], "give it with power.pilots (the power of a "
                           "plan); a pilot's sample size reads shift and family_size")
        return Power(**common, shift=_number("power.shift", p.get("shift"), 1e-9, 1),
                     family_size=_number("power.family_size", p.get("family_size"), 1, 10**6,
                                         integer=True),
                     grid=_grid(p.get("grid", ()), required=False))
    for key in ("shift", "family_size"):  # the plan states its effects and its family
        if p.get(key) is not None:
            raise _bad(f"power.{key}", p[key], "leave it out with power.pilots (a plan's power "
                       "reads power.effects and the plan's own hypotheses)")
    pilots = _mapping("power.pilots", p["pilots"], [str(k) for k in p["pilots"]]
                      if isinstance(p["pilots"], Mapping) else ())
    effects = _mapping("power.effects", p.get("effects", {}), list(pilots))
    medians = {k: _median(k, v, pilots) for k, v in
               _mapping("power.medians", p.get("medians", {}), list(pilots)).items()}
    if effects and medians:
        raise _bad("power.medians", p["medians"], "give effects or medians, not both")
    scale = _mapping("power.scale", p.get("scale", {}), list(pilots))
    return Power(**common, shift=None, family_size=None,
                 pilots={k: _text(f"power.pilots.{k}", v) for k, v in pilots.items()},
                 effects={k: _number(f"power.effects.{k}", v, 1e-9, 10)
                          for k, v in effects.items()},
                 medians=medians or None,
                 grid=_grid(p.get("grid"), required=True),
                 reps=_number("power.reps", p.get("reps", 200), 1, 10**6, integer=True),
                 n_boot=_number("power.n_boot", p.get("n_boot", 1000), 100, 10**6,
                                integer=True),
                 scale=_power_scale(scale))


def _grid(grid: Any, required: bool) -> tuple[int, ...]:
    """``power.grid``: models per space, a non-empty list (or absent where not `required`)."""
    if not required and (grid is None or (isinstance(grid, (list, tuple)) and not grid)):
        return ()
    if not isinstance(grid, Sequence) or isinstance(grid, str) or not grid:
        raise _bad("power.grid", grid, "give a non-empty list of models per space")
    return tuple(_number(f"power.grid[{i}]", n, 2, 10**6, integer=True)
                 for i, n in enumerate(grid))


def _median(space: str, value: Any, pilots: Mapping[str, Any]) -> tuple[str, float]:
    """``power.medians.<space>``: ``{of: <space of the pilots>, factor: <f>}``."""
    m = _mapping(f"power.medians.{space}", value, ("of", "factor"))
    of = _text(f"power.medians.{space}.of", m.get("of"))
    if of not in pilots:
        raise _bad(f"power.medians.{space}.of", of, "name a space of power.pilots ("
                   + ", ".join(pilots) + ")")
    return of, _number(f"power.medians.{space}.factor", m.get("factor"), 1e-9, 10)


def _power_scale(scale: Mapping[str, Any]) -> dict[str, dict[str, float]] | None:
    """``power.scale``: per plan space, column -> factor (`analysis.scaled_pilots`)."""
    out = {}
    for space, cols in scale.items():
        if not isinstance(cols, Mapping) or not cols:
            raise _bad(f"power.scale.{space}", cols, "give a mapping of columns to factors")
        out[space] = {c: _number(f"power.scale.{space}.{c}", f, 1e-9, 1e9)
                      for c, f in cols.items()}
    return out or None


def _sequential(value: Any, order: Sequence[str]) -> Sequential:
    from .sequential import design_of, placed

    q = _mapping("sequential", value, _SEQUENTIAL_KEYS)
    n = None if q.get("n") is None else _number("sequential.n", q["n"], 2, 10**6, integer=True)
    pools = _texts("sequential.pools", q.get("pools", []))
    blocks = _text("sequential.blocks", q.get("blocks", "sequential"))
    if not _BLOCK.fullmatch(blocks):
        raise _bad("sequential.blocks", blocks, "give a block-name prefix of letters, digits, "
                   "'_' and '-' (e.g. sequential-fashion)")
    design = design_of(q.get("design"), "sequential.design")
    return Sequential(design=design if n is None else placed(design, n, "sequential.design.looks"),
                      n=n,
                      reps=_number("sequential.reps", q.get("reps"), 1, 10**7, integer=True),
                      seed=_number("sequential.seed", q.get("seed", 0), 0, 2**63 - 1,
                                   integer=True),
                      shift=_number("sequential.shift", q.get("shift"), 1e-9, 1 - 1e-9),
                      family=_number("sequential.family", q.get("family"), 1, 10**6,
                                     integer=True),
                      pools=tuple(_space(f"sequential.pools[{i}]", s, order)
                                  for i, s in enumerate(pools)),
                      folder=_file("sequential.folder", q.get("folder", "sequential"),
                                   optional=False),
                      blocks=blocks, fixed=_text("sequential.fixed", q.get("fixed")))


def parse_study(name: str, data: Mapping[str, Any]) -> StudyConfig:
    """Validate a composed study config (plain containers) into a `StudyConfig`."""
    cfg = _mapping("", data, _KEYS)
    names = {str(k): _text(f"names.{k}", v) for k, v in (cfg.get("names") or {}).items()}
    short = {str(k): _text(f"short.{k}", v) for k, v in (cfg.get("short") or {}).items()}
    order = _texts("order", cfg.get("order", []))
    if len(set(order)) != len(order):
        raise _bad("order", list(order), "name each space once")
    data_ = None
    if cfg.get("data") is not None:
        d = _mapping("data", cfg["data"], _DATA_KEYS)
        data_ = Data(**{k: _number(f"data.{k}", d.get(k), 1, 10**6, integer=True)
                        for k in _DATA_KEYS})
    tables = cfg.get("tables")
    needs_models = [k for k in ("verdicts", "tables", "sequential", "search")
                    if cfg.get(k) is not None]
    if needs_models and (cfg.get("models") is None or data_ is None):
        missing = "models" if cfg.get("models") is None else "data"
        raise _bad(missing, None, f"a study with {needs_models[0]} needs its models export "
                   "(models) and data")
    if (cfg.get("verdicts") is not None or cfg.get("sequential") is not None) \
            and cfg.get("plan") is None:
        raise _bad("plan", None, "a study with verdicts needs the plan that judges it")
    budget = cfg.get("budget_hours")
    return StudyConfig(
        name=name, experiment=str(cfg.get("experiment") or ""), names=names, short=short,
        order=order,
        exports=_exports(cfg.get("exports") or {}),
        models=_file("models", cfg.get("models")), plan=_text("plan", cfg.get("plan"), True),
        verdicts=_file("verdicts", cfg.get("verdicts")), data=data_,
        tables=None if tables is None else _tables(tables, order),
        power=None if cfg.get("power") is None else _power(cfg["power"]),
        budget_hours=None if budget is None else _number("budget_hours", budget, 1e-9, 1e6),
        sequential=(None if cfg.get("sequential") is None
                    else _sequential(cfg["sequential"], order)),
        docs=_text("docs", cfg.get("docs"), True),
        claims=None if cfg.get("claims") is None else _claims(cfg["claims"]),
        search=None if cfg.get("search") is None else _search(cfg["search"], order),
        robustness=None if cfg.get("robustness") is None else _robustness(cfg["robustness"]),
        cost=None if cfg.get("cost") is None else _cost(cfg["cost"]))


def _claims(value: Any) -> Any:
    """The key ``claims``: `analysis.claims.parse_catalogue` (imported here: it reads studies)."""
    from .claims import parse_catalogue

    return parse_catalogue(value)


def _search(value: Any, order: Sequence[str]) -> Any:
    """The key ``search``: `analysis.search_efficiency.parse_search` (imported here: it uses
    this module's checks)."""
    from .search_efficiency import parse_search

    return parse_search(value, order)


def _cost(value: Any) -> Any:
    """The key ``cost``: `analysis.study_costs.parse_costs` (imported here: it uses this
    module's checks)."""
    from .study_costs import parse_costs

    return parse_costs(value)


def _robustness(value: Any) -> Any:
    """The key ``robustness``: `analysis.robustness.parse_robustness` (imported here: it uses
    this module's checks)."""
    from .robustness import parse_robustness

    return parse_robustness(value)
