"""The run-record contract (docs/ARCHITECTURE.md "Run record"): one torch-free home for the
record's file name, statuses, path layout, identity and its hash, atomic writes and reads.

A record is one JSON file per trained run. Its **identity** is every setting of the run that
decides its result (the spec with its geometry, the data, the regime, the training seed,
precision, torch threads, memory format and device kind); a run lives at

    <sweep.dir>/<design space>/<index>/<run id>/record.json      (a sampled model)
    <sweep.dir>/<zoo model>/<run id>/record.json                 (a published model)
    <sweep.dir>/spec-<spec hash>/<run id>/record.json            (an explicit spec)

where the run id is ``<regime name>-s<training seed>-<identity hash>``, so runs of different
identity never share a folder and a rerun can reuse a record only for the run it describes.
The identity does not cover where the run ran: on CPU the float results also depend on the CPU
and torch's kernel path on it (oneDNN, MKL and ATen choose kernels by instruction set), so the
same run on another CPU can end with another error. That is recorded (`machine`, built by
`anynet.system.machine`; `versions`) but not hashed (`RECORDED_NOT_HASHED`): a run id names a
computation, and a rerun on another machine is a new draw from the same population of results,
not a replacement, so existing records and running sweeps keep their ids and resume anywhere.

Every file is written atomically (temp file, fsync, rename) with the permissions the umask
gives; a reader sees the old file or the new one, never a partial one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

RECORD_NAME = "record.json"
CHECKPOINT_NAME = "checkpoint.pt"
LOCK_NAME = "run.lock"
STATUSES = ("ok", "diverged", "failed")
FINAL_STATUSES = ("ok", "diverged")  # a verdict on the model: never retrained unless asked
# Identity fields, in record order. `spec` carries the geometry (stem_stride, strides).
IDENTITY_FIELDS = ("spec", "data", "regime", "train_seed", "precision", "threads",
                   "channels_last", "device_kind")
PRECISIONS = ("fp32", "bf16")
# A failure of the machine rather than the model (disk full, out of memory, a lost lock):
# such a record is retried by every rerun, never kept as a verdict.
ENVIRONMENT = "environment"
# The record field naming the population a sampled model was drawn from (`make_population`).
POPULATION = "population"
# Fields a record carries that are never part of its identity (nor of its run id): which
# software and machine ran it, and which population drew its spec (`make_population`).
RECORDED_NOT_HASHED = ("versions", "machine", POPULATION)
# Fields the trainer adds to a record's data section after loading (not part of the config).
DATA_SUMMARY = ("train_size", "mean", "std")
# The location keys (where the data is kept, not what it is) of records written before
# identities existed: mnist5k's cache folder, the only one then. A new run's location keys are
# its dataset's (`make_identity`'s argument, from the registry `train.datasets`).
LEGACY_LOCATION_KEYS = ("cache_dir",)


class RecordError(ValueError):
    """A record that cannot be written or does not match the run: one line naming the path."""


# -- identity --------------------------------------------------------------------------------

def canonical_json(obj: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces): equal objects give equal bytes everywhere."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def check_finite(value: Any, key: str = "") -> None:
    """One-line ValueError naming the dotted key of a NaN or infinite float in `value` (canonical
    JSON has none): the fallback behind each key's own check (``data.noise: nan is not
    allowed; use a finite number``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key or 'value'}: {value!r} is not allowed; use a finite number")
    if isinstance(value, Mapping):
        for k, v in value.items():
            check_finite(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(v, f"{key}[{i}]")


def stable_hash(obj: Any, n: int = 10) -> str:
    """Short hex SHA-256 of the canonical JSON of `obj` (stable across runs and machines)."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()[:n]


def make_identity(*, spec: Mapping[str, Any], data: Mapping[str, Any],
                  location_keys: Collection[str], regime: Mapping[str, Any], train_seed: int,
                  precision: str, threads: int, channels_last: bool,
                  device_kind: str) -> dict[str, Any]:
    """The identity of a run: every setting that decides its result (docs/SWEEPS.md; where it
    ran is recorded apart, `RECORDED_NOT_HASHED`). `data` is
    the data config less its `location_keys` (where the data is kept and how fast it is read
    are not what it is). They are an argument, required, because they are a fact of the dataset
    and its one home is the dataset's entry in ``train.datasets.DATASETS``, which this torch-free
    module cannot import (the runner passes ``entry.location_keys``; docs/ARCHITECTURE.md
    "Extension points")."""
    if precision not in PRECISIONS:
        raise ValueError(f"train.precision: {precision!r} is not allowed; use one of "
                         f"{', '.join(PRECISIONS)}")
    check_finite({"spec": spec, "data": data, "regime": regime})
    return {"spec": dict(spec),
            "data": data_identity(data, location_keys),
            "regime": dict(regime), "train_seed": int(train_seed), "precision": precision,
            "threads": int(threads), "channels_last": bool(channels_last),
            "device_kind": str(device_kind)}


def data_identity(data: Mapping[str, Any], location_keys: Collection[str]) -> dict[str, Any]:
    """The data config less its location keys."""
    return {k: v for k, v in data.items() if k not in location_keys}


def make_population(design_space: Mapping[str, Any], windows: Mapping[str, Any],
                    sample_seed: int) -> dict[str, Any]:
    """The `POPULATION` field of a sampled model's record: the settings that decide which
    models its population contains (the space's config as its members are drawn from it, the
    complexity windows in effect at its resolution, the sampling seed) and their hash. Not
    part of the identity: a run's result does not depend on which population drew its spec,
    so run ids stay as they were; `analysis.load_sweep` refuses to pool two populations of
    one space."""
    settings = json.loads(canonical_json({"design_space": dict(design_space),
                                          "windows": dict(windows),
                                          "sample_seed": int(sample_seed)}))
    return {"hash": stable_hash(settings, 12), "settings": settings}


def identity_hash(identity: Mapping[str, Any]) -> str:
    return stable_hash(dict(identity), 12)


def run_id(identity: Mapping[str, Any]) -> str:
    """``<regime name>-s<training seed>-<identity hash>``: readable, unique per identity."""
    name = str((identity.get("regime") or {}).get("name", "run"))
    safe = "".join(c if c.isalnum() or c in "._" else "_" for c in name) or "run"
    return f"{safe}-s{identity.get('train_seed')}-{identity_hash(identity)}"


def flat_settings(value: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted-key view of nested mappings (``{"a": {"b": 1}}`` → ``{"a.b": "1"}``) with
    canonical JSON values, for comparing configs field by field."""
    out: dict[str, str] = {}

    def walk(v: Any, key: str) -> None:
        if isinstance(v, Mapping) and v:
            for k, item in v.items():
                walk(item, f"{key}.{k}" if key else str(k))
        else:
            out[key] = canonical_json(v).decode()

    walk(value, prefix)
    return out


def flat_identity(identity: Mapping[str, Any], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Dotted-key view of an identity (``regime.lr``, ``train_seed``, ``spec.strides``) with
    canonical JSON values, for comparing runs field by field."""
    out: dict[str, str] = {}
    for field in IDENTITY_FIELDS:
        if field not in skip:
            out.update(flat_settings({field: identity.get(field)}))
    return out


def identity_diff(a: Mapping[str, Any], b: Mapping[str, Any],
                  skip: tuple[str, ...] = ()) -> list[str]:
    """``["regime.lr (0.1 vs 1000)", …]``: the identity fields that differ between two runs."""
    fa, fb = flat_identity(a, skip), flat_identity(b, skip)
    return [f"{k} ({fa.get(k, 'missing')} vs {fb.get(k, 'missing')})"
            for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def record_identity(record: Mapping[str, Any]) -> dict[str, Any]:
    """The identity a record carries; for a record written before identities existed, the
    one its sections imply (precision fp32, the device it names, the data less
    `LEGACY_LOCATION_KEYS` and the loaded `DATA_SUMMARY`)."""
    if isinstance(record.get("identity"), Mapping):
        return dict(record["identity"])
    seeds = record.get("seeds") if isinstance(record.get("seeds"), Mapping) else {}
    data = record.get("data") if isinstance(record.get("data"), Mapping) else {}
    device = str(record.get("device") or "cpu")
    return {"spec": record.get("spec"),
            "data": data_identity(data, (*LEGACY_LOCATION_KEYS, *DATA_SUMMARY)),
            "regime": record.get("regime"), "train_seed": seeds.get("train"),
            "precision": "fp32", "threads": record.get("threads"),
            "channels_last": record.get("channels_last"),
            "device_kind": "cuda" if device.startswith("cuda") else "cpu"}



# -- layout ----------------------------------------------------------------------------------

def model_dir(sweep_dir: str | Path, *, design_space: str | None = None,
              index: int | None = None, model: str | None = None,
              spec: Mapping[str, Any] | None = None) -> Path:
    """Folder of all runs of one model: a sampled member, a zoo model or an explicit spec."""
    root = Path(sweep_dir)
    if model is not None:
        return root / model
    if design_space is not None and index is not None:
        return root / design_space / str(index)
    if spec is not None:
        return root / f"spec-{stable_hash(dict(spec))}"
    raise ValueError("a run needs a design space and index, a zoo model or a spec")


def run_dir(model_folder: Path, identity: Mapping[str, Any]) -> Path:
    return Path(model_folder) / run_id(identity)


def find_records(sweep_dir: str | Path) -> Iterator[Path]:
    """Every record file under `sweep_dir`, sorted, skipping Hydra's own folder."""
    root = Path(sweep_dir)
    for path in sorted(root.rglob(RECORD_NAME)):
        if ".hydra" not in path.relative_to(root).parts:
            yield path


# -- writing ---------------------------------------------------------------------------------

def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Write `path` through ``write(file)`` via a temp file in the same folder, fsync and
    rename, with the permissions a plain ``open`` would give (0666 less the umask). On any
    error the temp file is removed and an existing file is left as it was; an ``OSError`` is
    re-raised naming the path (e.g. a full disk): ``OSError(errno, "cannot write PATH:
    reason")``, whose ``strerror`` is that one line. A writer that turns the file's OSError
    into its own exception (torch.save raises ``RuntimeError: unexpected pos …`` after a failed
    write) still gives that OSError, so a full disk is never mistaken for another failure."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~current_umask())
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        cause = _os_error(e) if isinstance(e, Exception) else None
        if cause is None:
            raise
        reason = cause.strerror or type(cause).__name__
        raise OSError(cause.errno, f"cannot write {path}: {reason}") from None


def _os_error(e: BaseException) -> OSError | None:
    """`e` if it is an OSError, else the first OSError it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def write_text_atomic(path: str | Path, text: str) -> None:
    data = text.encode()
    write_atomic(path, lambda f: f.write(data))


def json_text(obj: Mapping[str, Any]) -> str:
    """The text of every JSON file the project writes (records, outcomes): indented, no NaN."""
    return json.dumps(obj, indent=1, allow_nan=False) + "\n"


def write_json_atomic(path: str | Path, obj: Mapping[str, Any]) -> None:
    """`obj` as `json_text`, written atomically."""
    write_text_atomic(path, json_text(obj))


# -- records ---------------------------------------------------------------------------------

def versions() -> dict[str, str]:
    """Versions of the software a record was produced with (without importing torch)."""
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {"torch": version("torch"), "python": platform.python_version(),
            "numpy": version("numpy"), "package": version("anynet-dse")}


def new_record(identity: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A record with every schema field (None where unknown), `fields` filled in, and its
    identity and run id. The one place that builds a record's shape. `machine`
    (`anynet.system.machine`, which needs torch's facts) is the caller's to give; it and the
    other `RECORDED_NOT_HASHED` fields may not enter the identity."""
    unknown = sorted(set(fields) - set(RECORD_FIELDS))
    if unknown:
        raise ValueError(f"record: unknown field(s) {unknown}; allowed: {list(RECORD_FIELDS)}")
    foreign = sorted(set(identity) - set(IDENTITY_FIELDS))
    if foreign:
        raise ValueError(f"identity: field(s) {foreign} are not allowed; an identity holds only "
                         f"{', '.join(IDENTITY_FIELDS)} (where a run ran is recorded, not "
                         "hashed)")
    record: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    record.update(epochs=[], spec=identity["spec"], regime=identity["regime"],
                  threads=identity["threads"], channels_last=identity["channels_last"],
                  precision=identity["precision"], versions=versions())
    record.update(fields)
    record.update(identity=dict(identity), run_id=run_id(identity))
    return record


RECORD_FIELDS = (
    "status", "failure", "error", "min_error", "epochs", "spec", "complexity", "resolution",
    "source", "design_space", "index", "model", "seeds", "regime", "data",
    "images_per_second", "wall_seconds", "versions", "machine", "device", "threads",
    "channels_last", "precision", "message", "traceback", "resumed_from_epoch", "predicted",
    "population", "identity", "run_id")


def write_record(path: str | Path, record: Mapping[str, Any]) -> None:
    """Atomically write a record; its status must be one of `STATUSES`."""
    if record.get("status") not in STATUSES:
        raise ValueError(f"record.status: {record.get('status')!r} is not allowed; use one of "
                         f"{', '.join(STATUSES)}")
    write_json_atomic(path, _json_safe(record))


def _json_safe(obj: Any) -> Any:
    """NaN and infinities (not JSON) become None."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def peek_record(path: str | Path) -> dict[str, Any] | None:
    """The JSON object at `path` read without side effects (for analysis), or None when it is
    missing, unreadable or not a JSON object."""
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def read_record(path: str | Path) -> dict[str, Any] | None:
    """The record at `path`, or None if there is none. A file that is not a record (only
    possible if something else wrote it) is moved aside to ``<name>.corrupt-<time>`` so that
    nothing on disk is lost, and None is returned."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
        if isinstance(rec, dict) and rec.get("status") in STATUSES:
            return rec
    except (OSError, ValueError):
        pass
    os.replace(path, path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"))
    return None


def is_final(record: Mapping[str, Any]) -> bool:
    """ok or diverged: a verdict on the model, reused by every rerun."""
    return record.get("status") in FINAL_STATUSES


def needs_retry(record: Mapping[str, Any], retry_failed: bool) -> bool:
    """Whether a rerun trains this run again: a failure of the environment always, a failure
    of the model only with ``sweep.retry_failed=true``, a final record never."""
    if is_final(record):
        return False
    return record.get("failure") == ENVIRONMENT or retry_failed
