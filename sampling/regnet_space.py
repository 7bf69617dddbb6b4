"""RegNet spaces ([DDS] §3.3, §4; docs/PAPER.md §2): six parameters d, w0, wa, wm, b, g on quantized
grids, widths from the quantized linear rule with pycls's rounding, a shared b and g, and the
sweep validity rule: exactly `stages` stages and no skipped exponent (pycls
`check_regnet_constraints`), each built stage valid for the space's block type
(`sampling.stage_rule`, the named mask ``block_stages``). All other constraints are applied by
rejection, so sampling is exact for the configured grid distributions restricted to the valid,
constrained set.

The rule is evaluated for a whole batch with the batch forms of the one implementation in
`anynet.regnet` (`rule_widths`, `rule_exponents`, `adjust`), which `anynet.regnet_stages` and
`anynet.adjust_compatibility` also use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from anynet import AnyNetSpec
from anynet.regnet import adjust, continuous_widths, rule_exponents, rule_widths, stage_exponents

from .constraints import StageArrays
from .distributions import Categorical
from .exact import draw_categorical
from .space import Candidates, DesignSpace
from .stage_rule import MASK, admitted

PARAMS = ("depth", "w0", "wa", "wm", "bottleneck_ratio", "group_width")


class RegNetSpace(DesignSpace):
    family = "regnet"
    uniforms_per_candidate = len(PARAMS)

    def __init__(self, dists: Mapping[str, Categorical], q: int, **kw: Any) -> None:
        super().__init__(**kw)
        for name, low, allowed in (("wm", 1.0, "above 1 (the widths must grow)"),
                                    ("w0", 0.0, "above 0"), ("wa", -1e-12, ">= 0")):
            values = dists[name].values[dists[name].probs > 0]
            if values.size and float(values.min()) <= low:
                raise ValueError(f"design_space.domains.{name}: draws {float(values.min()):g}; "
                                 f"every value must be {allowed} ([DDS] Eqs. 2-4)")
        self.dists = dists
        self.q = q
        self.n = len(self.strides)
        self.cums = [np.cumsum(dists[p].probs) for p in PARAMS]

    def _rule(self, d, w0, wa, wm, b, g) -> tuple[StageArrays, np.ndarray]:
        n, size = self.n, len(d)
        depths = np.ones((size, n), dtype=np.int64)
        built = np.full((size, n), 8, dtype=np.int64)  # placeholders where the rule fails,
        groups = built.copy()                           # never read (`DesignSpace._failures`)
        # the last block has the largest exponent: a cheap necessary test before the full rule
        k_last = stage_exponents(continuous_widths(w0, wa, d - 1), w0, wm)
        rows = np.flatnonzero(k_last == n - 1)
        widths = rule_widths(w0[rows], wm[rows], n, self.q)
        keep = (np.diff(widths, axis=1) > 0).all(axis=1)
        rows, widths = rows[keep], widths[keep]
        if len(rows):
            ks = rule_exponents(d[rows], w0[rows], wa[rows], wm[rows])
            dk = np.stack([(ks == k).sum(axis=1) for k in range(n)], axis=1)
            ok = (ks.max(axis=1) == n - 1) & (dk >= 1).all(axis=1) & (dk.sum(axis=1) == d[rows])
            rows, widths = rows[ok], widths[ok]
            depths[rows] = dk[ok]
            # block compatibility on the rows the stage rule admits
            built[rows], groups[rows] = adjust(widths, b[rows, None], g[rows, None])
        valid = np.zeros(size, dtype=bool)
        valid[rows] = True
        ratios = np.repeat(b[:, None], n, axis=1)
        return StageArrays(depths, built, ratios, groups), valid

    def _candidates(self, u: np.ndarray) -> Candidates:
        vals = [self.dists[p].values[draw_categorical(c, u[:, i])]
                for i, (p, c) in enumerate(zip(PARAMS, self.cums, strict=True))]
        d, w0, wa, wm, b, g = vals
        arrays, valid = self._rule(d, w0.astype(float), wa.astype(float), wm.astype(float),
                                   b.astype(float), g.astype(np.int64))
        params = dict(zip(PARAMS, vals, strict=True))
        # built stages valid for the block type, judged where the stage rule holds (elsewhere
        # the widths are placeholders and the candidate fails as regnet_stages alone)
        rows = np.flatnonzero(valid)
        blocks = np.ones(len(valid), dtype=bool)
        blocks[rows] = admitted(arrays.widths[rows], arrays.ratios[rows], arrays.groups[rows],
                                self.fixed.block_type).all(axis=1)
        return Candidates(arrays, {"regnet_stages": valid, MASK: blocks}, params)

    def contains(self, spec: AnyNetSpec) -> bool:
        """Exact search of the grid: some (d, w0, wa, wm, b, g) of positive mass builds `spec`
        with `stages` valid stages, and `spec` passes the windows and constraints."""
        if not self._fixed_fields_match(spec) or len(set(spec.bottleneck_ratios)) != 1:
            return False
        b, depth = spec.bottleneck_ratios[0], spec.depth
        if self.dists["bottleneck_ratio"].index_of(b) is None:
            return False
        if self.dists["depth"].index_of(depth) is None:
            return False
        dw0, dwm, dg, dwa = (self.dists[p] for p in ("w0", "wm", "group_width", "wa"))
        w0s, wms, gs = (a.ravel() for a in np.meshgrid(
            dw0.values[dw0.probs > 0], dwm.values[dwm.probs > 0], dg.values[dg.probs > 0],
            indexing="ij"))
        ws, g2 = adjust(rule_widths(w0s.astype(float), wms.astype(float), self.n, self.q),
                        float(b), gs.astype(np.int64)[:, None])
        hit = (ws == np.array(spec.widths)).all(axis=1) & (g2 == np.array(spec.group_widths)
                                                          ).all(axis=1)
        was = dwa.values[dwa.probs > 0].astype(float)
        seen = set()
        for w0, wm in zip(w0s[hit], wms[hit], strict=True):
            if (w0, wm) in seen:
                continue
            seen.add((w0, wm))
            m = len(was)
            ks = rule_exponents(np.full(m, depth), np.full(m, float(w0)), was,
                                np.full(m, float(wm)))
            counts = np.stack([(ks == k).sum(axis=1) for k in range(self.n)], axis=1)
            if ((counts == np.array(spec.depths)).all(axis=1)
                    & (ks.max(axis=1) == self.n - 1)).any():
                return self._passes_checks(spec)
        return False

    def size(self) -> int:
        """Points of the quantized parameter grid (d, w0, wa, wm, b, g) of positive mass. The
        stage-count rule, the block rule and windows are not counted (see
        docs/DESIGN_SPACES.md)."""
        return math.prod(int((self.dists[p].probs > 0).sum()) for p in PARAMS)
