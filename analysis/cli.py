"""``dse-analyze sweep.dir=PATH [out=DIR] [propose=true]``: the report of a sweep.

A small Hydra app (primary config ``conf/analyze.yaml``): loads the sweep, writes report.html
(inline SVG), figures/*.png, summary.csv, comparison.csv and models.csv, optionally proposes a
RegNet design space, and prints the report path last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .fit import fit_models
from .propose import propose_regnet
from .report import ReportSettings, write_report
from .sweep import load_sweep, ok_rows

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def analyze(cfg: dict[str, Any]) -> Path:
    """Run the analysis described by a plain config dict (the keys of conf/analyze.yaml)."""
    sweep_dir = Path(cfg["sweep"]["dir"])
    out = Path(cfg.get("out") or sweep_dir / "report")
    df = load_sweep(sweep_dir, allow_mixed=bool(cfg.get("allow_mixed", False)))
    settings = ReportSettings(metric=cfg.get("metric", "error"), bins=int(cfg.get("bins", 10)),
                              top=int(cfg.get("top", 20)), n_boot=int(cfg.get("n_boot", 10_000)),
                              seed=int(cfg.get("seed", 0)), fit=bool(cfg.get("fit", True)))
    counts = df.groupby("design_space")["status"].value_counts().unstack(fill_value=0) \
        if len(df) else None
    print(f"{sweep_dir}: {len(df)} records")
    if counts is not None:
        for space, row in counts.iterrows():
            print(f"  {space}: " + ", ".join(f"{int(v)} {k}" for k, v in row.items() if v))
    ok = ok_rows(df, settings.metric) if len(df) else df
    if settings.fit and len(ok):
        fitted = fit_models(ok)[["path", "fit_w0", "fit_wa", "fit_wm", "e_fit", "fit_widths"]]
        df = df.merge(fitted, on="path", how="left")
    path = write_report(df, out, settings, source=str(sweep_dir))
    if cfg.get("propose") and len(ok):
        proposed = propose_regnet(df, top=cfg.get("propose_top"), name=cfg["propose_name"],
                                  path=cfg.get("propose_path"), n=settings.n_boot,
                                  seed=settings.seed, metric=settings.metric)
        print(f"proposed design space: {proposed.path}")
    print(f"report: {path}")
    return path


def main() -> None:
    """Console entry point (``dse-analyze``)."""
    import hydra
    from omegaconf import DictConfig, OmegaConf

    @hydra.main(config_path=str(CONF_DIR), config_name="analyze", version_base=None)
    def _app(cfg: DictConfig) -> None:
        analyze(OmegaConf.to_container(cfg, resolve=True))

    _app()


if __name__ == "__main__":
    main()
