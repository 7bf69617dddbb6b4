"""The generated tables and numbers of docs/SPEED.md, from the committed speed CSVs
(``dse-study speed docs [--check]``).

`load` reads, under the results folder, ``speed_zoo.csv`` and ``speed_ratio.csv`` (written by
`dse-speed`), ``runtime_models.csv`` and ``runtime_fits.csv`` (written by the runtime study,
docs/SPEED.md), and the example device profiles the wheel ships, ``sampling/profiles/*.json``
of the checkout the results folder belongs to (`PROFILES`, beside it: `analysis` may not import
`sampling`, so the folder is found from the results root, and a test holds it equal to
`sampling.latency.SHIPPED_PROFILE_DIR`). Each of `BLOCKS` renders one generated block
(`analysis.docblocks`). Nothing is timed here. The only number computed rather than read is
the paired bootstrap interval of the acts-minus-flops CV R² difference ([DDS] Fig. 12),
recomputed from runtime_models.csv with `analysis.runtime.r2_difference` (seed 0, as the
runtime study fit) after checking that it reproduces the CV R² values of runtime_fits.csv.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .docblocks import read_csv, table
from .runtime import r2_difference

# Published, not measured: pycls's complexity of EfficientNet-B0 (docs/PAPER.md §4.5) and the
# activations of EfficientNet-B5 ([DDS] Table 4, docs/PAPER.md §7). The published top-1 errors
# and V100 times of the tables are read from the CSVs' `published_*` columns (written by
# `dse-speed`, citing docs/PAPER.md §6-7).
PUBLISHED_B0 = {"flops": 385_825_092, "params": 5_288_548, "acts": 6_748_036}
PUBLISHED_B5_MACTS = 98.9

RUNTIME = re.compile(r"^(infer|train|ort)_b(\d+)_ms$")
KIND = {"infer": "eager inference", "train": "training step", "ort": "ONNX Runtime"}
SHORT = {"infer": "eager", "train": "train", "ort": "ORT"}
SEED = 0  # the runtime study fit's default fold/bootstrap seed
# The shipped example profiles, relative to the checkout that holds the results folder.
PROFILES = Path("sampling", "profiles")
CSVS = ("speed_zoo", "speed_ratio", "runtime_models", "runtime_fits")
SOURCE = "run dse-speed and the runtime study first (docs/SPEED.md)"


@dataclass(frozen=True)
class Inputs:
    """The committed results that docs/SPEED.md is generated from."""

    zoo: pd.DataFrame
    ratio: pd.DataFrame
    models: pd.DataFrame
    fits: pd.DataFrame
    profiles: tuple[tuple[str, dict], ...]  # (path relative to the repository, content)


def profile_dir(results: Path) -> Path:
    """The shipped example profiles of the checkout whose results folder is `results`."""
    return results.parent / PROFILES


def load(results: Path) -> Inputs:
    """The CSVs under `results` and the shipped example profiles (`profile_dir`); a missing
    CSV or profile folder is a one-line ValueError."""
    frames = {name: read_csv(results / f"{name}.csv", SOURCE) for name in CSVS}
    shipped = profile_dir(results)
    found = sorted(shipped.glob("*.json"))
    if not found:
        raise ValueError(f"profiles: {str(shipped)!r} holds no *.json; the shipped example "
                         f"profiles are {PROFILES.as_posix()}/ beside the results folder")
    profiles = tuple((f"{PROFILES.as_posix()}/{p.name}", json.loads(p.read_text()))
                     for p in found)
    return Inputs(frames["speed_zoo"], frames["speed_ratio"], frames["runtime_models"],
                  frames["runtime_fits"], profiles)


# -- formatting ---------------------------------------------------------------------------------
def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _ms(v: float) -> str:
    """A time in ms to about three significant digits."""
    if _missing(v):
        return ""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _signed(v: float, digits: int = 3) -> str:
    return f"{v:+.{digits}f}".replace("-", "−")


def _interval(v: float, lo: float, hi: float) -> str:
    return f"**{v:.2f}** [{lo:.2f}, {hi:.2f}]"


def _runtime(column: str) -> tuple[str, int]:
    m = RUNTIME.match(column)
    if not m:
        raise ValueError(f"column: {column!r} is not a runtime; use <infer|train|ort>_b<N>_ms")
    return m.group(1), int(m.group(2))


def _label(kind: str, batch: int) -> str:
    return f"{KIND.get(kind, kind)}, batch {batch}"


def _runtime_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if RUNTIME.match(c)]


# -- blocks -------------------------------------------------------------------------------------
def machine(inp: Inputs) -> str:
    """Where the timings were taken: the CSVs' device/threads columns, the profile provenance."""
    parts = []
    for name, frame in (("speed_zoo.csv", inp.zoo), ("speed_ratio.csv", inp.ratio)):
        pairs = frame[["device", "threads"]].drop_duplicates().itertuples(index=False)
        parts.append(f"`{name}`: " + ", ".join(f"{d}, {t} thread(s)" for d, t in pairs))
    lines = ["- Timings (the `device` and `threads` columns): " + "; ".join(parts) + "."]
    for path, p in inp.profiles:
        meta = p.get("meta", {})
        versions = ", ".join(f"{k} {meta[k]}" for k in ("torch", "onnxruntime") if k in meta)
        lines.append(f"- Provenance of `{path}` ({p['runtime']}): {p['device']}; {versions}; "
                     f"fitted {meta.get('fitted', '?')}; note: “{meta.get('note', '')}”.")
    return "\n".join(lines)


