"""Group-sequential boundaries for plans judged at several looks (issue 24; docs/ANALYSIS.md,
"Sequential plans").

A look at fraction t_k of a plan's n sees standardized statistics Z_1 … Z_K with the canonical
joint distribution of accumulating data: Z_k ~ N(θ √I_k, 1) with Cov(Z_j, Z_k) = √(t_j / t_k)
(Jennison & Turnbull 2000, ch. 3). Boundaries come from Lan–DeMets alpha spending: a spending
function α(t) says how much of the type-I error may be spent by fraction t, and the efficacy bound
b_k is the value whose crossing probability at look k, with no earlier crossing, is
α(t_k) − α(t_{k−1}). The crossing probabilities are computed by the recursive numerical
integration of Armitage, McPherson & Rowe as gsDesign implements it (`gsdesign.h1`,
`gsdesign.hupdate`); only the spending functions and the root finding are ours.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
from gsdesign import h1, hupdate
from scipy import optimize
from scipy.stats import norm

GRID_R = 18  # gsDesign's default grid size (6r − 1 Simpson points per look)


@dataclass(frozen=True)
class Spending:
    """A Lan–DeMets spending function: `cumulative(alpha, t)` is the error spent by fraction t."""

    name: str
    doc: str
    cumulative: Callable[[float, float], float]


def _obf(alpha: float, t: float) -> float:
    """O'Brien–Fleming-like (Lan & DeMets 1983): 2 − 2 Φ(z_{1−α/2} / √t)."""
    return 2.0 - 2.0 * float(norm.cdf(norm.ppf(1.0 - alpha / 2.0) / math.sqrt(t)))


def _pocock(alpha: float, t: float) -> float:
    """Pocock-like (Lan & DeMets 1983): α ln(1 + (e − 1) t)."""
    return alpha * math.log(1.0 + (math.e - 1.0) * t)


SPENDING: Mapping[str, Spending] = MappingProxyType({
    "obf": Spending("obf", "O'Brien–Fleming-like, 2 − 2Φ(z_{1−α/2}/√t): spends almost nothing "
                    "early", _obf),
    "pocock": Spending("pocock", "Pocock-like, α ln(1 + (e − 1)t): spends evenly", _pocock),
})


@dataclass(frozen=True)
class Boundaries:
    """Efficacy bounds of one hypothesis: per look its fraction, the cumulative error spent, the
    bound on Z and the nominal one-sided p-value that crosses it (p ≤ nominal_p[k])."""

    fractions: tuple[float, ...]
    spent: tuple[float, ...]
    z: tuple[float, ...]
    sides: int

    @property
    def nominal_p(self) -> tuple[float, ...]:
        """The per-look nominal p-value of the bound (two-sided when `sides` is 2)."""
        return tuple(float(self.sides * norm.sf(b)) for b in self.z)


def check_fractions(fractions: Sequence[float], where: str = "looks") -> tuple[float, ...]:
    """The look fractions as a tuple; ValueError naming `where` unless strictly increasing in
    (0, 1] and ending at 1."""
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {list(fractions)!r} is not allowed; use increasing "
                         "fractions in (0, 1] ending at 1, e.g. [0.25, 0.5, 0.75, 1]") from None
    ok = (len(values) >= 1 and all(math.isfinite(v) and 0.0 < v <= 1.0 for v in values)
          and all(b > a for a, b in zip(values, values[1:], strict=False)) and values[-1] == 1.0)
    if not ok:
        raise ValueError(f"{where}: {list(values)!r} is not allowed; use increasing fractions "
                         "in (0, 1] ending at 1, e.g. [0.25, 0.5, 0.75, 1]")
    return values


def _spending(name: str) -> Spending:
    if name not in SPENDING:
        raise ValueError(f"spending: {name!r} is not a spending function; allowed: "
                         f"{', '.join(SPENDING)}")
    return SPENDING[name]


