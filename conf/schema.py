"""The commands' settings as dataclasses: the one home of each key's type, default and what it
allows (docs/ARCHITECTURE.md "Configuration keys"), checked by `conf.check.checked`.

`register` puts the three roots in Hydra's ConfigStore, where the defaults lists of
conf/config.yaml (``train_schema``: `TrainConfig`), conf/analyze.yaml (``analyze_schema``) and
conf/fidelity.yaml (``fidelity_schema``) name them, so the YAML files repeat none of these
defaults and Hydra refuses a value of the wrong type while composing (`conf.check.error_line`
makes that one line). Key order is the files' order before the schemas, so a composed config
reads as it did. `DesignSpaceKeys` types the scalar keys of conf/design_space/, whose values the
YAML files of the spaces hold. Imports only Hydra (in `register`) and `conf.check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .check import NONBLANK, NONEMPTY, setting

# -- dse-train (conf/config.yaml; docs/SWEEPS.md, docs/TRAINING.md) ---------------------------


@dataclass
class SampleKeys:
    """``sample.*``: which member of a design space's population a job trains."""

    index: int = setting(0, "which member of the population", low=0)
    seed: int = setting(0, "architecture seed (never the training seed)", low=0)


@dataclass
class TrainKeys:
    """``train.*``: how a job trains. Seed, threads, precision and memory format are part of
    a run's identity (`anynet.record.make_identity`); the precisions are
    `anynet.record.PRECISIONS` and the thread bound is the machine's (`train.settings`)."""

    seed: int = setting(0, "training seed (never the architecture seed)", low=0)
    device: str = setting("cpu", "cpu | cuda | cuda:N | auto (cuda when available)",
                          choices=("cpu", "cuda", "auto"), pattern=r"cuda:\d+",
                          words="cpu, cuda or auto")
    threads: int = setting(1, "torch intra-op threads of the job, at most the CPUs available; "
                              "presets run one job per core, so 1 is each job's share", low=1)
    precision: str = setting("fp32", "fp32 | bf16 (autocast on CPU or CUDA)")
    channels_last: bool = setting(True, "NHWC memory format (faster on CPU and GPU)")
    eval: str = setting("final", "final: test error after the last epoch only | epoch: after "
                                 "every epoch", choices=("final", "epoch"))
    progress: str = setting("auto", "auto: a bar in a terminal for one run, one line per "
                                    "model in a sweep | bar | log | none",
                            choices=("auto", "bar", "log", "none"))


@dataclass
class SweepKeys:
    """``sweep.*``: where a sweep's records go and what it does with those already there."""

    dir: str = setting("sweeps/default", "where records go: "
                       "<dir>/<space>/<index>/<run id>/record.json",
                       words="a folder path (it is created if needed)")
    retry_failed: bool = setting(False, "true: retrain runs whose model failed (machine "
                                        "failures always retry)")
    overwrite: bool = setting(False, "true: retrain runs that already have a record")
    report: bool = setting(False, "true: write the analysis report when a multirun ends")
    plan: str | None = setting(None, "a plan of conf/plan/ (e.g. refinement): the report leads "
                                     "with its verdicts", pattern=NONBLANK,
                               words="null or the name of a plan in conf/plan/ (the report "
                                     "then leads with its verdicts)")
    n: int | None = setting(None, "an experiment's models per space (members 0 .. n-1), read "
                                  "by its hydra.sweeper.params", low=1)


@dataclass
class TrainConfig:
    """The keys of conf/config.yaml besides the config groups ``design_space``, ``data`` and
    ``regime`` (checked where they are built)."""

    sample: SampleKeys = setting(SampleKeys)
    model: str | None = setting(None, "a zoo name (e.g. RegNetX-200MF) trains a published "
                                      "model instead of a sample",
                                words="null or a zoo name (dse-zoo lists them)")
    spec: Any = setting(None, "an explicit AnyNetSpec dict trains exactly that model")
    train: TrainKeys = setting(TrainKeys)
    sweep: SweepKeys = setting(SweepKeys)


# -- dse-analyze (conf/analyze.yaml; docs/ANALYSIS.md) ----------------------------------------


@dataclass
class AnalyzeSweep:
    """``sweep.*`` of dse-analyze."""

    dir: str = setting("sweeps/default", "the sweep's folder (sweep.dir of dse-train)",
                       pattern=NONEMPTY, words="the sweep's folder")


@dataclass
class AnalyzeConfig:
    """The keys of conf/analyze.yaml. The metric, pairings and exact tests are
    `analysis.report.ReportSettings`' to check."""

    sweep: AnalyzeSweep = setting(AnalyzeSweep)
    out: str | None = setting(None, "report folder; null: <sweep.dir>/report",
                              pattern=NONEMPTY, words="a folder for the report")
    metric: str = setting("error", "error (final top-1) or min_error")
    allow_mixed: Any = setting(False, "true, or identity fields allowed to differ, e.g. "
                                      "[train_seed]")
    bins: int = setting(10, "normalized-EDF bins", low=1)
    top: int = setting(20, "best models in the width plots", low=1)
    n_boot: int = setting(10_000, "bootstrap draws ([DDS] fn. 4; verdict intervals)", low=1)
    seed: int = setting(0, "seed of the bootstrap draws", low=0)
    fit: bool = setting(True, "fit the quantized linear rule to every model (e_fit section)")
    pairs: str = setting("all", "verdict: all pairs of spaces, or consecutive ones in `order`")
    order: list[str] | None = setting(None, "spaces in this order, e.g. "
                                            "[anynetx_a,anynetx_e,regnetx]; null: sorted",
                                      words="a list of design spaces")
    alpha: float = setting(0.05, "level of the verdict (Mann-Whitney, Holm-corrected over the "
                                 "pairs)", low=0, high=1, open=True)
    num_classes: int | None = setting(None, "classes of the data (null: from the records); "
                                            "chance error = 100·(1 − 1/k)", low=2)
    trained_test: str = setting("fisher", "exact test of trained fractions between spaces: "
                                          "fisher | barnard | boschloo")
    curves: int = setting(3, "best and worst models per space in the training curves "
                             "(0: none)", low=0)
    plan: Any = setting(None, "set by plan=<name of conf/plan/>: the verdict is "
                              "analysis.verdicts per hypothesis")
    plan_file: str | None = setting(None, "or the path of any plan YAML "
                                          "(analysis.plan.load_plan)")
    propose: bool = setting(False, "also write a proposed RegNet space (see propose_name / "
                                   "propose_top)")
    propose_name: str = setting("regnet_proposed", "name of the proposed design space",
                                pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
                                words="a config name (letters, digits, _ . -; no path)")
    propose_top: int | None = setting(100, "best models the proposed ranges come from (null: "
                                            "all)", low=1)
    propose_path: str | None = setting(None, "null: ./dse_conf/design_space/<propose_name>.yaml;"
                                             " use it with dse-train "
                                             "hydra.searchpath=[file://$PWD/dse_conf] "
                                             "design_space=<name>",
                                       pattern=NONEMPTY, words="the path of a .yaml file")