def zoo(inp: Inputs) -> str:
    """The zoo beside EfficientNet: counts, every measured runtime, published numbers."""
    z, cols = inp.zoo, _runtime_columns(inp.zoo)
    several = len(z[["device", "threads"]].drop_duplicates()) > 1
    head = ["model", *(["device", "threads"] if several else []), "res", "GF", "M params",
            "M acts"]
    head += [f"{SHORT[k]} b{b} ms [q1, q3]" for k, b in map(_runtime, cols)]
    head += ["top-1 err % (published)", "V100 ms / 64 img (published)"]
    rows = []
    for r in z.to_dict("records"):
        row = [r["model"], *([r["device"], str(r["threads"])] if several else []),
               str(r["resolution"]), f"{r['flops'] / 1e9:.2f}", f"{r['params'] / 1e6:.1f}",
               f"{r['acts'] / 1e6:.1f}"]
        for c in cols:
            q1, q3 = r.get(c[:-3] + "_q1"), r.get(c[:-3] + "_q3")
            iqr = "" if _missing(q1) or _missing(q3) else f" [{_ms(q1)}, {_ms(q3)}]"
            row.append("" if _missing(r[c]) else _ms(r[c]) + iqr)
        err, v100 = r.get("published_top1_err"), r.get("published_v100_ms_64img")
        row += ["" if _missing(err) else f"{err:.1f}", "" if _missing(v100) else f"{v100:g}"]
        rows.append(row)
    return table(head, rows)


def zoo_noise(inp: Inputs) -> str:
    """What the load did: one model timed in both runs, and flop order broken within a family."""
    z, r = inp.zoo, inp.ratio
    lines = []
    same = []
    for model, ms in r[(r.runtime == "infer") & (r.batch == 1)].pipe(_model_ms).items():
        hit = z.loc[z.model == model, "infer_b1_ms"] if "infer_b1_ms" in z else []
        if len(hit) == 1 and not _missing(hit.iloc[0]):
            same.append(f"{model} {_ms(hit.iloc[0])} ms in the zoo run, {_ms(ms)} ms in the "
                        f"ratio run (×{ms / hit.iloc[0]:.2f})")
    if same:
        lines.append("- The same model, eager inference of batch 1, in the two runs: "
                     + "; ".join(same) + ".")
    if "infer_b1_ms" in z:
        pairs, worst = 0, None
        family = z.model.str.split("-").str[0]
        for _, part in z.assign(family=family).groupby("family", sort=False):
            part = part.sort_values("flops")
            for a, b in zip(part.to_dict("records"), part.to_dict("records")[1:], strict=False):
                if b["infer_b1_ms"] < a["infer_b1_ms"]:
                    pairs += 1
                    drop = b["infer_b1_ms"] / a["infer_b1_ms"]
                    if worst is None or drop < worst[0]:
                        worst = (drop, a, b)
        text = (f"- Within a family sorted by flops, {pairs} of the "
                f"{len(z) - family.nunique()} neighbouring pairs run faster with more flops")
        if worst:
            drop, a, b = worst
            text += (f"; the largest drop: {b['model']} ({b['flops'] / 1e9:.2f} GF) at "
                     f"{_ms(b['infer_b1_ms'])} ms against {a['model']} "
                     f"({a['flops'] / 1e9:.2f} GF) at {_ms(a['infer_b1_ms'])} ms (×{drop:.2f})")
        lines.append(text + ".")
    return "\n".join(lines)


def _model_ms(part: pd.DataFrame) -> pd.Series:
    """Median ms per model of ratio rows of one runtime (EfficientNet repeats per pair)."""
    ms = dict(zip(part.regnet, part.regnet_ms, strict=True))
    ms.update(zip(part.efficientnet, part.efficientnet_ms, strict=True))
    return pd.Series(ms)


