"""Pre-registered analysis plans and their verdicts (issue 12): a YAML file under `conf/plan/`
lists the paper's claims as testable hypotheses; `verdicts(df, plan)` tests them all on a sweep,
corrects for multiplicity (Holm) and reads each as supported, contradicted, equivalent or not
resolved. Each kind of hypothesis is one `PlanKind` entry of `PLAN_KINDS` (keys, checks, test),
which parsing, validation and verdicts read. Format and rules: docs/ANALYSIS.md, "Plans and
verdicts".
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import yaml

import conf

from .adjusted import adjusted_comparison
from .bootstrap import bootstrap_pvalue, percentile_interval
from .fit import fit_models
from .inference import (
    EQUIVALENCE_METHODS,
    best_noninferiority,
    equivalence_test,
    finite,
    holm,
    trend_test,
)
from .sequential import Design, parse_design
from .shift_tests import SHIFT_TESTS
from .stats import best_values
from .trainability import METRICS, WORST_ERROR, metric_frame

CORRECTIONS = ("holm", "none")
VERDICTS = ("supported", "contradicted", "equivalent", "not resolved")
_COMMON = ("id", "text", "kind", "metric", "family")
_PLAN_KEYS = ("name", "description", "alpha", "correction", "metric", "column", "ci", "n_boot",
              "seed", "num_classes", "worst", "n_per_space", "sequential", "hypotheses")
FIT_COLUMNS = ("fit_w0", "fit_wa", "fit_wm", "e_fit")
DIRECTIONS = ("increase", "decrease", "same")  # of a `best_shift`
NO_MARGIN = math.nan  # a `best_shift` without a margin (directions increase and decrease)
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq, "!=": operator.ne}
_WHERE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=|==|!=|<|>)\s*"
                    r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Side:
    """One side of a two-sample hypothesis: the models of `space`, optionally only those whose
    `where` condition holds (``"g > 1"``: a column, a comparison, a number)."""

    space: str
    where: str | None = None

    def select(self, df: pd.DataFrame) -> pd.DataFrame:
        rows = df[df["design_space"] == self.space]
        if self.where is None:
            return rows
        col, op, value = _WHERE.match(self.where).groups()
        if col not in rows.columns:
            raise ValueError(f"where: column {col!r} is not in the sweep table")
        x = pd.to_numeric(rows[col], errors="coerce")
        return rows[_OPS[op](x, float(value)).fillna(False).to_numpy(bool)]

    def __str__(self) -> str:
        return self.space if self.where is None else f"{self.space}[{self.where.strip()}]"


@dataclass(frozen=True)
class Hypothesis:
    """One planned claim: `kind` (a name of `PLAN_KINDS`) and its validated parameters."""

    id: str
    text: str
    kind: str
    params: Mapping[str, Any]
    metric: str | None = None
    family: str = "main"


@dataclass(frozen=True)
class Plan:
    """A confirmatory analysis plan (docs/ANALYSIS.md, "Plans and verdicts")."""

    hypotheses: tuple[Hypothesis, ...]
    alpha: float = 0.05
    correction: str = "holm"
    metric: str = "all"
    column: str = "error"
    ci: float = 95.0
    n_boot: int = 10_000
    seed: int = 0
    num_classes: int | None = None
    worst: float = WORST_ERROR
    n_per_space: int | None = None
    sequential: Design | None = None  # looks and bounds of a sequential sweep (issue 24)
    name: str | None = None
    description: str | None = None
    source: str = field(default="plan", compare=False)


# --- loading and validation --------------------------------------------------------------------

def _bad(where: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{where}: {value!r} is not allowed; use {allowed}")


def _number(where: str, value: Any, low: float, high: float, allowed: str,
            integer: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and low <= value <= high
    if not ok or (integer and int(value) != value):
        raise _bad(where, value, allowed)
    return int(value) if integer else float(value)


def _choice(where: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _bad(where, value, f"one of {', '.join(allowed)}")
    return value


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(where, value, "a non-empty string")
    return value


def _keys(where: str, d: Any, allowed: tuple[str, ...] | list[str]) -> dict:
    if not isinstance(d, Mapping):
        raise _bad(where, d, "a mapping")
    unknown = [k for k in d if k not in allowed]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    return dict(d)


def _side(where: str, value: Any) -> Side:
    if isinstance(value, str):
        return Side(_text(where, value))
    d = _keys(where, value, ("space", "where"))
    if "space" not in d:
        raise ValueError(f"{where}: missing key 'space'")
    cond = d.get("where")
    if cond is not None and (not isinstance(cond, str) or not _WHERE.match(cond)):
        raise _bad(f"{where}.where", cond, "'<column> <op> <number>' with op one of "
                   + " ".join(_OPS))
    return Side(_text(f"{where}.space", d["space"]), cond)


def _kind_params(where: str, kind: str, h: dict) -> dict[str, Any]:
    """The kind's keys of hypothesis `h` with their defaults (`PlanKind.keys`), its sides as
    `Side`s, then the kind's own checks (`PlanKind.parse`)."""
    spec = PLAN_KINDS[kind].keys
    out: dict[str, Any] = {}
    for key, default in spec.items():
        if key not in h:
            if default is None:
                raise ValueError(f"{where}: missing key {key!r} (kind {kind} needs "
                                 f"{', '.join(k for k, v in spec.items() if v is None)})")
            out[key] = default
            continue
        out[key] = h[key]
    for key in ("a", "b"):
        if key in out:
            out[key] = _side(f"{where}.{key}", out[key])
    PLAN_KINDS[kind].parse(where, out)
    return out


