"""Models per space for the confirmatory study, from a pilot (issue 12; docs/ANALYSIS.md, "Power
and sample size").

    python results/power_pilot.py [REGIME]   # -> results/power_pilot.csv

The pilot is one regime's runs under training seed 0 (one run per model, as a study trains them)
at the small-image geometry: the proxy's 24 models per space of AnyNetX_A, C, D, E and RegNetX
(results/instrument/small_geometry.csv), or a screened regime's 12 (results/instrument/
screen.csv). Per space: the smallest n per space at which the one-sided Mann-Whitney U test finds
a space whose errors are 20 % lower, with power >= 0.8, at alpha = 0.05 over the plan's family of
10 hypotheses (`analysis.sample_size`, 2,000 simulated studies, seed 0), and the power at each n
tried. Run it on the pilot of the instrument finally chosen (docs/REGIME.md).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

from analysis.power_analysis import pilot_errors, sample_size

HERE = Path(__file__).resolve().parent
ORDER = ["anynetx_a", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]
SHIFT, TARGET, FAMILY = 0.2, 0.8, 10


def main(regime: str = "proxy", results: Path = HERE, out: Path = HERE / "power_pilot.csv"
         ) -> pd.DataFrame:
    sources = [results / "instrument" / "small_geometry.csv", results / "instrument" / "screen.csv"]
    runs = pd.concat([pd.read_csv(path) for path in sources], ignore_index=True)
    pilot = runs[(runs["regime_name"] == regime) & (runs["train_seed"] == 0)].assign(
        num_classes=10)
    if pilot.empty:
        raise SystemExit(f"power_pilot.py: regime: no seed-0 runs of {regime!r} in "
                         f"{', '.join(str(s) for s in sources)}")
    rows = []
    for space in ORDER:
        e = pilot_errors(pilot, space)
        r = sample_size(e, shift=SHIFT, target=TARGET, family_size=FAMILY)
        rows.append({"regime": regime, "design_space": space, "pilot_n": e.size,
                     "shift": SHIFT, "target": TARGET, "family_size": FAMILY, "n": r.n,
                     **{f"power_{n}": p for n, p in r.powers.items()}})
    table = pd.DataFrame(rows)
    table.to_csv(out, index=False, float_format="%.4g")
    return table


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    print(main(*sys.argv[1:2]).to_string(index=False))
