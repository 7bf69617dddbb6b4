"""The dataset registry: one read-only entry per ``data.name`` (docs/TRAINING.md "Adding a
dataset"), `DatasetEntry(name, keys, load, seed_key, location_keys)`, which every consumer reads:

- `train.data.load_dataset`: `dataset_entry` checks the name and the keys (`COMMON_KEYS` and the
  entry's own), then the entry's `load` builds the dataset;
- `train.runner`: the record's data seed (``seeds.data``, `DatasetEntry.data_seed`) and the run's
  identity, ``anynet.record.make_identity(..., location_keys=entry.location_keys)``.

Why the location keys reach the identity as an argument rather than as a table in
`anynet.record`: the record contract is the torch-free ground floor and cannot import `train`, so
a table there would be a second home of every dataset (the half of its entry that the record
reads), kept in step with this one by hand. Only the creation of a run needs them, in `train`:
a record carries its identity, so `analysis` reads records (`anynet.record.record_identity`)
without this registry and without torch; records written before identities existed are read
with the one location key of their time (`anynet.record.LEGACY_LOCATION_KEYS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .data import (
    COMMON_KEYS,
    Common,
    DataError,
    Dataset,
    Splits,
    cifar10_splits,
    digits_splits,
    fashion_mnist,
    imagefolder_splits,
    mnist5k_splits,
    synthetic_splits,
)
from .stream import StreamDataset, stream_dataset

# ``load(cfg, common)``: `Splits` for a dataset held in memory (checked, converted, resized and
# normalized by `train.data.in_memory`), or a finished dataset (a streamed folder).
Loader = Callable[[Mapping[str, Any], Common], "Splits | Dataset | StreamDataset"]


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset: its config keys beyond `COMMON_KEYS` (the order the error lists them in),
    its loader, the key that seeds its split or its draw (the record's ``seeds.data``; None: no
    seed) and its location keys, which say where it is kept or how fast it is read rather than
    what it is and are left out of a run's identity (docs/SWEEPS.md)."""

    name: str
    keys: tuple[str, ...]
    load: Loader
    seed_key: str | None = None
    location_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        common = sorted(set(self.keys) & set(COMMON_KEYS))
        if common:
            raise ValueError(f"dataset {self.name!r}: keys {common} are common keys")
        if self.seed_key is not None and self.seed_key not in self.keys:
            raise ValueError(f"dataset {self.name!r}: seed_key {self.seed_key!r} is not one of "
                             f"its keys {list(self.keys)}")
        stray = sorted(set(self.location_keys) - set(self.keys))
        if stray:
            raise ValueError(f"dataset {self.name!r}: location keys {stray} are not among its "
                             f"keys {list(self.keys)}")

    def data_seed(self, cfg: Mapping[str, Any]) -> Any:
        """The config's value of `seed_key` as given (None when unset or seedless)."""
        return None if self.seed_key is None else cfg.get(self.seed_key)


DATASETS: Mapping[str, DatasetEntry] = MappingProxyType({e.name: e for e in (
    DatasetEntry("mnist5k", ("split_seed", "test_size", "cache_dir"), mnist5k_splits,
                 seed_key="split_seed", location_keys=("cache_dir",)),
    DatasetEntry("digits", ("split_seed", "test_size"), digits_splits, seed_key="split_seed"),
    DatasetEntry("synthetic", ("train_size", "test_size", "seed", "noise"), synthetic_splits,
                 seed_key="seed"),
    DatasetEntry("fashion_mnist", ("root", "train_size", "val_size", "split_seed"),
                 fashion_mnist, seed_key="split_seed"),
    DatasetEntry("cifar10", ("root",), cifar10_splits),
    DatasetEntry("imagefolder", ("root",), imagefolder_splits),
    DatasetEntry("imagefolder_stream", ("root", "scale", "ratio", "eval_crop_fraction", "mean",
                                        "std", "workers", "prefetch"), stream_dataset,
                 location_keys=("workers", "prefetch")),
)})


def dataset_entry(cfg: Mapping[str, Any]) -> DatasetEntry:
    """The entry of a ``data`` config, whose keys must all be the dataset's; a bad name or key
    is a one-line `DataError` listing what is allowed."""
    name = cfg.get("name")
    if not isinstance(name, str) or name not in DATASETS:
        raise DataError(f"data.name: {name!r} is not a dataset; allowed: {', '.join(DATASETS)}")
    allowed = COMMON_KEYS + DATASETS[name].keys
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise DataError(f"data: unknown key(s) {unknown} for {name}; allowed: {list(allowed)}")
    return DATASETS[name]
