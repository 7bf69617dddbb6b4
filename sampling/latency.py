"""Device runtime profiles: the latency cost model of a design space (docs/SPEED.md).

A profile is a linear model fitted on one device ([DDS] Fig. 12: runtime against flops, params
and acts)::

    runtime_ms = intercept + sum_k coef[k] * cx[feature_k] / scale[feature_k]

over a subset of the complexity counts of `anynet.complexity` (flops = multiply-adds). This
module is the one home of the profile file (JSON, `FORMAT` version `VERSION`), of its name
resolution and of `predict_latency`, which the sampler evaluates on whole candidate batches
(no timing per candidate). Profiles are fitted by ``dse-speed runtime fit`` with
`analysis.runtime.fit_runtime`.

Where profiles live: a name (``latency_profile=NAME``) is looked up as ``NAME.json`` in the
user's profile folder first (`user_profile_dir`: ``$ANYNET_DSE_PROFILES``, else
``$XDG_DATA_HOME/anynet-dse/profiles``, i.e. ``~/.local/share/anynet-dse/profiles``; fitted
profiles are saved there), then among the example profiles shipped inside this package
(`SHIPPED_PROFILE_DIR`, ``sampling/profiles/``, package data of the wheel). A path (with ``/``
or ending in ``.json``) is read as given.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anynet.record import write_text_atomic

FORMAT = "anynet-dse/runtime-profile"
VERSION = 1
FEATURES = ("flops", "params", "acts")
# The example profiles shipped inside the package (package data, found beside this module).
SHIPPED_PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
# The environment variable naming the user's profile folder (`user_profile_dir`).
PROFILES_ENV = "ANYNET_DSE_PROFILES"
_KEYS = ("format", "version", "name", "device", "runtime", "unit", "resolution", "features",
         "scale", "coef", "intercept", "cv_r2", "r2", "folds", "n_models", "ranges",
         "fitted_on", "meta")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class RuntimeProfile:
    """A fitted runtime model of one device and one way of running a network.

    `coef[k]` is in `unit` per `scale[features[k]]` of the feature (e.g. ms per GF);
    `ranges` holds the [min, max] of each feature over the fitting models, so a user can see
    when a space asks the model to extrapolate."""

    name: str
    device: str  # e.g. "cpu: Intel(R) Xeon(R) Processor, 2 threads"
    runtime: str  # what was timed, e.g. "onnxruntime inference, batch 1"
    features: tuple[str, ...]
    scale: Mapping[str, float]
    coef: tuple[float, ...]
    intercept: float
    resolution: int  # the fitting models' input resolution
    unit: str = "ms"
    cv_r2: float | None = None
    r2: float | None = None
    folds: int | None = None
    n_models: int = 0
    ranges: Mapping[str, Sequence[float]] = field(default_factory=dict)
    fitted_on: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "coef", tuple(self.coef))
        object.__setattr__(self, "scale", dict(self.scale))
        object.__setattr__(self, "ranges", {k: list(v) for k, v in dict(self.ranges).items()})
        object.__setattr__(self, "meta", dict(self.meta))
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"profile.name: {self.name!r} is not allowed; use a non-empty string")
        feats = self.features
        if not feats or len(set(feats)) != len(feats) or not set(feats) <= set(FEATURES):
            raise ValueError(f"profile.features: {list(feats)} is not allowed; use distinct "
                             f"names from {list(FEATURES)}")
        if len(self.coef) != len(feats) or not all(_finite(c) for c in self.coef):
            raise ValueError(f"profile.coef: {list(self.coef)} is not allowed; give one finite "
                             f"number per feature {list(feats)}")
        for f in feats:
            s = self.scale.get(f)
            if not _finite(s) or s <= 0:
                raise ValueError(f"profile.scale.{f}: {s!r} is not allowed; use a number > 0")
        if not _finite(self.intercept):
            raise ValueError(f"profile.intercept: {self.intercept!r} is not allowed; use a "
                             "finite number")
        if isinstance(self.resolution, bool) or not isinstance(self.resolution, int) \
                or self.resolution < 1:
            raise ValueError(f"profile.resolution: {self.resolution!r} is not allowed; use an "
                             "integer >= 1")

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in _KEYS[2:]}
        d["features"], d["coef"] = list(self.features), list(self.coef)
        return {"format": FORMAT, "version": VERSION, **d}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "profile") -> RuntimeProfile:
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, Mapping) else type(d).__name__
            raise ValueError(f"{source}: format {got!r} is not a runtime profile; expected "
                             f"{FORMAT!r}")
        if d.get("version") != VERSION:
            raise ValueError(f"{source}: version {d.get('version')!r} is not supported; this "
                             f"toolkit reads version {VERSION}")
        unknown = sorted(set(d) - set(_KEYS))
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; allowed: {list(_KEYS)}")
        body = {k: v for k, v in d.items() if k not in ("format", "version")}
        try:
            return cls(**body)
        except TypeError as exc:  # a required key is missing
            raise ValueError(f"{source}: {exc}".replace("RuntimeProfile.__init__() ", "")
                             ) from None
        except ValueError as exc:  # a bad value: name the file it came from too
            raise ValueError(f"{source}: {exc}") from None

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON: pins a population to the profile's content."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def user_profile_dir() -> Path:
    """The user's profile folder: ``$ANYNET_DSE_PROFILES`` when set, else
    ``$XDG_DATA_HOME/anynet-dse/profiles`` (``~/.local/share/anynet-dse/profiles`` when
    XDG_DATA_HOME is unset or not absolute, as the XDG base-directory spec says)."""
    env = os.environ.get(PROFILES_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data) if data and Path(data).is_absolute() else Path.home() / ".local" / "share"
    return base / "anynet-dse" / "profiles"


def profile_dirs() -> tuple[Path, Path]:
    """The folders a profile name is looked up in, in order: the user's, the shipped one."""
    return user_profile_dir(), SHIPPED_PROFILE_DIR


