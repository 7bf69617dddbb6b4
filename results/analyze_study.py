"""Tables of docs/RESULTS.md from the study's records (issue 7, step 3).

    python results/analyze_study.py SOURCE [--out DIR] [--name NAME]

    python results/analyze_study.py runs/study      # prints markdown; writes results/*.csv
    python results/analyze_study.py results/study.csv   # the same from the committed export
    python results/analyze_study.py results/confirmatory.csv --out results/confirmatory \
        --name regnet_proposed_small                # the confirmatory study's tables

Writes summary.csv, comparison.csv, best_params.csv, efit.csv, width_line.csv and the proposed
space (NAME.yaml, default regnet_proposed_mnist5k) into DIR (default results/);
docs/RESULTS.md's tables are generated from them by results/results_tables.py.

Uses only the public analysis API: space_summary, comparison_table (KS + bootstrap interval of
the mean difference), bootstrap_best ([DDS] fn. 4), fit_models (e_fit) and propose_regnet.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import analysis

HERE = Path(__file__).resolve().parent
ORDER = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]
PARAMS = ["depth", "d1", "d2", "d3", "d4", "w1", "w2", "w3", "w4", "wr1", "wr2", "wr3", "b", "g",
          "fit_wm", "fit_w0", "fit_wa", "params", "acts"]


def md(df: pd.DataFrame, fmt: str = "{:.3g}") -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = [fmt.format(v) if isinstance(v, float | np.floating) else str(v) for v in r]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(source: str, out: Path = HERE, name: str = "regnet_proposed_mnist5k") -> None:
    out.mkdir(parents=True, exist_ok=True)
    if source.endswith(".csv"):
        from ablation import study_frame

        df = study_frame(Path(source))
    else:
        df = analysis.load_sweep(source)
    ok = analysis.ok_rows(df)
    fitted = analysis.fit_models(ok)
    spaces = [s for s in ORDER if s in set(df["design_space"])]

    print("## Population\n")
    summ = analysis.space_summary(df).set_index("design_space").loc[spaces].reset_index()
    secs = df.groupby("design_space")["wall_seconds"].median()
    summ["median_s"] = [secs[s] for s in summ["design_space"]]
    summ["q25"] = [np.percentile(ok.loc[ok.design_space == s, "error"], 25) for s in spaces]
    summ["q75"] = [np.percentile(ok.loc[ok.design_space == s, "error"], 75) for s in spaces]
    summ.to_csv(out / "summary.csv", index=False, float_format="%.4g")
    print(md(summ))

    print("\n## Consecutive comparisons (KS, mean difference with 95% bootstrap interval)\n")
    table = analysis.comparison_table(df, n=10_000, seed=0)
    pairs = list(zip(spaces, spaces[1:], strict=False)) + [("anynetx_a", "anynetx_e"),
                                                           ("anynetx_a", "regnetx"),
                                                           ("anynetx_e", "regnetx")]
    rows = []
    for a, b in pairs:
        hit = table[(table.a == a) & (table.b == b)]
        if hit.empty:
            hit = table[(table.a == b) & (table.b == a)]
            if hit.empty:
                continue
            r = hit.iloc[0].copy()
            r["a"], r["b"] = a, b
            r["mean_a"], r["mean_b"] = r["mean_b"], r["mean_a"]
            r["min_a"], r["min_b"] = r["min_b"], r["min_a"]
            r["median_a"], r["median_b"] = r["median_b"], r["median_a"]
            r["mean_diff"], r["mean_diff_low"], r["mean_diff_high"] = (
                -r["mean_diff"], -r["mean_diff_high"], -r["mean_diff_low"])
        else:
            r = hit.iloc[0]
        rows.append(r[["a", "b", "n_a", "n_b", "min_a", "min_b", "mean_a", "mean_b",
                       "median_a", "median_b", "ks", "ks_pvalue", "mean_diff", "mean_diff_low",
                       "mean_diff_high"]])
    comp = pd.DataFrame(rows)
    comp.to_csv(out / "comparison.csv", index=False, float_format="%.4g")
    print(md(comp))

    print("\n## Best-model parameter ranges: 95% bootstrap (low, median, high), frac 0.25\n")
    brow = []
    for s in spaces:
        g = fitted[fitted.design_space == s]
        row = {"design_space": s}
        for p in PARAMS:
            if p in g.columns and pd.to_numeric(g[p], errors="coerce").notna().all():
                lo, med, hi = analysis.bootstrap_best(g, p, n=10_000, seed=0)
                row[p] = f"{med:.3g} [{lo:.3g}, {hi:.3g}]"
        brow.append(row)
    best = pd.DataFrame(brow)
    best.to_csv(out / "best_params.csv", index=False)
    print(md(best.set_index("design_space").T.reset_index().rename(columns={"index": "param"})))

    print("\n## e_fit\n")
    erow = []
    for s in spaces:
        g = fitted[fitted.design_space == s]
        top = g.nsmallest(max(1, len(g) // 4), "error")
        rho = stats.spearmanr(g["e_fit"], g["error"])
        erow.append({"design_space": s, "n": len(g), "mean_e_fit": g["e_fit"].mean(),
                     "median_e_fit": g["e_fit"].median(),
                     "mean_e_fit_best_quarter": top["e_fit"].mean(),
                     "spearman_e_fit_error": rho.statistic, "p": rho.pvalue})
    efit = pd.DataFrame(erow)
    efit.to_csv(out / "efit.csv", index=False, float_format="%.4g")
    print(md(efit))
    e = fitted[fitted.design_space == "anynetx_e"].nsmallest(20, "error")
    if len(e):
        j = [np.arange(len(w)) for w in (analysis.block_widths_of(sp) for sp in e["spec"])]
        w = [np.asarray(analysis.block_widths_of(sp), float) for sp in e["spec"]]
        jj, ww = np.concatenate(j), np.concatenate(w)
        slope = float(np.sum((jj + 1) * ww) / np.sum((jj + 1) ** 2))
        pd.DataFrame([{"design_space": "anynetx_e", "top": len(e), "slope": slope,
                       "median_depth": float(np.median([len(x) for x in w]))}]).to_csv(
            out / "width_line.csv", index=False, float_format="%.4g")
        print(f"\nTop-20 AnyNetX_E per-block widths, least-squares w_j = c·(j+1): c = {slope:.2f}"
              f" (paper at 224 px: 48); median depth {np.median([len(x) for x in w]):.0f}")

    print("\n## Proposed RegNet space (propose_regnet over AnyNetX_E models)\n")
    prop = analysis.propose_regnet(fitted, top=None, name=name, path=out / f"{name}.yaml",
                                   spaces=["anynetx_e"])
    print("```yaml\n" + prop.yaml() + "```")


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a sweep folder or a study export (.csv)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the tables")
    parser.add_argument("--name", default="regnet_proposed_mnist5k",
                        help="name of the proposed space (its file is NAME.yaml)")
    args = parser.parse_args()
    main(args.source, args.out, args.name)