def _parse_better(where: str, out: dict[str, Any]) -> None:
    _choice(f"{where}.test", out["test"], tuple(SHIFT_TESTS))


def _parse_equivalent(where: str, out: dict[str, Any]) -> None:
    method = _choice(f"{where}.method", out["method"], EQUIVALENCE_METHODS)
    relative = method == "median_ratio"
    out["margin"] = _number(f"{where}.margin", out["margin"], 1e-12,
                            1 - 1e-12 if relative else 100,
                            "a relative margin in (0, 1)" if relative
                            else "a margin in error points in (0, 100]")


def _parse_best_as_good(where: str, out: dict[str, Any]) -> None:
    out["margin"] = _number(f"{where}.margin", out["margin"], 1e-12, 1 - 1e-12,
                            "a relative margin in (0, 1)")
    out["quantile"] = _number(f"{where}.quantile", out["quantile"], 1e-12, 0.5,
                              "a fraction in (0, 0.5]")


def _parse_adjusted(where: str, out: dict[str, Any]) -> None:
    cov = _text(f"{where}.covariate", out["covariate"])
    if not re.fullmatch(r"[A-Za-z_]\w*", cov):
        raise _bad(f"{where}.covariate", cov, "a column name of the sweep table (e.g. acts)")
    out["covariate"] = cov


def _parse_trend(where: str, out: dict[str, Any]) -> None:
    out["parameter"] = _text(f"{where}.parameter", out["parameter"])
    _choice(f"{where}.sign", out["sign"], ("positive", "negative"))
    spaces = out["spaces"]
    if not isinstance(spaces, (list, tuple)) or not all(isinstance(s, str) for s in spaces):
        raise _bad(f"{where}.spaces", spaces, "a list of design-space names")
    out["spaces"] = tuple(spaces)


def _range(where: str, r: Any) -> tuple[float, float]:
    if not (isinstance(r, (list, tuple)) and len(r) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                    and math.isfinite(x) for x in r)
            and r[0] < r[1]):
        raise _bad(where, r, "[low, high] with low < high")
    return float(r[0]), float(r[1])


def _parse_best_value(where: str, out: dict[str, Any]) -> None:
    out["parameter"] = _text(f"{where}.parameter", out["parameter"])
    out["space"] = _text(f"{where}.space", out["space"])
    out["range"] = _range(f"{where}.range", out["range"])
    out["frac"] = _number(f"{where}.frac", out["frac"], 1e-12, 1, "a fraction in (0, 1]")