def effnet_counts(inp: Inputs) -> str:
    """The hooked EfficientNet counts of the zoo CSV beside the published ones."""
    z = inp.zoo.set_index("model")
    out = []
    if "EfficientNet-B0" in z.index:
        got = {k: int(z.loc["EfficientNet-B0", k]) for k in PUBLISHED_B0}
        same = "equal" if got == PUBLISHED_B0 else "**not equal**"
        out.append("EfficientNet-B0 counts " + " / ".join(f"{got[k]:,} {k}" for k in got)
                   + " (`speed_zoo.csv`) against pycls's published "
                   + " / ".join(f"{PUBLISHED_B0[k]:,}" for k in PUBLISHED_B0)
                   + f" (docs/PAPER.md §4.5): {same}")
    if "EfficientNet-B5" in z.index:
        out.append(f"EfficientNet-B5 counts {z.loc['EfficientNet-B5', 'acts'] / 1e6:.1f} M acts "
                   f"against the published {PUBLISHED_B5_MACTS} M ([DDS] Table 4, "
                   "docs/PAPER.md §7)")
    return "; ".join(out) + "."


def ratio(inp: Inputs) -> str:
    """The speed claim: per runtime, both RegNets' ms, EfficientNet's ms, ratios, published."""
    r = inp.ratio
    regnets = list(dict.fromkeys(r.regnet))
    effnets = list(dict.fromkeys(r.efficientnet))
    if len(effnets) != 1:
        raise ValueError(f"speed_ratio.csv: efficientnet: {effnets!r}; the table takes one")
    eff = effnets[0]
    short = {m: m.replace("RegNet", "").replace("EfficientNet-", "") for m in regnets + effnets}
    dev = ", ".join(f"{d}, {t} thread(s)" for d, t in
                    r[["device", "threads"]].drop_duplicates().itertuples(index=False))
    head = [f"runtime ({dev})", *[f"{short[m]} ms" for m in regnets], f"{short[eff]} ms",
            *[f"{short[eff]} / {short[m]}" for m in regnets],
            "published (" + " / ".join(short[m] for m in regnets) + ")"]
    rows = []
    for (kind, batch), part in r.groupby(["runtime", "batch"], sort=False):
        by = part.set_index("regnet")
        missing = [m for m in regnets if m not in by.index]
        if missing:
            raise ValueError(f"speed_ratio.csv: runtime {kind} batch {batch} lacks {missing!r}")
        pub = by.loc[regnets, "published_speedup"]
        rows.append([_label(kind, batch), *[_ms(by.loc[m, "regnet_ms"]) for m in regnets],
                     _ms(part.efficientnet_ms.iloc[0]),
                     *[_interval(by.loc[m, "speedup"], by.loc[m, "speedup_low"],
                                 by.loc[m, "speedup_high"]) for m in regnets],
                     " / ".join(f"{v:.2f}" for v in pub)
                     + (" (train h)" if kind == "train" else " (V100 infer)")])
    errs = {**dict(zip(r.regnet, r.regnet_published_top1_err, strict=True)),
            eff: r.efficientnet_published_top1_err.iloc[0]}
    reps = ", ".join(str(v) for v in dict.fromkeys(r.reps))
    return (table(head, rows) + f"\n\nRounds per runtime (`reps`): {reps}. Published top-1 "
            "error ([DDS] Table 4, 100-epoch setup; published, not measured): "
            + ", ".join(f"{m} {e:.1f}" for m, e in errs.items()) + ".")


def ratio_summary(inp: Inputs) -> str:
    """The headline numbers of the speed claim, with the verdict each interval gives."""
    r, lines = inp.ratio, []
    eff = r.efficientnet.iloc[0]
    for name, part in (("Eager PyTorch (inference at every batch, training step)",
                        r[r.runtime.isin(["infer", "train"])]),
                       ("ONNX Runtime", r[r.runtime == "ort"])):
        if part.empty:
            continue
        low = part[part.speedup_low <= 1]
        verdict = ("every 95% interval lies above 1" if low.empty else
                   "intervals reaching 1 or below: " + "; ".join(
                       f"{x.regnet} {_label(x.runtime, x.batch)} "
                       f"[{x.speedup_low:.2f}, {x.speedup_high:.2f}]"
                       for x in low.itertuples()))
        lines.append(f"- {name}: {eff} / RegNet from {part.speedup.min():.2f} to "
                     f"{part.speedup.max():.2f} ({len(part)} ratios); {verdict}.")
    below = (r.speedup < r.published_speedup).sum()
    lines.append(f"- Published ratios (V100 inference or training hours, [DDS] Table 4) from "
                 f"{r.published_speedup.min():.2f} to {r.published_speedup.max():.2f}; "
                 f"{below} of the {len(r)} measured ratios are below the published one of "
                 "their row.")
    eager = _model_ms(r[(r.runtime == "infer") & (r.batch == 1)])
    ort = _model_ms(r[(r.runtime == "ort") & (r.batch == 1)])
    both = [m for m in eager.index if m in ort.index]
    if both:
        lines.append("- Eager over ONNX Runtime median, batch 1, same run but different phases "
                     "of it (an indication, not a paired ratio): "
                     + ", ".join(f"{m} {eager[m] / ort[m]:.1f}×" for m in both) + ".")
    return "\n".join(lines)