def _crossing(bounds: Sequence[float], fractions: Sequence[float], sides: int,
              r: int = GRID_R) -> list[float]:
    """Per look, the null probability of crossing the bound there and at no earlier look (two
    sides: |Z_k| ≥ b_k)."""
    out: list[float] = []
    grid = None
    for k, (b, t) in enumerate(zip(bounds, fractions, strict=True)):
        low = -b if sides == 2 else -np.inf
        if k == 0:
            up = float(norm.sf(b))
            out.append(up * sides)
            grid = h1(r=r, info=t, a=low, b=b)
            continue
        prev_t = fractions[k - 1]
        upper = hupdate(r, 0.0, t, b, np.inf, 0.0, prev_t, grid)[2].sum()
        cross = float(upper)
        if sides == 2:
            cross += float(hupdate(r, 0.0, t, -np.inf, -b, 0.0, prev_t, grid)[2].sum())
        out.append(cross)
        grid = hupdate(r, 0.0, t, low, b, 0.0, prev_t, grid)
    return out


def efficacy_bounds(fractions: Sequence[float], alpha: float, spending: str = "obf",
                    sides: int = 1, r: int = GRID_R) -> Boundaries:
    """Lan–DeMets efficacy bounds at `fractions` for a test of level `alpha` (one-sided when
    `sides` is 1; symmetric two-sided when 2), spending by `spending` (`SPENDING`). Non-binding
    futility stops do not change them."""
    t = check_fractions(fractions)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha: {alpha!r} is not allowed; use a level in (0, 1)")
    if sides not in (1, 2):
        raise ValueError(f"sides: {sides!r} is not allowed; use 1 or 2")
    fn = _spending(spending).cumulative
    spent = [min(alpha, sides * fn(alpha / sides, f)) for f in t]  # each side spends α/sides
    spent[-1] = alpha
    bounds: list[float] = []
    for k in range(len(t)):
        target = spent[k] - (spent[k - 1] if k else 0.0)
        if target <= 0.0:
            bounds.append(math.inf)
            continue

        def excess(b: float, k: int = k, target: float = target) -> float:
            return _crossing([*bounds, b], t[:k + 1], sides, r)[-1] - target

        bounds.append(float(optimize.brentq(excess, 0.01, 40.0, xtol=1e-10)))
    return Boundaries(fractions=t, spent=tuple(spent), z=tuple(bounds), sides=sides)


def constant_bound(fractions: Sequence[float], alpha: float, shape: str = "pocock",
                   sides: int = 2, r: int = GRID_R) -> float:
    """The constant C of the classical designs, for checking against their published tables:
    Pocock (1977), b_k = C; O'Brien & Fleming (1979), b_k = C / √t_k; total crossing = alpha."""
    t = check_fractions(fractions)
    scale = {"pocock": lambda f: 1.0, "obf": lambda f: 1.0 / math.sqrt(f)}[shape]

    def excess(c: float) -> float:
        return sum(_crossing([c * scale(f) for f in t], t, sides, r)) - alpha

    return float(optimize.brentq(excess, 0.5, 10.0, xtol=1e-10))


def futility_bounds(efficacy: Boundaries, drift: float, beta: float, spending: str = "obf",
                    r: int = GRID_R) -> tuple[float, ...]:
    """Non-binding beta-spending futility bounds a_k on Z for the design `efficacy`: under the
    alternative Z_k ~ N(drift √t_k, 1), the probability of stopping for futility at look k (having
    continued before, between a_j and b_j) is β(t_k) − β(t_{k−1}), β spending by `spending`.
    A bound above the efficacy bound is capped at it; the last look's is the efficacy bound
    (Jennison & Turnbull 2000, §7.2). Non-binding: the efficacy bounds ignore these stops."""
    if not 0.0 < beta < 1.0:
        raise ValueError(f"beta: {beta!r} is not allowed; use a type-II error in (0, 1)")
    t, b = efficacy.fractions, efficacy.z
    fn = _spending(spending).cumulative
    spent = [fn(beta, f) for f in t]
    bounds: list[float] = []
    grid = None
    for k in range(len(t)):
        if k == len(t) - 1:
            bounds.append(b[k])
            break
        target = spent[k] - (spent[k - 1] if k else 0.0)
        if k == 0:
            a = drift * math.sqrt(t[0]) + float(norm.ppf(target))
        else:
            def below(x: float, k: int = k, grid=grid, target: float = target) -> float:
                return float(hupdate(r, drift, t[k], -np.inf, x, drift, t[k - 1],
                                     grid)[2].sum()) - target
            a = float(optimize.brentq(below, -40.0, 40.0, xtol=1e-10))
        a = min(a, b[k])
        bounds.append(a)
        grid = (h1(r=r, theta=drift, info=t[0], a=a, b=b[0]) if k == 0 else
                hupdate(r, drift, t[k], a, b[k], drift, t[k - 1], grid))
    return tuple(bounds)