def _parse_best_shift(where: str, out: dict[str, Any]) -> None:
    out["parameter"] = _text(f"{where}.parameter", out["parameter"])
    out["frac"] = _number(f"{where}.frac", out["frac"], 1e-12, 1, "a fraction in (0, 1]")
    direction = _choice(f"{where}.direction", out["direction"], DIRECTIONS)
    margin = out["margin"]
    given = not (isinstance(margin, float) and math.isnan(margin))
    if direction == "same" and not given:
        raise ValueError(f"{where}: missing key 'margin' (direction same needs a relative "
                         "margin in (0, 1))")
    if direction != "same" and given:
        raise _bad(f"{where}.margin", margin, f"no margin with direction {direction} (a "
                   "margin belongs to direction same)")
    if given:
        out["margin"] = _number(f"{where}.margin", margin, 1e-12, 1 - 1e-12,
                                "a relative margin in (0, 1)")


def _parse_best_exponent(where: str, out: dict[str, Any]) -> None:
    out["parameter"] = _text(f"{where}.parameter", out["parameter"])
    out["range"] = _range(f"{where}.range", out["range"])
    out["frac"] = _number(f"{where}.frac", out["frac"], 1e-12, 1, "a fraction in (0, 1]")


def parse_plan(data: Any, source: str = "plan") -> Plan:
    """A validated `Plan` from the YAML's mapping; errors are one line naming the field."""
    d = _keys(source, data, _PLAN_KEYS)
    hyps = d.get("hypotheses")
    if not isinstance(hyps, list) or not hyps:
        raise _bad(f"{source}: hypotheses", hyps, "a non-empty list of hypotheses")
    kw: dict[str, Any] = {}
    if "alpha" in d:
        kw["alpha"] = _number(f"{source}: alpha", d["alpha"], 1e-12, 0.5, "a level in (0, 0.5]")
    if "correction" in d:
        kw["correction"] = _choice(f"{source}: correction", d["correction"], CORRECTIONS)
    if "metric" in d:
        kw["metric"] = _choice(f"{source}: metric", d["metric"], METRICS)
    if "column" in d:
        kw["column"] = _text(f"{source}: column", d["column"])
    if "ci" in d:
        kw["ci"] = _number(f"{source}: ci", d["ci"], 1e-9, 100 - 1e-9,
                           "a percentage in (0, 100)")
    if "n_boot" in d:
        kw["n_boot"] = _number(f"{source}: n_boot", d["n_boot"], 1, 10**8, "an integer >= 1",
                               integer=True)
    if "seed" in d:
        kw["seed"] = _number(f"{source}: seed", d["seed"], 0, 2**63, "an integer >= 0",
                             integer=True)
    for key, low in (("num_classes", 2), ("n_per_space", 2)):
        if d.get(key) is not None:
            kw[key] = _number(f"{source}: {key}", d[key], low, 10**9,
                              f"an integer >= {low} or null", integer=True)
    if "worst" in d:
        kw["worst"] = _number(f"{source}: worst", d["worst"], 0, 1e9, "an error in percent")
    for key in ("name", "description"):
        if d.get(key) is not None:
            kw[key] = _text(f"{source}: {key}", d[key])
    if d.get("sequential") is not None:
        kw["sequential"] = parse_design(d["sequential"], kw.get("n_per_space"),
                                        f"{source}: sequential")
    out, seen = [], set()
    for i, h in enumerate(hyps):
        where = f"{source}: hypotheses[{i}]"
        if isinstance(h, Mapping) and "kind" not in h:
            raise ValueError(f"{where}: missing key 'kind' (one of {', '.join(KINDS)})")
        kind = _choice(f"{where}.kind", h.get("kind"), KINDS) if isinstance(h, Mapping) \
            else None
        h = _keys(where, h, [*_COMMON, *(PLAN_KINDS[kind].keys if kind else ())])
        for key in ("id", "text"):
            if key not in h:
                raise ValueError(f"{where}: missing key {key!r}")
        hid = _text(f"{where}.id", h["id"])
        if hid in seen:
            raise _bad(f"{where}.id", hid, "an id not used by another hypothesis")
        seen.add(hid)
        metric = h.get("metric")
        if metric is not None:
            _choice(f"{where}.metric", metric, METRICS)
        family = _text(f"{where}.family", h.get("family", "main"))
        out.append(Hypothesis(hid, _text(f"{where}.text", h["text"]), kind,
                              _kind_params(where, kind, h), metric, family))
    return Plan(hypotheses=tuple(out), source=source, **kw)


