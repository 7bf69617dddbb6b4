"""`DesignSpace`: exact, index-addressable sampling by rejection over vectorized candidates.

Randomness ([DDS] §3.2 samples n models per space; here every member is addressable): member
`index` of population `seed` is drawn from its own generator
``np.random.default_rng([seed, index, *config_words])``, where ``config_words`` are the eight
32-bit words of the SHA-256 of the resolved space config (canonical JSON, `max_tries` left out;
latency keys as `hashed_config` pins them to the profile's content).
Each candidate consumes a fixed number K of uniforms, taken row by row from
``rng.random((batch, K))``, so candidate k of a member is the same whatever the batch size; the
member is the first candidate that passes every constraint. No state is shared between calls.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anynet import AnyNetSpec, complexity

from .batch_complexity import FixedFields, batch_complexity
from .constraints import (
    LATENCY_KEYS,
    NAMED,
    CustomConstraint,
    LatencyWindow,
    Registry,
    StageArrays,
    Window,
)

FIRST_BATCH = 64
MAX_BATCH = 8192


@dataclass(frozen=True)
class Candidates:
    """N candidate networks: stage arrays, named structural masks, and extra parameters."""

    arrays: StageArrays
    masks: dict[str, np.ndarray]  # structural checks (e.g. RegNet stage count); True = passes
    params: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Checks:
    """One batch's checks as they ran (`DesignSpace._failures`): per check, the candidates it
    rejected and those it judged; and flops, params and acts where they were counted (the rows
    that reached the windows; -1 elsewhere), None without windows."""

    fails: dict[str, np.ndarray]
    judged: dict[str, np.ndarray]
    passed: np.ndarray  # the candidates no check rejected
    complexity: dict[str, np.ndarray] | None = None


@dataclass(frozen=True)
class Sample:
    """One member of a population: its spec, complexity and (RegNet) generating parameters."""

    index: int
    seed: int
    spec: AnyNetSpec
    complexity: dict[str, int]
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "seed": self.seed, "spec": self.spec.to_dict(),
                "complexity": self.complexity, "params": self.params}


@dataclass
class Stats:
    """Candidates tried, members accepted, and per check how many candidates it judged and
    how many of those it rejected. The checks run in order (`DesignSpace._failures`), each on
    the candidates that passed every check before it."""

    tried: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    judged: dict[str, int] = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.tried if self.tried else 0.0

    def reject(self, name: str, count: int, judged: int) -> None:
        """`name` judged `judged` more candidates and rejected `count` of them."""
        if judged:
            self.judged[name] = self.judged.get(name, 0) + int(judged)
        if count:
            self.rejected[name] = self.rejected.get(name, 0) + int(count)

    def strictest(self) -> tuple[str, int, int] | None:
        """(check, rejected, judged) of the check that rejected the largest share of the
        candidates it judged (the most rejected on a tie); None before any rejection."""
        if not self.rejected:
            return None
        name = max(self.rejected, key=lambda n: (self.rejected[n] / self.judged[n],
                                                 self.rejected[n]))
        return name, self.rejected[name], self.judged[name]


@dataclass(frozen=True)
class Population:
    samples: list[Sample]
    stats: Stats


# Keys added after populations were first drawn, at the values that mean the earlier behaviour:
# left out of the hash, so that every earlier population keeps its members.
NEUTRAL = {("strides",): None, ("complexity", "reference", "scale"): "input",
           ("block_type",): "X", ("activation",): "relu", ("stem_type",): "simple"}


def hashed_config(config: Mapping[str, Any], windows: Sequence[Window] = ()
                  ) -> dict[str, Any]:
    """What a population's random words are drawn from: the config without ``max_tries``,
    without keys at their `NEUTRAL` values, without the latency keys while no latency window
    is on, and with the profile's content digest in place of its name while one is (a refitted
    profile is a new population, a renamed or moved one is not)."""
    body = {k: v for k, v in config.items() if k != "max_tries"}
    for path, value in NEUTRAL.items():
        _drop_if(body, path, value)
    cx = body.get("complexity")
    if isinstance(cx, Mapping):
        cx = {k: v for k, v in cx.items() if k not in LATENCY_KEYS}
        for w in windows:
            if isinstance(w, LatencyWindow):
                cx["latency"] = [w.low, w.high]
                cx["latency_profile"] = w.profile.digest
        body["complexity"] = cx
    return body


def _drop_if(node: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Remove ``node[path]`` (a nested key) when it equals `value`; copies what it changes."""
    head, *rest = path
    if not rest:
        if head in node and node[head] == value:
            del node[head]
    elif isinstance(node.get(head), Mapping):
        node[head] = dict(node[head])
        _drop_if(node[head], tuple(rest), value)