@dataclass(frozen=True)
class Design:
    """How a plan is judged sequentially: look fractions of its n, the spending function of its
    efficacy (and futility) bounds, non-binding beta-spending futility stops or none, and the
    power at which every hypothesis was planned (its drift: z_{1−α_i} + z_{power})."""

    looks: tuple[float, ...]
    spending: str = "obf"
    futility: str = "nonbinding"
    power: float = 0.8

    def sizes(self, n: int) -> tuple[int, ...]:
        """Models per space at each look for a plan of n per space (rounded half up)."""
        return tuple(int(math.floor(f * n + 0.5)) for f in self.looks)


FUTILITY = ("nonbinding", "none")


def parse_design(data: Mapping | None, n: int | None, where: str = "sequential") -> Design:
    """The `sequential:` section of a plan as a `Design`; ValueError naming the field unless its
    looks are increasing fractions ending at 1 that give >= 2 new models per space each at the
    plan's `n_per_space`, its spending function is known and its futility rule allowed."""
    design = design_of(data, where)
    if n is None:
        raise ValueError(f"{where}: needs the plan's n_per_space to place its looks")
    return placed(design, n, f"{where}.looks")


def design_of(data: Mapping | None, where: str = "sequential") -> Design:
    """`parse_design` before its looks are placed on an n (`placed`): every field checked."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: {data!r} is not allowed; use a mapping with keys looks, "
                         "spending, futility, power")
    unknown = sorted(set(data) - {"looks", "spending", "futility", "power"})
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: is not a key; allowed: looks, spending, "
                         "futility, power")
    looks = check_fractions(data.get("looks", (0.25, 0.5, 0.75, 1.0)), f"{where}.looks")
    spending = data.get("spending", "obf")
    if spending not in SPENDING:
        raise ValueError(f"{where}.spending: {spending!r} is not a spending function; allowed: "
                         f"{', '.join(SPENDING)}")
    futility = data.get("futility", "nonbinding")
    if futility not in FUTILITY:
        raise ValueError(f"{where}.futility: {futility!r} is not allowed; use one of "
                         f"{', '.join(FUTILITY)}")
    power = data.get("power", 0.8)
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not 0 < power < 1:
        raise ValueError(f"{where}.power: {power!r} is not allowed; use a number in (0, 1)")
    return Design(looks, spending, futility, float(power))


def placed(design: Design, n: int, where: str = "sequential.looks") -> Design:
    """`design`, checked on `n` models per space: a ValueError naming `where` unless its looks
    give >= 2 models at the first look and more at each look than at the one before."""
    sizes = design.sizes(n)
    if sizes[0] < 2 or any(b - a < 1 for a, b in zip(sizes, sizes[1:], strict=False)):
        raise ValueError(f"{where}: {list(design.looks)!r} is not allowed with n_per_space {n}: "
                         f"it gives {list(sizes)} models per space; each look needs >= 2 and "
                         "more than the look before")
    return design


DECISIONS = ("rejected", "futile", "continue", "not rejected")


@functools.lru_cache(maxsize=256)
def design_bounds(design: Design, level: float, r: int = GRID_R
                  ) -> tuple[Boundaries, tuple[float, ...]]:
    """The efficacy bounds of `design` at `level` and its futility bounds on Z (-inf where it
    has none), for a hypothesis planned at the design's power (drift z_{1−level} + z_power).
    Memoized: a pure function of its arguments."""
    eff = efficacy_bounds(design.looks, level, design.spending, r=r)
    if design.futility != "nonbinding":
        return eff, (-math.inf,) * len(eff.z)
    drift = float(norm.isf(level) + norm.ppf(design.power))
    return eff, futility_bounds(eff, drift, 1.0 - design.power, design.spending, r)


def sequential_holm(pvalues: Mapping[str, Sequence[float]], alpha: float, design: Design,
                    r: int = GRID_R) -> list[dict[str, object]]:
    """Holm's procedure kept across looks (the graphical approach of Maurer & Bretz 2013): each
    hypothesis not yet rejected holds α / (number not rejected) and is judged against efficacy
    bounds spent from that level; a rejection passes its level on, and the others are judged
    again, at every look so far, with the bounds of their new level. With non-binding futility,
    a hypothesis whose Z falls below its futility bound at an interim look stops (it keeps its
    share of α). `pvalues[id][k]` is the one-sided p-value at look k (as many looks as are
    done). One row per (look, hypothesis): its p, the local level and the bounds it was judged
    against (for one rejected at this look, the level it held when rejected; else the level in
    force after the look's rejections) and the decision."""
    ids = list(pvalues)
    done = {h: len(p) for h, p in pvalues.items()}
    n_looks = min(done.values()) if done else 0
    rejected: dict[str, int] = {}
    held: dict[str, float] = {}  # the level each rejected hypothesis held when rejected
    futile: dict[str, int] = {}
    rows: list[dict[str, object]] = []

    def bounds(level: float) -> tuple[Boundaries, tuple[float, ...]]:
        return design_bounds(design, level, r)

    last = len(design.looks) - 1
    for k in range(n_looks):
        while True:
            open_ = [h for h in ids if h not in rejected]
            level = alpha / len(open_) if open_ else alpha
            eff, _ = bounds(level)
            new = [h for h in open_ if h not in futile and any(
                pvalues[h][j] <= eff.nominal_p[j] for j in range(k + 1))]
            if not new:
                break
            for h in new:
                rejected[h] = k
                held[h] = level
        open_ = [h for h in ids if h not in rejected]
        after = alpha / len(open_) if open_ else alpha
        for h in ids:
            if rejected.get(h, k) < k or futile.get(h, k) < k:
                continue  # decided at an earlier look
            level = held.get(h, after)
            eff, fut = bounds(level)
            if h in rejected:
                state = "rejected"
            elif k < last and float(norm.isf(pvalues[h][k])) < fut[k]:
                futile[h] = k
                state = "futile"
            else:
                state = "not rejected" if k == last else "continue"
            rows.append({"look": k + 1, "fraction": design.looks[k], "id": h,
                         "p": float(pvalues[h][k]), "level": level,
                         "efficacy_p": eff.nominal_p[k],
                         "futility_p": float(norm.sf(fut[k])) if k < last else math.nan,
                         "decision": state})
    return rows


def spaces_of(params: Mapping[str, object]) -> tuple[str, ...]:
    """The design spaces a hypothesis's parameters draw models from (its sides, `space`,
    `spaces`), each once, in the order the parameters name them."""
    out: list[str] = []
    for key, value in params.items():
        if hasattr(value, "space") and hasattr(value, "select"):
            out.append(str(value.space))
        elif key == "space":
            out.append(str(value))
        elif key == "spaces":
            out.extend(str(v) for v in value)
    return tuple(dict.fromkeys(out))


def first_models(df, n: int):
    """The rows of the first `n` sample indices of each design space (a sequential sweep trains
    the population in index order)."""
    keep = df.groupby("design_space")["index"].transform(
        lambda idx: idx.isin(sorted(idx.unique())[:n]))
    return df[keep.to_numpy(bool)]


@dataclass(frozen=True)
class Judgement:
    """The plan judged at the looks done so far: per-look rows (`sequential_holm`'s, with
    `family`, `direction` ("claim" or "contra") and `n`), the look (1-based) at which each
    hypothesis was decided (None while open), and the spaces some open hypothesis still needs."""

    rows: tuple[dict[str, object], ...]
    decided: Mapping[str, int | None]
    needed: frozenset[str]


@dataclass(frozen=True)
class Decision:
    """How one hypothesis was decided: at `look` (1-based), on `n` models per space, by the
    rejection of its claim or of its opposite (`rejected`: "claim" or "contra"; None when
    neither was), and what stopped it (`stop`: "efficacy", a rejection; "futility", both
    directions stopped for futility; "last look", the design's last look came first)."""

    look: int
    n: int
    rejected: str | None
    stop: str

    def verdict(self, kind: str) -> str:
        """The verdict word: what a hypothesis of `kind` claims (`analysis.plan.claimed`:
        supported, or equivalent) when its claim was rejected, contradicted when its opposite
        was, not resolved otherwise (docs/ANALYSIS.md, "Sequential plans")."""
        from .plan import claimed

        if self.rejected == "claim":
            return claimed(kind)
        return "contradicted" if self.rejected == "contra" else "not resolved"


def decisions(rows: Iterable[Mapping[str, object]], complete: bool
              ) -> dict[str, Decision | None]:
    """Per hypothesis id of `rows` (`Judgement.rows`, or the replay's CSV read back: look, id,
    direction, decision, n), its `Decision`: the first look at which its claim or its opposite
    was rejected (the claim first at a tie), else the look at which the second of the two
    stopped for futility; one decided by neither is decided at its last row's look when the rows
    are `complete` (judged up to the design's last look), and open (None) otherwise."""
    by: dict[str, list[Mapping[str, object]]] = {}
    for r in rows:
        by.setdefault(str(r["id"]), []).append(r)
    out: dict[str, Decision | None] = {}
    for hid, mine in by.items():
        hits = [r for r in mine if r["decision"] == "rejected"]
        futile = {str(r["direction"]): r for r in mine if r["decision"] == "futile"}
        if hits:
            r = min(hits, key=lambda r: (int(r["look"]), r["direction"] != "claim"))
            out[hid] = Decision(int(r["look"]), int(r["n"]), str(r["direction"]), "efficacy")
        elif len(futile) == 2:
            r = max(futile.values(), key=lambda r: int(r["look"]))
            out[hid] = Decision(int(r["look"]), int(r["n"]), None, "futility")
        elif complete:
            r = max(mine, key=lambda r: int(r["look"]))
            out[hid] = Decision(int(r["look"]), int(r["n"]), None, "last look")
        else:
            out[hid] = None
    return out


def look_verdicts(df: pd.DataFrame, plan, design: Design, n: int,
                  looks_done: int | None = None) -> list[pd.DataFrame]:
    """At each of the first `looks_done` looks of `design` (all by default), placed on `n`
    models per space: the plan's fixed-n verdicts (`analysis.verdicts`) uncorrected (the raw p
    of each claim and of its opposite), on the first n_k models of each space (`first_models`),
    indexed by hypothesis id. A hypothesis a look cannot judge yet (a side, e.g. a rare
    subgroup, with fewer than 2 models) has NaN p-values there: `sequential_holm` neither
    rejects it nor stops it for futility at that look, and it is judged at the next."""
    from dataclasses import replace

    from .plan import verdicts

    sizes = design.sizes(n)
    done = len(sizes) if looks_done is None else looks_done
    raw = replace(plan, correction="none")
    return [verdicts(first_models(df, m), raw, too_few="skip").set_index("id")
            for m in sizes[:done]]


def _judged(per_look: Sequence[pd.DataFrame], plan, design: Design, n: int) -> Judgement:
    """`judge` on the per-look verdicts `per_look` (`look_verdicts`)."""
    sizes = design.sizes(n)
    rows: list[dict[str, object]] = []
    for family in dict.fromkeys(h.family for h in plan.hypotheses):
        ids = [h.id for h in plan.hypotheses if h.family == family]
        for direction, column in (("claim", "p"), ("contra", "p_contra")):
            p = {i: [float(t.loc[i, column]) for t in per_look] for i in ids}
            for row in sequential_holm(p, plan.alpha, design):
                rows.append({**row, "family": family, "direction": direction,
                             "n": sizes[int(row["look"]) - 1]})
    found = decisions(rows, complete=len(per_look) == len(sizes))
    decided = {h.id: None if found.get(h.id) is None else found[h.id].look
               for h in plan.hypotheses}
    needed = frozenset(space for h in plan.hypotheses if decided[h.id] is None
                       for space in spaces_of(h.params))
    return Judgement(tuple(rows), decided, needed)


def judge(df, plan, design: Design, n: int, looks_done: int | None = None) -> Judgement:
    """Judge `plan` on the sweep table `df` at the first `looks_done` looks of `design` (all by
    default), a population of `n` models per space: at look k each space holds its first n_k
    models (`first_models`), the plan's raw p-values (`analysis.verdicts`, uncorrected) of each
    claim and of its opposite are judged by `sequential_holm` within each family. A hypothesis
    is decided (`decisions`) at the first look its claim or its opposite is rejected, or once
    both stopped for futility; one never decided by the last look is decided there ("not
    resolved")."""
    return _judged(look_verdicts(df, plan, design, n, looks_done), plan, design, n)


# The columns `sequential_verdicts` adds to `analysis.plan.COLUMNS`.
SEQUENTIAL_COLUMNS = ["look", "n_look", "stop", "level", "efficacy_p", "level_contra",
                      "efficacy_p_contra"]


class NotTrainedYet(ValueError):
    """A sequential plan's verdict needs models its sweep table does not hold yet."""


def _covered(df: pd.DataFrame, h, decision: Decision) -> None:
    """Refuse a hypothesis decided at a look whose models some space of it lacks (a sweep not
    trained that far): the look would have been judged on fewer models than it states."""
    for space in spaces_of(h.params):
        have = int(df.loc[df["design_space"] == space, "index"].nunique())
        if have < decision.n:
            raise NotTrainedYet(f"sequential: hypothesis {h.id!r} is decided at look "
                             f"{decision.look} on {decision.n} models per space, but "
                             f"{space!r} has {have} in the sweep table; train the plan's "
                             "sequential sweep up to that look first")


def sequential_verdicts(df: pd.DataFrame, plan, design: Design | None = None,
                        n: int | None = None) -> pd.DataFrame:
    """A sequential plan's verdicts: those its `design` (the plan's `sequential:` section by
    default) reached on the sweep table `df` at `n` models per space (its n_per_space by
    default), on the models its looks used (docs/ANALYSIS.md, "Sequential plans").

    One row per hypothesis with the columns of `analysis.plan.verdicts` and `SEQUENTIAL_COLUMNS`:
    the estimand, estimate, interval, models (n_a, n_b) and raw p of the claim (``p``) and of
    its opposite (``p_contra``) are those of the fixed-n verdicts on the first n_k models of
    each space at the look k that decided it (`decisions`; ``look``, ``n_look`` = n_k,
    ``stop``); the verdict is the sequential decision's (`Decision.verdict`). ``p_corrected``
    and ``p_contra_corrected`` are left empty: Holm runs across looks as local levels (a
    hypothesis holds α / (number not yet rejected) and is judged against efficacy bounds spent
    from it), so no corrected p exists; instead ``level`` and ``efficacy_p`` are the local
    level the claim was judged at (the one it held when rejected) and the nominal p of its
    bound at that look (rejected when p <= efficacy_p; or, once a level passed on raised the
    bounds, when the p of an earlier look crossed that look's bound), ``level_contra`` and
    ``efficacy_p_contra`` its opposite's (empty where that direction had already stopped for
    futility). A hypothesis decided at a look that some of its spaces do not reach in `df` is
    a one-line `NotTrainedYet` (the sweep is not trained that far)."""
    from .plan import COLUMNS

    design = plan.sequential if design is None else design
    n = plan.n_per_space if n is None else n
    if design is None or n is None:
        raise ValueError(f"sequential: plan {plan.name!r} has no `sequential:` section with an "
                         "n_per_space; give a design and n, or judge it by analysis.verdicts")
    placed(design, n)
    per_look = look_verdicts(df, plan, design, n)
    judged = _judged(per_look, plan, design, n)
    found = decisions(judged.rows, complete=True)
    at = {(r["id"], r["look"], r["direction"]): r for r in judged.rows}
    out = []
    for h in plan.hypotheses:
        d = found[h.id]
        _covered(df, h, d)
        claim, contra = (_judged_against(at.get((h.id, d.look, side)))
                         for side in ("claim", "contra"))
        out.append({**per_look[d.look - 1].loc[h.id].to_dict(), "id": h.id,
                    "p_corrected": math.nan, "p_contra_corrected": math.nan,
                    "verdict": d.verdict(h.kind), "look": d.look, "n_look": d.n,
                    "stop": d.stop, "level": claim[0], "efficacy_p": claim[1],
                    "level_contra": contra[0], "efficacy_p_contra": contra[1]})
    return pd.DataFrame(out, columns=[*COLUMNS, *SEQUENTIAL_COLUMNS])


def _judged_against(row: Mapping[str, object] | None) -> tuple[float, float]:
    """The local level and the efficacy bound (nominal p) that one direction's `row`
    (`sequential_holm`'s, at the deciding look) was judged against; NaN for no row (that
    direction had stopped for futility at an earlier look)."""
    if row is None:
        return math.nan, math.nan
    return float(row["level"]), float(row["efficacy_p"])


def models_trained(plan, design: Design, n: int, decided: Mapping[str, int | None]
                   ) -> dict[str, int]:
    """Per space, the models a sequential sweep trains: up to the look at which the last
    hypothesis that needs the space was decided (all n while one is open)."""
    sizes = design.sizes(n)
    out: dict[str, int] = {}
    for h in plan.hypotheses:
        look = decided[h.id]
        for space in spaces_of(h.params):
            out[space] = max(out.get(space, 0), n if look is None else sizes[look - 1])
    return out


def _mwu_less(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The registry's one-sided Mann–Whitney p that a's errors are lower (`SHIFT_TESTS`), one
    per row of `a` and `b` (the same scipy call as one test at a time, row-wise)."""
    from .shift_tests import SHIFT_TESTS

    return np.asarray(SHIFT_TESTS["mwu"].pvalue(a, b, "less", axis=-1)[1], dtype=float)


def simulate(pool: Sequence[float], design: Design, n: int, alpha: float, shift: float = 0.0,
             reps: int = 2000, seed: int = 0, family: int = 1) -> dict[str, float]:
    """Error rates of one one-sided Mann–Whitney hypothesis ("a has lower errors than b") under
    `design`, by resampling: each replicate draws n errors for b and for a from `pool` (with
    replacement), a's multiplied by (1 − shift) (shift 0: the null), and judges them at the
    design's looks at level alpha / `family` (Holm's first step). Returns the rejection rate of
    the sequential design and of the fixed design (one look at n), and the mean models per
    space the sequential design trains (it stops at a rejection or a futility stop).

    The replicates are drawn one after the other (a's n errors, then b's) from one generator
    seeded with `seed`, and tested all at once, look by look (row-wise)."""
    level = alpha / family
    eff, fut = design_bounds(design, level)
    sizes = design.sizes(n)
    rng = np.random.default_rng(seed)
    x = np.asarray(pool, dtype=float)
    x = x[np.isfinite(x)]
    a, b = np.empty((reps, n)), np.empty((reps, n))
    for r in range(reps):
        a[r] = rng.choice(x, n) * (1.0 - shift)
        b[r] = rng.choice(x, n)
    stop = np.full(reps, sizes[-1])
    active = np.ones(reps, dtype=bool)
    seq = 0
    for k, m in enumerate(sizes):
        p = _mwu_less(a[:, :m], b[:, :m])
        rejected = active & (p <= eff.nominal_p[k])
        seq += int(rejected.sum())
        stop[rejected] = m
        active &= ~rejected
        if k < len(sizes) - 1:
            futile = active & (norm.isf(p) < fut[k])
            stop[futile] = m
            active &= ~futile
    fixed = int((_mwu_less(a, b) <= level).sum())
    return {"reps": float(reps), "sequential": seq / reps, "fixed": fixed / reps,
            "models": float(stop.sum()) / reps}