def find_plan(name: str) -> Path:
    """The YAML of a plan given by name (``conf/plan/<name>.yaml``, or ``plan/<name>.yaml`` in a
    folder of ``$ANYNET_DSE_CONF``, which comes first) or by a path to a ``.yaml`` file."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"plan: {name!r} is not allowed; give the name of a plan in conf/plan/ "
                         "or the path of a plan's YAML")
    for folder in (*conf.search_dirs(), conf.path()):
        found = folder / "plan" / f"{name}.yaml"
        if found.is_file():
            return found
    path = Path(name).expanduser()
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    known = sorted(f.stem for f in (conf.path() / "plan").glob("*.yaml"))
    if path.suffix in (".yaml", ".yml"):
        raise ValueError(f"plan: {name!r} is not a file; give a plan of conf/plan/ "
                         f"({', '.join(known)}) or the path of a plan's .yaml")
    raise ValueError(f"plan: {name!r} is neither a plan of conf/plan/ ({', '.join(known)}) nor "
                     "a .yaml file")


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan YAML (`conf/plan/*.yaml`)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ValueError(f"plan: cannot read {str(p)!r} ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(f"plan: {str(p)!r} is not valid YAML ({first})") from None
    return parse_plan(data, source=str(p))


# --- verdicts ----------------------------------------------------------------------------------

COLUMNS = ["id", "kind", "family", "metric", "text", "estimand", "estimate", "low", "high",
           "n_a", "n_b", "p", "p_corrected", "p_contra", "p_contra_corrected", "verdict"]


class TooFewModels(ValueError):
    """A side of a hypothesis holds fewer than 2 usable models: it cannot be judged on this
    table (a sequential look before a rare subgroup has 2 models may still judge it later)."""


def _errors(frame: pd.DataFrame, side: Side, column: str) -> np.ndarray:
    rows = side.select(frame)
    e = finite(rows[column])
    if e.size < 2:
        raise TooFewModels(f"{side}: {e.size} usable models in the sweep; need >= 2")
    return e


def _better(frame, prm, plan, column) -> dict[str, Any]:
    a, b = _errors(frame, prm["a"], column), _errors(frame, prm["b"], column)
    test = SHIFT_TESTS[prm["test"]]
    effect = test.effect(a, b, plan.ci, plan.n_boot, plan.seed)
    return {"estimand": effect.estimand, "estimate": effect.estimate, "low": effect.low,
            "high": effect.high, "n_a": int(a.size), "n_b": int(b.size),
            "p": float(test.pvalue(a, b, "less")[1]),
            "p_contra": float(test.pvalue(a, b, "greater")[1])}


def _equivalent(frame, prm, plan, column) -> dict[str, Any]:
    a, b = _errors(frame, prm["a"], column), _errors(frame, prm["b"], column)
    r = equivalence_test(a, b, prm["margin"], prm["method"], plan.ci, plan.n_boot, plan.seed)
    return {"estimand": f"{r.estimand} (margin ±{r.margin:g})", "estimate": r.estimate,
            "low": r.low, "high": r.high, "n_a": r.n_a, "n_b": r.n_b, "p": r.pvalue,
            "p_contra": r.p_beyond}


def _best_as_good(frame, prm, plan, column) -> dict[str, Any]:
    a, b = _errors(frame, prm["a"], column), _errors(frame, prm["b"], column)
    r = best_noninferiority(a, b, prm["margin"], prm["quantile"], plan.ci, plan.n_boot,
                            plan.seed)
    q = f"Q{r.quantile:g}"
    return {"estimand": f"{q}(a)/{q}(b) - 1 (margin {r.margin:g})", "estimate": r.estimate,
            "low": r.low, "high": r.high, "n_a": r.n_a, "n_b": r.n_b, "p": r.pvalue,
            "p_contra": r.p_worse}


def _paired(frame: pd.DataFrame, side: Side, column: str, covariate: str
            ) -> tuple[np.ndarray, np.ndarray]:
    rows = side.select(frame)
    if covariate not in rows.columns:
        raise ValueError(f"covariate: column {covariate!r} is not in the sweep table")
    e = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
    c = pd.to_numeric(rows[covariate], errors="coerce").to_numpy(float)
    ok = np.isfinite(e) & np.isfinite(c)
    if ok.sum() < 2:
        raise TooFewModels(f"{side}: {int(ok.sum())} usable models in the sweep; need >= 2")
    return e[ok], c[ok]


def _adjusted(frame, prm, plan, column) -> dict[str, Any]:
    (ea, ca), (eb, cb) = (_paired(frame, prm[s], column, prm["covariate"]) for s in "ab")
    r = adjusted_comparison(ea, ca, eb, cb, prm["covariate"], plan.ci, plan.n_boot, plan.seed)
    return {"estimand": r.estimand, "estimate": r.estimate, "low": r.low, "high": r.high,
            "n_a": r.n_a, "n_b": r.n_b, "p": r.pvalue, "p_contra": r.p_contra}


def _trend(frame, prm, plan, column) -> dict[str, Any]:
    predicted = "greater" if prm["sign"] == "positive" else "less"
    opposite = "less" if predicted == "greater" else "greater"
    spaces = prm["spaces"] or None
    t = trend_test(frame, prm["parameter"], column, spaces, predicted, plan.ci).iloc[-1]
    if not t["n"]:
        raise ValueError(f"parameter {prm['parameter']!r} varies in no space with >= 3 models")
    back = trend_test(frame, prm["parameter"], column, spaces, opposite, plan.ci).iloc[-1]
    return {"estimand": f"pooled within-space Spearman rho({prm['parameter']}, {column})",
            "estimate": t["rho"], "low": t["low"], "high": t["high"], "n_a": int(t["n"]),
            "n_b": pd.NA, "p": t["pvalue"], "p_contra": back["pvalue"]}


def _column(rows: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(rows[name], errors="coerce").to_numpy(float)


def _best_rows(frame: pd.DataFrame, side: Side, columns: tuple[str, ...],
               column: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The models of `side` with finite `columns` and error, and their errors; a fit column
    (fit_w0, fit_wa, fit_wm, e_fit) missing from the table is fitted for these models."""
    rows = side.select(frame)
    if (any(c not in rows.columns and c in FIT_COLUMNS for c in columns) and len(rows)
            and "spec" in rows.columns):
        rows = fit_models(rows)
    for c in columns:
        if c not in rows.columns:
            raise ValueError(f"parameter {c!r} is not in the sweep table")
    values = [_column(rows, c) for c in columns]
    e = _column(rows, column)
    keep = np.isfinite(e) & np.logical_and.reduce([np.isfinite(v) for v in values])
    if keep.sum() < 2:
        raise TooFewModels(f"{side}: {int(keep.sum())} usable models; need >= 2")
    return rows[keep], e[keep]


