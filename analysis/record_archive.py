"""The records archive of a sweep folder: every run record as one JSON line, committed beside
the study's models export (``runs/`` is not committed), so that a sweep moved to another
machine resumes where it stopped: `restore` writes the records back into the sweep folder and
the trainer skips each run it finds there (docs/SWEEPS.md "Moving a sweep").

A line is ``{"path": "<space>/<index>/<run id>/record.json", "record": {...}}``, the path
relative to the sweep folder (anynet/record.py's layout), sorted by path. The archive is read
as data only (JSON, no pickle), and a line is restored only when its path is such a record
path and its run id is the hash of its record's identity (`anynet.record.run_id`): an edited
or hostile line is refused with one line naming it, and nothing outside the sweep folder, nor
an existing record, is ever written.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from anynet.record import RECORD_NAME, STATUSES, find_records, json_text, model_dir, run_id

from .sweep_warning import SweepWarning


def _line(path: str, record: Mapping[str, Any]) -> str:
    return json.dumps({"path": path, "record": record}, separators=(",", ":"),
                      allow_nan=False) + "\n"


def _loads(text: str) -> Any:
    """JSON without NaN or Infinity (a record never holds them: `anynet.record.check_finite`)."""
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not allowed in a run record")
    return json.loads(text, parse_constant=refuse)


def _model_folder(record: Mapping[str, Any]) -> str | None:
    """The model folder that the record's own fields name (`anynet.record.model_dir`), or None
    for an explicit spec's (``spec-<hash>``)."""
    ds = record.get("design_space")
    if record.get("model") is not None:
        return model_dir("", model=str(record["model"])).as_posix()
    if isinstance(ds, Mapping) and isinstance(record.get("index"), int):
        return model_dir("", design_space=str(ds.get("name")), index=record["index"]).as_posix()
    return None


def _checked(where: str, item: Any) -> tuple[str, dict[str, Any]]:
    """One archive line's path and record, or a ValueError naming what is wrong."""
    if not isinstance(item, dict) or set(item) != {"path", "record"}:
        raise ValueError(f"{where}: not a line of a records archive; each line is "
                         '{"path": ..., "record": {...}}')
    path, record = item["path"], item["record"]
    parts = PurePosixPath(path).parts if isinstance(path, str) else ()
    if (len(parts) < 3 or parts[-1] != RECORD_NAME or path != PurePosixPath(path).as_posix()
            or path.startswith("/") or any(ord(c) < 32 for c in path)
            or any(p in (".", "..") or "\\" in p for p in parts)):
        raise ValueError(f"{where}: path {path!r} is not allowed; give "
                         f"<space>/<index>/<run id>/{RECORD_NAME} inside the sweep folder")
    if not isinstance(record, dict) or record.get("status") not in STATUSES:
        raise ValueError(f"{where}: the record of {path!r} is not a run record (status must be "
                         f"one of {', '.join(STATUSES)})")
    identity = record.get("identity")
    try:
        same = isinstance(identity, dict) and run_id(identity) == parts[-2]
    except (AttributeError, TypeError, ValueError):
        same = False
    folder = _model_folder(record)
    if folder is None:  # an explicit spec's folder, spec-<hash>
        folder, same = "spec-*", same and len(parts) == 3 and parts[0].startswith("spec-")
    else:
        same = same and "/".join(parts[:-2]) == folder
    if not same:
        raise ValueError(f"{where}: the record of {path!r} is not the run its path names (its "
                         f"identity and model give {folder + '/' + parts[-2]!r})")
    return path, record


def read_archive(text: str, where: str) -> dict[str, dict[str, Any]]:
    """The records of an archive's text, by path; a bad line is a ValueError naming it."""
    out = {}
    for i, line in enumerate(text.splitlines(), 1):
        try:
            item = _loads(line)
        except ValueError as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ValueError(f"{where} line {i}: not JSON of a record ({why})") from None
        path, record = _checked(f"{where} line {i}", item)
        out[path] = record
    return out


def archive(sweep: str, old: str | None, where: str) -> str:
    """The archive's text: every record under `sweep`, merged into the archive's text `old`
    (a record of the sweep replaces the line of its path, other lines are kept, as a models
    export keeps the rows its sweep lacks). A record file that is not a run record is skipped
    with a `SweepWarning`."""
    root = Path(sweep)
    if not root.is_dir():
        raise ValueError(f"sweep_dir: {sweep!r} is not a directory")
    records = read_archive(old, where) if old is not None else {}
    changed = []
    for path in find_records(root):
        rel = path.relative_to(root).as_posix()
        try:
            record = _checked(str(path), {"path": rel, "record": _loads(path.read_text())})[1]
        except (OSError, ValueError) as exc:
            warnings.warn(SweepWarning(f"skipping {path}: {str(exc).splitlines()[0]}"),
                          stacklevel=2)
            continue
        if rel in records and records[rel] != record:
            changed.append(rel)
        records[rel] = record
    if changed:
        warnings.warn(SweepWarning(f"{where}: {len(changed)} of the sweep's records differ from "
                                   f"the archive's (first: {changed[0]}); the sweep's replace "
                                   "them"), stacklevel=2)
    return "".join(_line(p, records[p]) for p in sorted(records))


def restore(text: str, sweep: str, where: str) -> dict[Path, str]:
    """The record files to write into `sweep` from the archive's text: those it lacks, each as
    the trainer writes a record (`anynet.record.json_text`). A record already
    there is left as it is (a `SweepWarning` when it differs from the archive's)."""
    root = Path(sweep)
    files = {}
    for rel, record in read_archive(text, where).items():
        target = root / rel
        if not target.resolve().is_relative_to(root.resolve()):  # a symlink in the folder
            raise ValueError(f"{where}: {rel!r} leads outside the sweep folder {sweep!r} "
                             "(a symbolic link there); remove the link")
        if target.exists():
            try:
                same = json.loads(target.read_text()) == record
            except (OSError, ValueError):
                same = False
            if not same:
                warnings.warn(SweepWarning(f"{target}: differs from {where}'s record; left as "
                                           "it is"), stacklevel=2)
            continue
        files[target] = json_text(record)
    return files
