"""``dse-fidelity proxy=[DIR,…] reference=[DIR,…] [order=[…]] [out=DIR]``: regime fidelity in
every design space (`analysis.fidelity.fidelity_by_space`), printed and optionally saved as CSV.

Composes ``conf/fidelity.yaml`` with the command-line overrides (Hydra's compose API, as
``dse-analyze``). Every bad input is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import conf
from anynet.record import write_text_atomic
from anynet.system import quiet_broken_pipe
from conf.check import checked, describe
from conf.schema import FidelityConfig

from .sweep_warning import SweepWarning

if TYPE_CHECKING:
    import pandas as pd

# pandas and scipy (the modules of the work) are imported where the work starts, after the
# checks that need neither: bad input is refused without their cost.

USAGE = ("usage: dse-fidelity proxy=[DIR,DIR] reference=[DIR,DIR] [order=[a,b,...]] "
         "[n_boot=N] [ci=PERCENT] [seed=N] [num_classes=K] [out=DIR] [targets.KEY=VALUE]  "
         "(conf/fidelity.yaml)")


def _dirs(cfg: Mapping[str, Any], key: str) -> list[Path]:
    value = cfg.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ValueError(f"{key}: {value!r} is not allowed; give sweep folders, "
                         f"{key}=[DIR,...] (a folder per training seed, or one holding several)")
    out = []
    for v in value:
        path = Path(str(v))
        if not path.is_dir():
            raise ValueError(f"{key}: {str(v)!r} is not a folder; give sweep folders")
        out.append(path)
    return out


def fidelity_tables(cfg: Mapping[str, Any]):
    """The three tables of a plain config (the keys of conf/fidelity.yaml): per space, per
    consecutive pair, and the targets (`check_targets`, with the proxy records' median
    seconds per model). A missing key takes its default (`conf.schema.FidelityConfig`)."""
    cfg = checked(cfg, FidelityConfig)
    order, out, classes = cfg["order"], cfg["out"], cfg["num_classes"]
    if out is not None and Path(out).is_file():
        raise ValueError(f"out: {out!r} is not allowed; give a folder for the CSV tables")
    _dirs(cfg, "proxy")  # bad folders are refused before the work's modules load
    from .fidelity import Targets, check_targets, fidelity_by_space, split_by_seed
    from .trainability import chance_error, num_classes_of

    proxy = split_by_seed(_sweeps(cfg, "proxy"))
    reference = split_by_seed(_sweeps(cfg, "reference"))
    if len(proxy) < 2:
        raise ValueError(f"proxy: {_names(cfg, 'proxy')} needs runs of >= 2 training seeds "
                         f"(found {_seeds(proxy)}); give a folder per seed or one holding "
                         "both (train.seed=0,1)")
    _check_overlap(proxy, reference)
    chance = chance_error(num_classes_of(proxy[0], classes))
    spaces, pairs = fidelity_by_space(proxy, reference, None if order is None else list(order),
                                      chance_error=chance, n_boot=cfg["n_boot"],
                                      ci=float(cfg["ci"]), seed=cfg["seed"])
    seconds = proxy[0].groupby("design_space")["wall_seconds"].median()
    targets = Targets(**{k: (int(v) if k == "min_models" else float(v))
                         for k, v in cfg["targets"].items()})
    return spaces, pairs, check_targets(spaces, pairs, seconds, targets)


def _sweeps(cfg: Mapping[str, Any], key: str) -> list[pd.DataFrame]:
    """`load_sweep` of each folder of `key` (regimes may mix: comparing them is the point);
    a folder without a usable record is one line."""
    from .sweep import load_sweep

    frames = []
    for d in _dirs(cfg, key):
        df = load_sweep(d, allow_mixed=True)
        if df.empty:
            raise ValueError(f"{key}: {str(d)!r} holds no usable run record; give the sweep.dir "
                             "of dse-train")
        frames.append(df)
    return frames


def _names(cfg: Mapping[str, Any], key: str) -> str:
    value = cfg.get(key)
    return str(value) if isinstance(value, str) else ",".join(str(v) for v in value)


def _seeds(frames: list[pd.DataFrame]) -> str:
    import pandas as pd

    seeds = sorted({int(s) for f in frames for s in pd.to_numeric(f["train_seed"]).dropna()})
    if not seeds:
        return "runs without a training seed"
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def _check_overlap(proxy: list[pd.DataFrame], reference: list[pd.DataFrame]) -> None:
    """At least one sampled model (design space, index) must be in both regimes."""
    import pandas as pd

    def models(frames: list[pd.DataFrame]) -> set[tuple[str, int]]:
        return {(str(s), int(i)) for f in frames
                for s, i in zip(f["design_space"], f["index"], strict=True) if pd.notna(i)}

    both = models(proxy[:1]) & models(reference)
    if not both:
        spaces = [sorted({s for s, _ in models(x)}) for x in (proxy, reference)]
        raise ValueError(f"proxy, reference: no model (design space, index) is in both (proxy "
                         f"spaces {spaces[0]}, reference spaces {spaces[1]}); give sweeps of "
                         "the same models under the two regimes")


def compose(overrides: Sequence[str]) -> dict[str, Any]:
    """conf/fidelity.yaml with `overrides`, as a plain dict (`conf.compose_plain`)."""
    return conf.compose_plain("fidelity", overrides)


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``dse-fidelity``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        print(f"keys (key=value; defaults from conf/schema.py):\n{describe(FidelityConfig)}")
        return
    try:
        flags = [a for a in args if a.startswith("-")]
        if flags:
            raise ValueError(f"{flags[0]}: not an option; {USAGE}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SweepWarning)
            try:
                cfg = compose(args)
                spaces, pairs, judged = fidelity_tables(cfg)
            finally:
                for w in caught:
                    print(f"dse-fidelity: warning: {str(w.message).splitlines()[0]}",
                          file=sys.stderr)
        if cfg.get("out"):
            out = Path(str(cfg["out"]))
            write_text_atomic(out / "fidelity_spaces.csv",
                              spaces.to_csv(index=False, float_format="%.4f"))
            write_text_atomic(out / "fidelity_pairs.csv",
                              pairs.to_csv(index=False, float_format="%.4f"))
            write_text_atomic(out / "fidelity_targets.csv",
                              judged.to_csv(index=False, float_format="%.4f"))
    except ValueError as exc:
        print(f"dse-fidelity: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        print(f"dse-fidelity: error: {exc}", file=sys.stderr)
        sys.exit(1)
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    print(spaces.to_string(**fmt))
    print()
    print(pairs.to_string(**fmt) if len(pairs) else "(no pairs)")
    print()
    print(judged.to_string(**fmt))


if __name__ == "__main__":
    main()