def _winners(rows: pd.DataFrame, e: np.ndarray, frac: float, plan: Plan,
             seed: int) -> np.ndarray:
    """Row positions of the bootstrap winners ([DDS] fn. 4, `best_values` on the positions):
    every column of `rows` read at them comes from the same resamples."""
    return best_values(np.arange(len(rows)), e, frac, plan.n_boot, seed).astype(np.int64)


def _outside(w: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """p of w inside [lo, hi] (the larger tail beyond it) and p of w outside it (twice the
    smaller tail inside it), as P* over the bootstrap draws (docs/ANALYSIS.md)."""
    return (max(bootstrap_pvalue(w, w < lo), bootstrap_pvalue(w, w > hi)),
            min(1.0, 2 * min(bootstrap_pvalue(w, w >= lo), bootstrap_pvalue(w, w <= hi))))


def _best_value(frame, prm, plan, column) -> dict[str, Any]:
    par = prm["parameter"]
    rows, e = _best_rows(frame, Side(prm["space"]), (par,), column)
    w = best_values(_column(rows, par), e, prm["frac"], plan.n_boot, plan.seed)
    lo, hi = prm["range"]
    low, high = percentile_interval(w, plan.ci)
    p, p_contra = _outside(w, lo, hi)
    return {"estimand": f"best {par} in {prm['space']} (range [{lo:g}, {hi:g}])",
            "estimate": float(np.median(w)), "low": low, "high": high,
            "n_a": len(rows), "n_b": pd.NA, "p": p, "p_contra": p_contra}


def _best_shift(frame, prm, plan, column) -> dict[str, Any]:
    """Best value in b minus best value in a: the two sides' bootstrap winners drawn
    independently (a with the plan's seed, b with seed + 1), paired draw by draw; `same`
    claims |shift| < margin × (a's median best value), by TOST on the draws."""
    par, a, b = prm["parameter"], prm["a"], prm["b"]
    rows_a, e_a = _best_rows(frame, a, (par,), column)
    rows_b, e_b = _best_rows(frame, b, (par,), column)
    best_a = best_values(_column(rows_a, par), e_a, prm["frac"], plan.n_boot, plan.seed)
    best_b = best_values(_column(rows_b, par), e_b, prm["frac"], plan.n_boot, plan.seed + 1)
    w = best_b - best_a
    direction = prm["direction"]
    if direction == "same":
        m = prm["margin"] * abs(float(np.median(best_a)))
        p = max(bootstrap_pvalue(w, w <= -m), bootstrap_pvalue(w, w >= m))  # TOST, |w| < m
        p_contra = min(1.0, 2 * min(bootstrap_pvalue(w, w > -m), bootstrap_pvalue(w, w < m)))
        claim = f"same within ±{m:.4g}"
    else:
        up, down = bootstrap_pvalue(w, w <= 0), bootstrap_pvalue(w, w >= 0)
        p, p_contra = (up, down) if direction == "increase" else (down, up)
        claim = direction
    low, high = percentile_interval(w, plan.ci)
    return {"estimand": f"best {par} in {b} - in {a} ({claim})",
            "estimate": float(np.median(w)), "low": low, "high": high,
            "n_a": len(rows_a), "n_b": len(rows_b), "p": p, "p_contra": p_contra}


def _best_exponent(frame, prm, plan, column) -> dict[str, Any]:
    """k in parameter ∝ flops^k between the two sides' best models: per draw, the winners'
    parameter and flops from the same resamples of a side (a with the plan's seed, b with
    seed + 1), k = log(par_b / par_a) / log(flops_b / flops_a)."""
    par, a, b = prm["parameter"], prm["a"], prm["b"]
    cols = (par, "flops")
    rows_a, e_a = _best_rows(frame, a, cols, column)
    rows_b, e_b = _best_rows(frame, b, cols, column)
    win_a = _winners(rows_a, e_a, prm["frac"], plan, plan.seed)
    win_b = _winners(rows_b, e_b, prm["frac"], plan, plan.seed + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (np.log(_column(rows_b, par)[win_b] / _column(rows_a, par)[win_a])
             / np.log(_column(rows_b, "flops")[win_b] / _column(rows_a, "flops")[win_a]))
    k[~np.isfinite(k)] = np.nan  # equal flops or a non-positive value: undefined draws
    if not np.isfinite(k).any():
        raise ValueError(f"the exponent of {par} on flops is undefined in every draw (equal "
                         "flops or non-positive values in the best models)")
    lo, hi = prm["range"]
    low, high = percentile_interval(k, plan.ci)
    p, p_contra = _outside(k, lo, hi)
    return {"estimand": f"k in best {par} ∝ flops^k, {a} -> {b} (range [{lo:g}, {hi:g}])",
            "estimate": float(np.nanmedian(k)), "low": low, "high": high,
            "n_a": len(rows_a), "n_b": len(rows_b), "p": p, "p_contra": p_contra}


@dataclass(frozen=True)
class PlanKind:
    """One kind of hypothesis: its keys (default, or None where required; the sides ``a`` and
    ``b`` become `Side`s), `parse(where, params)` (checks and normalizes the kind's values in
    place; errors name ``where.key``) and `judge(frame, params, plan, column)` (estimand,
    estimate, low, high, n_a, n_b, p of the claim and p_contra of its opposite)."""

    name: str
    keys: Mapping[str, Any]
    parse: Callable[[str, dict[str, Any]], None]
    judge: Callable[[pd.DataFrame, Mapping[str, Any], Plan, str], dict[str, Any]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))


# Adding a kind is one entry here, its test in tests/test_plan.py and its row in
# docs/ANALYSIS.md ("Plans and verdicts"); parsing, validation and verdicts read only this.
PLAN_KINDS: Mapping[str, PlanKind] = MappingProxyType({k.name: k for k in (
    PlanKind("better", {"a": None, "b": None, "test": "mwu"}, _parse_better, _better),
    PlanKind("equivalent", {"a": None, "b": None, "margin": None, "method": "median_ratio"},
             _parse_equivalent, _equivalent),
    PlanKind("best_as_good", {"a": None, "b": None, "margin": None, "quantile": 0.1},
             _parse_best_as_good, _best_as_good),
    PlanKind("trend", {"parameter": None, "sign": None, "spaces": ()}, _parse_trend, _trend),
    PlanKind("best_value", {"space": None, "parameter": None, "range": None, "frac": 0.25},
             _parse_best_value, _best_value),
    PlanKind("best_shift", {"a": None, "b": None, "parameter": None, "direction": None,
                            "margin": NO_MARGIN, "frac": 0.25}, _parse_best_shift, _best_shift),
    PlanKind("best_exponent", {"a": None, "b": None, "parameter": None, "range": None,
                               "frac": 0.25}, _parse_best_exponent, _best_exponent),
    PlanKind("adjusted", {"a": None, "b": None, "covariate": "acts"}, _parse_adjusted,
             _adjusted),
)})
KINDS = tuple(PLAN_KINDS)


def claimed(kind: str) -> str:
    """The verdict a hypothesis of `kind` claims when its test succeeds: ``equivalent`` for
    kind ``equivalent``, ``supported`` for every other kind."""
    return "equivalent" if kind == "equivalent" else "supported"


def verdicts(df: pd.DataFrame, plan: Plan | str | Path | Mapping, too_few: str = "raise"
             ) -> pd.DataFrame:
    """One row per hypothesis of `plan` (a `Plan`, a YAML path or its mapping) tested on the
    `load_sweep` table `df`: estimand, estimate and `ci`% interval, models used, the raw
    p-value of the claim (`p`) and of its opposite (`p_contra`), both corrected within each
    family (Holm, or none), and the verdict (docs/ANALYSIS.md, "Verdict rules"):

    - ``supported`` (``equivalent`` for kind ``equivalent``): p_corrected < alpha;
    - ``contradicted``: p_contra_corrected < alpha;
    - ``not resolved``: neither. No significant difference is never read as equivalence.

    A hypothesis with a side of fewer than 2 usable models (`TooFewModels`) is an error, or
    with ``too_few="skip"`` (a sequential look, `analysis.sequential.look_verdicts`) a row of
    NaN estimate and p-values, "not resolved".
    """
    if too_few not in ("raise", "skip"):
        raise ValueError(f"too_few: {too_few!r} is not allowed; use raise or skip")
    if not isinstance(plan, Plan):
        plan = load_plan(plan) if isinstance(plan, (str, Path)) else parse_plan(plan)
    frames: dict[str, pd.DataFrame] = {}
    rows = []
    for h in plan.hypotheses:
        metric = h.metric or plan.metric
        if metric not in frames:
            frames[metric] = metric_frame(df, metric, plan.column, plan.num_classes,
                                          plan.worst)
        try:
            res = PLAN_KINDS[h.kind].judge(frames[metric], h.params, plan, plan.column)
        except TooFewModels as exc:
            if too_few == "raise":
                raise ValueError(f"hypothesis {h.id!r}: {exc}") from None
            res = {"estimand": "", **dict.fromkeys(("estimate", "low", "high", "n_a", "n_b",
                                                    "p", "p_contra"), math.nan)}
        except ValueError as exc:
            raise ValueError(f"hypothesis {h.id!r}: {exc}") from None
        rows.append({"id": h.id, "kind": h.kind, "family": h.family, "metric": metric,
                     "text": h.text, **res})
    out = pd.DataFrame(rows)
    for col in ("p", "p_contra"):
        adjusted = out[col].astype(float)
        if plan.correction == "holm":  # over the hypotheses judged (a skipped one: NaN)
            for _, idx in out.groupby("family", sort=False).groups.items():
                judged = [i for i in idx if too_few == "raise" or np.isfinite(adjusted.loc[i])]
                adjusted.loc[judged] = holm(out.loc[judged, col].astype(float))
        out[f"{col}_corrected"] = adjusted
    support = out["kind"].map(claimed).to_numpy()
    out["verdict"] = np.select(
        [out["p_corrected"] < plan.alpha, out["p_contra_corrected"] < plan.alpha],
        [support, "contradicted"], "not resolved")
    return out[COLUMNS]
