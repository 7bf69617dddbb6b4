"""AnyNetX spaces A…E ([DDS] §3.2, Table 1) with exact structured sampling.

Model. Per stage the raw parameters (d_i, w_i, b_i, g_i) are independent draws from their
distributions; a *shared* parameter (b for AnyNetX_B, g for C) is drawn once for all stages. The
network is built with the App. D compatibility rule (`anynet.regnet.adjust`: g > w/b
clips g to w/b, else w/b is rounded to a multiple of g), and every constraint is a condition on
the *built* network (e.g. AnyNetX_D: built widths non-decreasing). The space's distribution is
this induced distribution restricted to the networks passing all constraints.

Exact sampling. Built widths of a stage depend only on its (w, b, g), so for fixed shared values
the built widths are i.i.d. over stages with a known pmf (the prior of w pushed through the
rule). Monotone widths/depths are then drawn by the suffix-sum chain (`exact.py`), the shared
values with weight prior × chain mass, and the non-shared b_i, g_i given the built width by
Bayes. Complexity windows, custom predicates and any registered named constraint that is not in
`BUILT_IN` are applied by rejection; the built-in ones are still tested on the candidates that
pass everything else (a no-op, which the tables guarantee; `DesignSpace._guard_structural`).
Raw (w, b, g) whose built stage is not a valid stage of the space's block type
(`sampling.stage_rule`: with custom domains, or a V, VR or R block whose g is not larger than
the width) have zero mass.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from anynet import AnyNetSpec
from anynet.regnet import adjust

from .batch_complexity import FixedFields
from .constraints import NAMED, StageArrays
from .distributions import Categorical
from .exact import chain_tables, draw_categorical, draw_chain, suffix
from .space import Candidates, DesignSpace
from .stage_rule import WORDS, admitted

# The named constraints the tables below draw by construction: these entries of `NAMED` (a
# registry that gives one of these names another test does not get it built in). Any other
# named constraint is enforced by rejection (`DesignSpace._failures`).
BUILT_IN = frozenset({"shared_bottleneck_ratio", "shared_group_width", "increasing_widths",
                      "increasing_depths"})


class AnyNetSpace(DesignSpace):
    family = "anynet"
    structural = BUILT_IN

    def __init__(self, dists: Mapping[str, Categorical], **kw: Any) -> None:
        super().__init__(**kw)
        self.structural = frozenset(n for n in BUILT_IN if self.registry.get(n) is NAMED[n])
        self.dd, self.dw = dists["depth"], dists["width"]
        self.db, self.dg = dists["bottleneck_ratio"], dists["group_width"]
        n = self.n = len(self.strides)
        self.uniforms_per_candidate = 1 + 3 * n
        on = set(self.named) & self.structural
        self.shared_b = "shared_bottleneck_ratio" in on
        self.shared_g = "shared_group_width" in on
        self.chain_w = "increasing_widths" in on
        self.chain_d = "increasing_depths" in on
        self._build_tables()

    # -- tables ---------------------------------------------------------------------------------
    def _build_tables(self) -> None:
        nb, ng = len(self.db), len(self.dg)
        grid = list(itertools.product(range(nb), range(ng), range(len(self.dw))))
        bi, gi, wi = (np.array(ix) for ix in zip(*grid, strict=True))
        bs = self.db.values[bi].astype(float)
        w2s, g2s = adjust(self.dw.values[wi].astype(np.int64), bs,
                          self.dg.values[gi].astype(np.int64))
        valid = admitted(w2s, bs, g2s, self.fixed.block_type).tolist()
        built = {}  # (bi, gi, wi) -> (built width, built group width), valid stages only
        for key, w2, g2, ok in zip(grid, w2s.tolist(), g2s.tolist(), valid, strict=True):
            if ok:
                built[key] = (w2, g2)
        self.wv = np.array(sorted({w for w, _ in built.values()}), dtype=np.int64)
        col = {w: k for k, w in enumerate(self.wv)}
        v = len(self.wv)
        # mass[pair, k] = P(built width = wv[k] | b, g); count[pair, k] = #raw w giving it
        self.mass = np.zeros((nb * ng, v))
        self.count = np.zeros((nb * ng, v), dtype=object)
        self.gbuilt = np.zeros((nb * ng, v), dtype=np.int64)
        for (bi, gi, wi), (w2, g2) in built.items():
            pair, k = bi * ng + gi, col[w2]
            self.mass[pair, k] += self.dw.probs[wi]
            self.count[pair, k] += 1
            self.gbuilt[pair, k] = g2
        # outer (shared) x inner (per-stage) decomposition of the (b, g) pairs
        bs = [[b] for b in range(nb)] if self.shared_b else [list(range(nb))]
        gs = [[g] for g in range(ng)] if self.shared_g else [list(range(ng))]
        outer = [(b, g) for b in bs for g in gs]
        self.pair = np.array([[bi * ng + gi for bi in b for gi in g] for b, g in outer])
        pb, pg = self.db.probs, self.dg.probs
        pri = np.array([[pb[bi] * pg[gi] for bi in b for gi in g] for b, g in outer])
        p_out = pri.sum(axis=1)  # prior of the shared values (1 when nothing is shared)
        self.p_in = pri / p_out[:, None]  # prior of the per-stage values given the shared ones
        stage_pmf = np.einsum("oi,oik->ok", self.p_in, self.mass[self.pair])
        tabs = [chain_tables(p, self.n, self.chain_w) for p in stage_pmf] if v else []
        weight = p_out * np.array([t[1] for t in tabs]) if v else p_out * 0
        if not weight.sum() > 0:
            raise ValueError(f"design space {self.name!r}: no raw (w, b, g) gives a valid stage "
                             f"of block_type {self.fixed.block_type} under the switched-on "
                             "constraints; widen design_space.domains" + _hint(self.fixed))
        self.r_w = np.stack([t[0] for t in tabs])
        self.outer_cum = np.cumsum(weight)
        # inner_cum[o, k, i]: cumulative mass of per-stage value i given built width k
        self.inner_cum = np.cumsum(self.p_in[:, None, :] *
                                   np.transpose(self.mass[self.pair], (0, 2, 1)), axis=2)
        self.r_d, _ = chain_tables(self.dd.probs, self.n, self.chain_d)

    # -- sampling -------------------------------------------------------------------------------
    def _candidates(self, u: np.ndarray) -> Candidates:
        n, rows = self.n, len(u)
        o = draw_categorical(self.outer_cum, u[:, 0])
        d_idx = draw_chain(self.r_d, u[:, 1:1 + n], self.chain_d)
        w_idx = np.empty((rows, n), dtype=np.int64)
        inner = np.empty((rows, n), dtype=np.int64)
        for ov in np.unique(o):
            sel = np.flatnonzero(o == ov)
            wk = draw_chain(self.r_w[ov], u[sel, 1 + n:1 + 2 * n], self.chain_w)
            w_idx[sel] = wk
            for s in range(n):
                inner[sel, s] = draw_categorical(self.inner_cum[ov, wk[:, s]],
                                                 u[sel, 1 + 2 * n + s])
        pair = self.pair[o[:, None], inner]
        ng = len(self.dg)
        arrays = StageArrays(
            depths=self.dd.values[d_idx].astype(np.int64),
            widths=self.wv[w_idx],
            ratios=self.db.values[pair // ng].astype(float),
            groups=self.gbuilt[pair, w_idx])
        return Candidates(arrays, masks={})

    # -- membership and size ---------------------------------------------------------------------
    def _raw_groups(self, spec: AnyNetSpec) -> list[set[int]] | None:
        """Per stage, the raw group-width indices that can build it (None if a stage can't)."""
        ng, out = len(self.dg), []
        for w, b, g in zip(spec.widths, spec.bottleneck_ratios, spec.group_widths, strict=True):
            bi = self.db.index_of(b)
            k = np.flatnonzero(self.wv == w)
            if bi is None or len(k) == 0:
                return None
            k = int(k[0])
            ok = {gi for gi in range(ng) if self.mass[bi * ng + gi, k] > 0
                  and self.dg.probs[gi] > 0 and self.gbuilt[bi * ng + gi, k] == g}
            if not ok:
                return None
            out.append(ok)
        return out

    def contains(self, spec: AnyNetSpec) -> bool:
        """True iff `spec` can be drawn: fixed fields, domains, reachability through the App. D
        rule (with one raw g for a shared group width), constraints and windows."""
        if not self._fixed_fields_match(spec):
            return False
        if any(self.dd.index_of(d) is None for d in spec.depths):
            return False
        groups = self._raw_groups(spec)
        if groups is None:
            return False
        if self.shared_g and not set.intersection(*groups):
            return False
        return self._passes_checks(spec)

    def size(self) -> int:
        """Exact number of raw parameter tuples (a shared parameter counted once) whose built
        network satisfies the structural constraints; no complexity window, no custom
        predicates. Computed with the chain recursion on integer counts. A switched-on named
        constraint that is not built in has no exact count: ValueError naming it."""
        extra = [n for n in self.named if n not in self.structural]
        if extra:
            raise ValueError(f"design space {self.name!r}: size() counts only the built-in "
                             f"named constraints {sorted(self.structural)}; {extra} is applied "
                             "by rejection and cannot be counted exactly; switch it off to count")
        depth = _chain_count(np.ones(len(self.dd), dtype=object), self.n, self.chain_d)
        per_stage = self.count[self.pair].sum(axis=1)  # (outer, built widths), over inner
        width = sum(_chain_count(row, self.n, self.chain_w) for row in per_stage)
        return int(depth * width)


def _hint(fixed: FixedFields) -> str:
    """What the block's domains must admit (docs/PAPER.md §1.6), for an error message."""
    if fixed.block_type == "X":
        return ""
    return (f" ({fixed.block_type} needs {WORDS[fixed.block_type]}, which the domains of "
            f"block={fixed.block_type.lower()} give)")


def _chain_count(counts: np.ndarray, stages: int, chain: bool) -> int:
    """Number of stage tuples (exact ints) with per-stage value multiplicities `counts`."""
    counts = np.asarray(counts, dtype=object)
    if not chain:
        return int(counts.sum()) ** stages
    z = counts
    for _ in range(stages - 1):
        z = counts * suffix(z)
    return int(z.sum())