# -- dse-fidelity (conf/fidelity.yaml; docs/REGIME.md) ----------------------------------------


@dataclass
class FidelityTargets:
    """``targets.*``: the instrument's targets, judged per design space (worst space
    reported; `analysis.fidelity.Targets`)."""

    trained: int | float = setting(0.95, "trained fraction (error below half of chance) of "
                                         "each proxy seed, at least", low=0, high=1)
    rho_ref: int | float = setting(0.75, "single-run Spearman rho(proxy seed, seed-averaged "
                                         "reference), at least", low=0, high=1)
    rho_seeds: int | float = setting(0.85, "Spearman rho between the two proxy seeds, at least",
                                     low=0, high=1)
    seconds: int | float = setting(20, "median wall seconds per model in the proxy records, at "
                                       "most (idle machine)", low=0)
    min_models: int = setting(24, "the reference criteria wait until every space has this "
                                  "many models", low=0)


@dataclass
class FidelityConfig:
    """The keys of conf/fidelity.yaml."""

    proxy: Any = setting([], "sweep folder(s) of the proxy regime, two training seeds in all")
    reference: Any = setting([], "sweep folder(s) of the reference regime (>= 4x longer); "
                                 "seeds averaged")
    order: list[str] | None = setting(None, "consecutive pairs compared, e.g. "
                                            "[anynetx_a,anynetx_c,anynetx_d,anynetx_e,regnetx]",
                                      words="a list of design spaces")
    n_boot: int = setting(2000, "bootstrap resamples over models", low=1)
    ci: int | float = setting(95, "interval, percent", low=0, high=100, open=True,
                              words="a percentage in (0, 100)")
    seed: int = setting(0, "seed of the bootstrap resamples", low=0)
    num_classes: int | None = setting(None, "classes of the data (null: from the records); "
                                            "chance error = 100·(1 − 1/k)", low=2)
    out: str | None = setting(None, "folder for fidelity_spaces.csv, fidelity_pairs.csv and "
                                    "fidelity_targets.csv",
                              pattern=NONEMPTY, words="a folder for the CSV tables")
    targets: FidelityTargets = setting(FidelityTargets)


# -- design spaces (conf/design_space/; docs/DESIGN_SPACES.md) --------------------------------


@dataclass
class DesignSpaceKeys:
    """The keys of a ``design_space`` node (`sampling.space_from_config`); its values live in
    the space's YAML (conf/design_space/common/paper.yaml for what the paper's spaces share),
    the defaults here serve a mapping given in Python. The family, its domains, strides,
    windows and constraints are checked by `sampling`."""

    name: str = setting()
    family: str = setting()
    stages: int = setting(low=1)
    resolution: int = setting(low=1)
    in_channels: int = setting(low=1)
    num_classes: int = setting(low=1)
    stem_width: int = setting(32, low=1)
    stem_stride: int = setting(2, choices=(1, 2), words="1 or 2")
    strides: Any = setting(None)
    se_ratio: int | float = setting(0.0, low=0, high=1,
                                    words="a number from 0 (X block) to 1 (0.25: the Y block)")
    # The choices are `anynet.blocks`' vocabulary (conf imports no package; a test pins them).
    block_type: str = setting("X", "the block: V, VR, R or X (docs/PAPER.md §1.6)",
                              choices=("V", "VR", "R", "X"),
                              words="one of V, VR, R, X (Y is X with se_ratio 0.25: block=y)")
    activation: str = setting("relu", "relu or silu (Swish), everywhere the network has one",
                              choices=("relu", "silu"), words="one of relu, silu (Swish)")
    stem_type: str = setting("simple", "simple (3x3 conv) or resnet (7x7 conv, 3x3 max pool)",
                             choices=("simple", "resnet"), words="one of simple, resnet")
    max_tries: int = setting(100_000, low=1)
    q: int = setting(8, low=1)
    domains: Any = setting(None)
    complexity: Any = setting(None)
    constraints: Any = setting(None)


ROOTS = {"train_schema": TrainConfig, "analyze_schema": AnalyzeConfig,
         "fidelity_schema": FidelityConfig}  # the names the YAML defaults lists use


def register() -> None:
    """Store `ROOTS` in Hydra's ConfigStore (again: the same nodes), before any of
    conf/config.yaml, analyze.yaml or fidelity.yaml is composed (`conf` calls it on import)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name, node in ROOTS.items():
        store.store(name=name, node=node)