def study(inp: Inputs) -> str:
    """The population the predictors were fitted on."""
    m = inp.models
    counts = m.groupby("window", sort=False).size()
    timed = ", ".join(_label(*_runtime(c)) for c in _runtime_columns(m))
    return (f"{len(m)} RegNetX models, " + ", ".join(f"{n} at {w}" for w, n in counts.items())
            + f" ({m.flops.min() / 1e9:.2f} to {m.flops.max() / 1e9:.2f} GF); timed: {timed}.")


def predictors(inp: Inputs) -> str:
    """CV and in-sample R² of every predictor, the best CV R² of each runtime in bold."""
    f, rows = inp.fits, []
    for target, part in f.groupby("runtime", sort=False):
        best = part.cv_r2.max()
        for x in part.itertuples():
            cv = f"{x.cv_r2:.3f}"
            rows.append([_label(*_runtime(target)), x.features.replace("+", " + "),
                         f"**{cv}**" if x.cv_r2 == best else cv, f"{x.r2:.3f}"])
    return table(["runtime", "features", "CV R²", "in-sample R²"], rows)


def r2_summary(inp: Inputs) -> str:
    """Acts against flops with a paired bootstrap interval, per runtime ([DDS] Fig. 12)."""
    f, lines = inp.fits, []
    for target, part in f.groupby("runtime", sort=False):
        cv = dict(zip(part.features, part.cv_r2, strict=True))
        folds = int(part.folds.iloc[0])
        d = r2_difference(inp.models, target, folds=folds, seed=SEED)
        for feat, value in (("acts", d.r2_a), ("flops", d.r2_b)):
            if feat not in cv or abs(cv[feat] - value) > 1e-5:
                raise ValueError(
                    f"runtime_fits.csv: cv_r2 of {feat!r} for {target} is {cv.get(feat)!r} but "
                    f"runtime_models.csv refitted (seed {SEED}) gives {value:.6f}; rerun "
                    "the runtime study's fit step (docs/SPEED.md)")
        if d.high < 0:
            verdict = "flops predict this runtime better than acts (the interval lies below 0)"
        elif d.low > 0:
            verdict = "acts predict this runtime better than flops (the interval lies above 0)"
        else:
            verdict = "not resolved (the interval contains 0)"
        best = max(cv, key=cv.get)
        with_flops = max((k for k in cv if "flops" in k.split("+")), key=cv.get)
        lines.append(
            f"- {_label(*_runtime(target))}, {d.n} models, {folds}-fold CV: CV R² flops "
            f"{d.r2_b:.3f}, acts {d.r2_a:.3f}; acts − flops = **{_signed(d.diff)}** "
            f"[{_signed(d.low)}, {_signed(d.high)}] (95% paired bootstrap over the models): "
            f"{verdict}. Best predictor {best.replace('+', ' + ')} (CV R² {cv[best]:.3f}); "
            f"flops alone {cv['flops']:.3f}, the best with flops "
            f"({with_flops.replace('+', ' + ')}) {cv[with_flops]:.3f}; "
            f"{1 - cv[best]:.0%} of the variance is left to every predictor.")
    return "\n".join(lines)


def profile(inp: Inputs) -> str:
    """Each device profile as its formula, quality and fitted range."""
    lines = []
    for path, p in inp.profiles:
        terms = [f"{p['intercept']:.3g}".replace("-", "−")]
        for feat, c in zip(p["features"], p["coef"], strict=True):
            terms.append(f"{c:.3g}·{_unit(feat, p['scale'][feat])}")
        spans = ", ".join(
            f"{lo / p['scale'][f]:.2f}–{hi / p['scale'][f]:.2f} {_unit(f, p['scale'][f])}"
            for f, (lo, hi) in p["ranges"].items() if f in p["scale"])
        lines.append(f"- `{path}` ({p['runtime']}): runtime ≈ " + " + ".join(terms)
                     + f" {p['unit']} (CV R² {p['cv_r2']:.3f}, {p['n_models']} models; "
                     f"fitted over {spans}).")
    return "\n".join(lines)


def _unit(feature: str, scale: float) -> str:
    if feature == "flops" and scale == 1e9:
        return "GF"
    return f"M {feature}" if scale == 1e6 else f"({feature} / {scale:g})"


BLOCKS: dict[str, Callable[[Inputs], str]] = {
    "machine": machine, "zoo": zoo, "zoo-noise": zoo_noise, "effnet-counts": effnet_counts,
    "ratio": ratio, "ratio-summary": ratio_summary, "study": study, "predictors": predictors,
    "r2-summary": r2_summary, "profile": profile}