def available_profiles(dirs: Sequence[str | os.PathLike] | None = None) -> dict[str, Path]:
    """{name: file} of every profile in `dirs` (default `profile_dirs()`); a name in an
    earlier folder hides the same name in a later one."""
    found: dict[str, Path] = {}
    for d in profile_dirs() if dirs is None else dirs:
        try:
            files = sorted(Path(d).glob("*.json"))
        except OSError:
            continue
        for f in files:
            found.setdefault(f.stem, f)
    return found


def save_profile(profile: RuntimeProfile, path: str | os.PathLike) -> Path:
    """Write `profile` as indented JSON, atomically (`anynet.record.write_text_atomic`: a
    failed write leaves no partial file); returns the path."""
    path = Path(path)
    write_text_atomic(path, json.dumps(profile.to_dict(), indent=2) + "\n")
    return path


def load_profile(path: str | os.PathLike) -> RuntimeProfile:
    """Read a profile file; ValueError naming the file when it is missing or malformed."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"profile: {str(path)!r} does not exist; fit one with "
                         "dse-speed runtime fit (docs/SPEED.md)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"profile: {str(path)!r} is not readable JSON ({exc})") from None
    return RuntimeProfile.from_dict(d, source=f"profile {str(path)!r}")


def is_profile_path(ref: str) -> bool:
    """Whether `ref` is a path (contains '/' or ends with '.json') rather than a name."""
    return "/" in ref or os.sep in ref or ref.endswith(".json")


def profile_path(ref: str, dirs: Sequence[str | os.PathLike] | None = None) -> Path:
    """A path as given when `is_profile_path(ref)`; otherwise the first existing
    <dir>/<ref>.json of `dirs` (default `profile_dirs()`: the user's folder, then the shipped
    examples), or the one in the first folder when none exists."""
    if is_profile_path(ref):
        return Path(ref).expanduser()
    candidates = [Path(d) / f"{ref}.json" for d in (profile_dirs() if dirs is None else dirs)]
    return next((c for c in candidates if c.exists()), candidates[0])


def resolve_profile(ref: Any, field: str = "design_space.complexity.latency_profile",
                    dirs: Sequence[str | os.PathLike] | None = None) -> RuntimeProfile:
    """Load the profile named or pointed to by `ref` (`profile_path`); one-line ValueError
    naming `field`, the profiles found and the folders searched when there is none."""
    folders = list(profile_dirs() if dirs is None else dirs)
    where = " and ".join(str(d) for d in folders)
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"{field}: {ref!r} is not allowed; give a profile name (a .json file "
                         f"in {where}) or a path to a .json profile")
    path = profile_path(ref.strip(), folders)
    if not path.exists():
        if is_profile_path(ref.strip()):
            raise ValueError(f"{field}: {ref!r} is not a profile ({path} does not exist)")
        names = sorted(available_profiles(folders))
        raise ValueError(f"{field}: {ref!r} is not a profile name; found {names} in {where} "
                         f"(set {PROFILES_ENV} for another user folder, or give a path to a "
                         ".json profile)")
    try:
        return load_profile(path)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def predict_latency(profile: RuntimeProfile, cx: Mapping[str, Any]) -> Any:
    """Predicted runtime (profile.unit, usually ms) of networks with complexity `cx`
    ({"flops", "params", "acts"}: scalars for one network, arrays for a batch)."""
    missing = [f for f in profile.features if f not in cx]
    if missing:
        raise ValueError(f"cx: missing {missing}; profile {profile.name!r} needs "
                         f"{list(profile.features)}")
    total = profile.intercept
    for f, c in zip(profile.features, profile.coef, strict=True):
        total = total + c * (np.asarray(cx[f], dtype=float) / profile.scale[f])
    return float(total) if np.ndim(total) == 0 else total