def config_words(config: Mapping[str, Any]) -> list[int]:
    """Eight 32-bit words of the SHA-256 of the canonical JSON of `config` (stable everywhere)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4)]


class DesignSpace(ABC):
    """Base class: subclasses define candidate generation, `contains` and `size`."""

    family = ""

    def __init__(self, config: Mapping[str, Any], fixed: FixedFields, strides: tuple[int, ...],
                 windows: tuple[Window, ...], named: tuple[str, ...],
                 custom: tuple[CustomConstraint, ...], max_tries: int,
                 registry: Registry = NAMED) -> None:
        unknown = [n for n in named if n not in registry]
        if unknown:
            raise ValueError(f"design_space.constraints: {unknown} not registered; named "
                             f"constraints are {list(registry)}")
        self.config = dict(config)
        self.name = str(config["name"])
        self.fixed = fixed
        self.strides = strides
        self.windows = windows
        self.named = named
        self.registry = registry  # the named constraints' tests, read whenever one is checked
        self.custom = custom
        self.max_tries = max_tries
        self._words = config_words(hashed_config(self.config, windows))

    # -- subclass interface -------------------------------------------------------------------
    uniforms_per_candidate: int
    # Named constraints the family draws by construction (and size() counts exactly). Every
    # other switched-on named constraint is tested on every candidate batch (rejection), so
    # none is ever ignored; these are tested on the rows that pass everything else.
    structural: frozenset[str] = frozenset()

    @abstractmethod
    def _candidates(self, u: np.ndarray) -> Candidates:
        """Vectorized candidates from a (rows, uniforms_per_candidate) array of uniforms."""

    def _spec(self, cand: Candidates, row: int) -> AnyNetSpec:
        a = cand.arrays
        return AnyNetSpec(
            depths=a.depths[row].tolist(), widths=a.widths[row].tolist(),
            bottleneck_ratios=a.ratios[row].tolist(), group_widths=a.groups[row].tolist(),
            strides=list(self.strides), stem_width=self.fixed.stem_width,
            stem_stride=self.fixed.stem_stride, se_ratio=self.fixed.se_ratio,
            in_channels=self.fixed.in_channels, num_classes=self.fixed.num_classes,
            block_type=self.fixed.block_type, activation=self.fixed.activation,
            stem_type=self.fixed.stem_type)

    def _params(self, cand: Candidates, row: int) -> dict[str, Any]:
        return {k: v[row].item() for k, v in cand.params.items()}

    @abstractmethod
    def contains(self, spec: AnyNetSpec) -> bool:
        """Whether `spec` is a member of the space (positive mass, every constraint holds)."""

    @abstractmethod
    def size(self) -> int:
        """Exact cardinality without the complexity window (docs/DESIGN_SPACES.md)."""

    # -- shared checks -------------------------------------------------------------------------
    def _fixed_fields_match(self, spec: AnyNetSpec) -> bool:
        s = self.fixed
        return (spec.num_stages == len(self.strides) and spec.strides == self.strides
                and spec.stem_width == s.stem_width and spec.stem_stride == s.stem_stride
                and spec.se_ratio == s.se_ratio and spec.in_channels == s.in_channels
                and spec.num_classes == s.num_classes and spec.block_type == s.block_type
                and spec.activation == s.activation and spec.stem_type == s.stem_type)

    def _passes_checks(self, spec: AnyNetSpec) -> bool:
        """Windows, switched-on named constraints and custom predicates on one spec."""
        cx = complexity(spec, self.fixed.resolution)
        return (all(w.check(w.values(cx)) for w in self.windows)
                and all(self.registry[n].check(spec) for n in self.named)
                and all(c.check(spec) for c in self.custom))

    # -- sampling ------------------------------------------------------------------------------
    def rng(self, index: int, seed: int) -> np.random.Generator:
        for label, v in (("index", index), ("seed", seed)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"sample.{label}: {v!r} is not allowed; use an integer >= 0")
        return np.random.default_rng([int(seed), int(index), *self._words])

    def sample(self, index: int = 0, seed: int = 0) -> AnyNetSpec:
        """Member `index` of population `seed`: a pure function of (config, seed, index)."""
        return self.draw(index, seed).spec

    def draw(self, index: int = 0, seed: int = 0) -> Sample:
        return self.sample_many([index], seed).samples[0]

    def sample_many(self, indices: Iterable[int], seed: int = 0) -> Population:
        """Members `indices` of population `seed` (each as `sample` gives it), drawn together
        in numpy batches; with acceptance statistics. ValueError when a member needs more than
        `max_tries` candidates, naming the strictest check (`Stats.strictest`)."""
        indices = list(indices)
        rngs = {i: self.rng(i, seed) for i in indices}
        tried = dict.fromkeys(indices, 0)
        found: dict[int, Sample] = {}
        stats = Stats()
        batch = FIRST_BATCH
        pending = list(indices)
        k = self.uniforms_per_candidate
        while pending:
            u = np.concatenate([rngs[i].random((batch, k)) for i in pending])
            cand = self._candidates(1.0 - u)  # uniforms in (0, 1]
            checks = self._failures(cand)
            ok = self._guard_structural(cand, checks.passed, checks)
            # per check, running counts of rejected and judged rows: a member's share is a
            # difference (one pass per batch, not one per member)
            counts = {name: (_running(checks.fails[name]), _running(checks.judged[name]))
                      for name in checks.fails}
            still = []
            for j, i in enumerate(pending):
                lo = j * batch
                sample, used = self._first_accepted(cand, checks, ok, lo, lo + batch, i, seed,
                                                    stats)
                stats.tried += used
                for name, (rejected, judged) in counts.items():
                    stats.reject(name, rejected[lo + used] - rejected[lo],
                                 judged[lo + used] - judged[lo])
                tried[i] += used
                if sample is not None:
                    found[i] = sample
                    stats.accepted += 1
                elif tried[i] >= self.max_tries:
                    raise self._unsatisfiable(i, tried[i], stats)
                else:
                    still.append(i)
            pending = still
            batch = min(2 * batch, MAX_BATCH)
        return Population([found[i] for i in indices], stats)

    def _failures(self, cand: Candidates) -> Checks:
        """Per check, the candidates it rejects and those it judged, in order: the family's
        own rules (`masks`), each switched-on named constraint, then the windows, each judging
        only the candidates that passed every check before it (the costly complexity count
        runs on the few the stage rules leave, and is kept for the members)."""
        size = len(cand.arrays.depths)
        rows = np.arange(size)
        fails, judged = {}, {}

        def judge(name: str, bad: np.ndarray) -> np.ndarray:
            fails[name], judged[name] = _scatter(size, rows, bad), _scatter(size, rows, True)
            return rows[~bad]

        for name, mask in cand.masks.items():
            rows = judge(name, ~mask[rows])
        for name in self.named:
            if name not in self.structural:
                rows = judge(name, ~self.registry[name].mask(_rows(cand.arrays, rows)))
        if not self.windows:
            return Checks(fails, judged, _scatter(size, rows, True))
        a = _rows(cand.arrays, rows)
        cx = batch_complexity(a.depths, a.widths, a.ratios, a.groups, self.strides, self.fixed)
        counted = {k: np.full(size, -1, dtype=np.int64) for k in cx}
        for k, v in cx.items():
            counted[k][rows] = v
        keep = np.arange(len(rows))  # the rows still judged, as positions in cx
        for w in self.windows:
            bad = ~w.batch(w.values(cx))[keep]
            rows, keep = judge(f"complexity.{w}", bad), keep[~bad]
        return Checks(fails, judged, _scatter(size, rows, True), counted)

    def _guard_structural(self, cand: Candidates, ok: np.ndarray, checks: Checks
                          ) -> np.ndarray:
        """`ok` less the rows, among those passing every other check, that fail a switched-on
        named constraint the family draws by construction (none unless its sampler is wrong);
        a failure is recorded in `checks`. Testing only those rows keeps it cheap."""
        names = [n for n in self.named if n in self.structural]
        rows = np.flatnonzero(ok)
        if not names or not len(rows):
            return ok
        sub = _rows(cand.arrays, rows)
        passed = ok
        ok = ok.copy()
        for name in names:
            bad = rows[~self.registry[name].mask(sub)]
            checks.fails[name], checks.judged[name] = _scatter(len(ok), bad, True), passed
            ok[bad] = False
        return ok

    def _first_accepted(self, cand: Candidates, checks: Checks, ok: np.ndarray, lo: int,
                        hi: int, index: int, seed: int, stats: Stats
                        ) -> tuple[Sample | None, int]:
        """First candidate in rows [lo, hi) passing every check, and how many rows it used; its
        complexity is the batch's count where the windows made one (equal to `complexity`)."""
        for row in lo + np.flatnonzero(ok[lo:hi]):
            spec = self._spec(cand, int(row))
            failed = False
            for c in self.custom:  # in order: each judges the specs the ones before passed
                failed = not c.check(spec)
                stats.reject(f"constraints.{c.name}", int(failed), 1)
                if failed:
                    break
            if not failed:
                cx = (complexity(spec, self.fixed.resolution) if checks.complexity is None
                      else {k: int(v[row]) for k, v in checks.complexity.items()})
                return Sample(index, seed, spec, cx, self._params(cand, int(row))), row - lo + 1
        return None, hi - lo

    def _unsatisfiable(self, index: int, tried: int, stats: Stats) -> ValueError:
        worst, count, judged = stats.strictest() or ("?", 0, 0)
        return ValueError(
            f"design space {self.name!r}: no network accepted for index {index} after "
            f"{tried:,} candidates (design_space.max_tries={self.max_tries:,}); observed "
            f"acceptance rate {stats.acceptance_rate:.4%} over {stats.tried:,} candidates; the "
            f"strictest check is {worst} (it rejected {count:,} of the {judged:,} candidates "
            "that reached it). Widen it or switch it off.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, resolution={self.fixed.resolution})"


def _rows(a: StageArrays, rows: np.ndarray) -> StageArrays:
    """The stage arrays of candidates `rows`."""
    return StageArrays(depths=a.depths[rows], widths=a.widths[rows], ratios=a.ratios[rows],
                       groups=a.groups[rows])


def _scatter(size: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A bool array of `size`, `values` at `rows` and False elsewhere."""
    out = np.zeros(size, dtype=bool)
    out[rows] = values
    return out


def _running(mask: np.ndarray) -> np.ndarray:
    """Running counts of True in `mask`: element i counts rows [0, i)."""
    return np.concatenate(([0], np.cumsum(mask)))
