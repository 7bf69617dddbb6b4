"""Bad input to every command, table-driven (tests/bad_input_cases.txt).

Each line of the table is one kind of bad input: ``id | rc | tags | names | command``.

- ``rc``: the exit status the command must give: 2 for bad input, 1 for the environment (a
  write that fails); docs/ARCHITECTURE.md "Commands".
- ``tags``: ``-`` or a comma-separated list: ``nonroot`` (needs file permissions that root
  ignores: skipped as root), ``writes`` (the command may write what the docs say it writes
  even when it fails, e.g. a failed record: the "nothing written" check is skipped),
  ``failed`` (a training that failed for the environment: its documented line is
  ``dse-train: failed <record>: <message>``, docs/TRAINING.md "Run record").
- ``names``: what the error line must name, ``;``-separated substrings (the key, the path or
  the value; placeholders expanded), or ``-``.
- ``command``: a shell-like line (``shlex``), optionally preceded by ``VAR=value`` environment
  assignments. ``{name}`` is a fixture (a file or folder built by `FIXTURES`, copied into the
  case's own folder), ``{tmp}`` the case's folder, ``{tiny}`` the arguments of a tiny training.

Every case runs the venv's console script in its own empty working folder under the case's
folder and asserts:

1. the exit status is ``rc``;
2. no ``Traceback`` anywhere in stdout or stderr;
3. stderr, without warning lines (``dse-<cmd>: warning: …``, e.g. dse-analyze's
   SweepWarnings naming skipped files, and Python's ``file:line: XWarning: …`` with its indented
   source line), is exactly one line, which starts with ``dse-<cmd>: error: `` (tag ``failed``:
   ``dse-train: failed ``) and contains every ``names`` substring;
4. nothing in the case's folder was created, changed or removed (fixtures included), unless
   tagged ``writes``;
5. a crafted pickle never ran its payload (it would create ``PWNED`` in the working folder).

A command still running after ``TIMEOUT_S`` is killed and fails the case: it did not refuse the
input (it went on to work, e.g. to train).

The cases run in parallel in a thread pool (subprocesses), started for the selected cases when
the first one needs its result, so ``-k`` runs only what it selects.
"""

from __future__ import annotations

import os
import pickle
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
TABLE = HERE / "bad_input_cases.txt"
BIN = Path(sys.executable).parent
COMMANDS = ("dse-zoo", "dse-sample", "dse-train", "dse-analyze", "dse-fidelity", "dse-speed",
            "dse-study")
TIMEOUT_S = 90
WORKERS = (os.cpu_count() or 1) + 1  # subprocesses wait on imports and files too
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
TINY = ("data=synthetic data.train_size=64 data.test_size=32 regime.epochs=1 "
        "regime.batch_size=32 regime.warmup_epochs=0 train.progress=none "
        "'spec={depths:[1],widths:[8],bottleneck_ratios:[1],group_widths:[8],strides:[2],"
        "stem_width:8,in_channels:1,num_classes:4}'")
MARKER = "PWNED"
PY_WARNING = re.compile(r"^\S.*:\d+: \w*Warning: ")


@dataclass(frozen=True)
class Case:
    id: str
    rc: int
    tags: frozenset[str]
    names: tuple[str, ...]
    command: str


def read_table(path: Path = TABLE) -> list[Case]:
    """The cases of the table (blank lines and ``#`` comments skipped)."""
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ", 4)]
        if len(parts) != 5 or parts[1] not in ("1", "2"):
            raise ValueError(f"{path.name}:{n}: expected 'id | rc | tags | names | command'")
        cid, rc, tags, names, command = parts
        cases.append(Case(cid, int(rc), frozenset() if tags == "-" else frozenset(
            t.strip() for t in tags.split(",")), () if names == "-" else tuple(
            s.strip() for s in names.split(";")), command))
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"{path.name}: duplicate ids {dupes}")
    return cases


CASES = read_table()


# --- fixtures: each builds one file or folder at `dest` ------------------------------------

def _text(content: str) -> Callable[[Path], None]:
    def build(dest: Path) -> None:
        dest.write_text(content, encoding="utf-8")
    return build


def _sweep(dest: Path, spaces=("anynetx_a", "anynetx_e"), n: int = 8, seed: int = 0,
           **kw) -> None:
    from analysis.testing import synthetic_population

    for k, space in enumerate(spaces):
        synthetic_population(dest, space, n, seed=k, shift=2.0 * k, **kw)


def _mixed(dest: Path) -> None:
    from analysis.testing import DEFAULT_REGIME, synthetic_population

    synthetic_population(dest, "anynetx_a", 4, seed=0)
    synthetic_population(dest, "anynetx_e", 4, seed=1, regime={**DEFAULT_REGIME, "epochs": 9})


def _fidelity(dest: Path, regime: str) -> None:
    from analysis.testing import DEFAULT_REGIME, random_anynet_spec, write_sweep

    for k, space in enumerate(("anynetx_a", "anynetx_e")):
        rng = np.random.default_rng(k)
        specs = [random_anynet_spec(rng) for _ in range(6)]
        for train_seed in (0, 1):
            errors = [30.0 + 2 * k + i + 0.5 * train_seed for i in range(6)]
            write_sweep(dest, space, specs, errors, seed=train_seed,
                        regime={**DEFAULT_REGIME, "name": regime})


def _one_bad_record(content: str | None) -> Callable[[Path], None]:
    """A sweep holding one record.json that is `content` (None: a folder named record.json)."""
    def build(dest: Path) -> None:
        path = dest / "anynetx_a" / "0" / "proxy-s0-000000000000" / "record.json"
        if content is None:
            path.mkdir(parents=True)
            return
        path.parent.mkdir(parents=True)
        path.write_text(content, encoding="utf-8")
    return build


def _truncated_record(dest: Path) -> None:
    _sweep(dest, spaces=("anynetx_a",), n=1)
    (path,) = dest.rglob("record.json")
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


class _Hostile:
    """Unpickling this runs ``os.system`` (a crafted file): it would make ``PWNED`` in the
    working folder; the tests check it never does."""

    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


def _cifar(kind: str) -> Callable[[Path], None]:
    """A cifar-10-batches-py folder whose first batch is `kind`: hostile, truncated, a list,
    labels out of range."""
    def build(dest: Path) -> None:
        dest.mkdir()
        good = {b"data": np.zeros((10, 3072), np.uint8), b"labels": list(range(10))}
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            (dest / name).write_bytes(pickle.dumps(good))
        first = dest / "data_batch_1"
        if kind == "hostile":
            first.write_bytes(pickle.dumps({b"data": _Hostile(),
                                            b"labels": [0]}))
        elif kind == "truncated":
            first.write_bytes(pickle.dumps(good)[:500])
        elif kind == "list":
            first.write_bytes(pickle.dumps([1, 2, 3]))
        elif kind == "labels":
            first.write_bytes(pickle.dumps({b"data": np.zeros((10, 3072), np.uint8),
                                            b"labels": [99] * 10}))
    return build


def _imagefolder(kind: str) -> Callable[[Path], None]:
    def build(dest: Path) -> None:
        for split in ("train", "val"):
            for cls in ("a", "b"):
                d = dest / split / cls
                d.mkdir(parents=True)
                if kind == "garbage":
                    (d / "x.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really an image")
                elif kind == "ok":
                    from PIL import Image

                    Image.new("RGB", (8, 8), (40, 80, 120)).save(d / "x.png")
    return build


def _profile(mutate: Callable[[dict], object] | None, raw: str | None = None):
    def build(dest: Path) -> None:
        if raw is not None:
            dest.write_text(raw, encoding="utf-8")
            return
        import json

        src = Path(__file__).resolve().parents[1] / "sampling" / "profiles"
        d = json.loads(next(iter(sorted(src.glob("*.json")))).read_text())
        out = mutate(d)
        dest.write_text(json.dumps(d if out is None else out), encoding="utf-8")
    return build


def _module(dest: Path) -> None:
    dest.mkdir()
    (dest / "dse_badcons.py").write_text(
        "def raises(spec):\n    raise RuntimeError('boom')\n\n"
        "def not_bool(spec):\n    return 'yes'\n\n"
        "NOT_CALLABLE = 3\n", encoding="utf-8")


PLAN_OK = ("name: p\nhypotheses:\n  - id: h1\n    text: t\n    kind: better\n"
           "    a: anynetx_a\n    b: anynetx_e\n")


def _trained(dest: Path) -> None:
    """A real tiny run trained once (its record); the case fixtures below alter it."""
    args = shlex.split(TINY) + [f"sweep.dir={dest}"]
    done = subprocess.run([str(BIN / "dse-train"), *args], capture_output=True, text=True,
                          cwd=dest.parent, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def _from_trained(alter: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(dest: Path, template: Path) -> None:
        shutil.copytree(template, dest, symlinks=True)
        (record,) = dest.rglob("record.json")
        alter(record)
    build.needs_trained = True  # type: ignore[attr-defined]
    return build


def _hostile_checkpoint(record: Path) -> None:
    import torch

    record.unlink()
    torch.save({"model": _Hostile()}, record.parent / "checkpoint.pt")


def _garbage_checkpoint(record: Path) -> None:
    record.unlink()
    (record.parent / "checkpoint.pt").write_bytes(b"PK\x03\x04 not a checkpoint")


def _record_folder(record: Path) -> None:
    record.unlink()
    record.mkdir()


def _unreadable_dir(dest: Path) -> None:
    _sweep(dest, spaces=("anynetx_a",), n=4)
    dest.chmod(0)


FIXTURES: dict[str, Callable] = {
    "file": _text("not a folder\n"),
    "empty": lambda d: d.mkdir(),
    "rodir": lambda d: (d.mkdir(), d.chmod(0o555)),
    "sweep": _sweep,
    "mixed": _mixed,
    "proxy": lambda d: _fidelity(d, "proxy"),
    "reference": lambda d: _fidelity(d, "proxy_long"),
    "truncrec": _truncated_record,
    "arrayrec": _one_bad_record("[1, 2, 3]\n"),
    "dirrec": _one_bad_record(None),
    "unreadable": _unreadable_dir,
    "plan_unknown": _text(PLAN_OK + "bogus_key: 1\n"),
    "plan_kind": _text(PLAN_OK.replace("kind: better", "kind: teleport")),
    "plan_margin": _text(PLAN_OK.replace("kind: better", "kind: equivalent\n    margin: -0.1")),
    "plan_list": _text("- 1\n- 2\n"),
    "plan_yaml": _text("name: [unclosed\n  hypotheses: {\n"),
    "plan_dupe": _text(PLAN_OK + PLAN_OK.split("hypotheses:\n")[1]),
    "plan_shift_direction": _text(PLAN_OK.replace(
        "kind: better", "kind: best_shift\n    parameter: depth\n    direction: up")),
    "plan_shift_margin": _text(PLAN_OK.replace(
        "kind: better", "kind: best_shift\n    parameter: depth\n    direction: same")),
    "plan_exponent_range": _text(PLAN_OK.replace(
        "kind: better", "kind: best_exponent\n    parameter: acts\n    range: [0.6, 0.4]")),
    "prof_malformed": _profile(None, raw='{"format": "anynet-dse/runtime-profile", "vers'),
    "prof_format": _profile(lambda d: d.update(format="something-else")),
    "prof_unknown": _profile(lambda d: d.update(colour="red")),
    "prof_coef": _profile(lambda d: d.update(coef=[float("nan"), 1.0])),
    "prof_features": _profile(lambda d: d.update(features=["params", "bogus"])),
    "cifar_hostile": _cifar("hostile"),
    "cifar_trunc": _cifar("truncated"),
    "cifar_list": _cifar("list"),
    "cifar_labels": _cifar("labels"),
    "imgf_garbage": _imagefolder("garbage"),
    "imgf_ok": _imagefolder("ok"),
    "mod": _module,
    "ckpt_hostile": _from_trained(_hostile_checkpoint),
    "ckpt_garbage": _from_trained(_garbage_checkpoint),
    "trained_dirrec": _from_trained(_record_folder),
}
SUFFIXES = {"plan_": ".yaml", "prof_": ".json"}


def _filename(name: str) -> str:
    """The file name of fixture `name` (plans end in .yaml, profiles in .json)."""
    return name + next((sfx for pre, sfx in SUFFIXES.items() if name.startswith(pre)), "")


PLACEHOLDER = re.compile(r"(?<!\$)\{([a-z_]+)\}")


# --- running a case ------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    before: dict[str, tuple[int, int, int]]
    after: dict[str, tuple[int, int, int]]
    root: Path


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under `root` with its mode, size and mtime (folders included)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            if p.is_dir():  # a folder's mtime moves with temp files made and removed in it
                out[str(p.relative_to(root))] = (st.st_mode, 0, 0)
            else:
                out[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def _expand(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class Runner:
    """Builds fixture templates once and runs cases in a thread pool."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.templates = base / "templates"
        self.templates.mkdir()
        self.cache = base / "cache"
        self.cache.mkdir()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS)
        self.futures: dict[str, Future] = {}

    def template(self, name: str) -> Path:
        path = self.templates / _filename(name)
        build = _trained if name == "_trained" else FIXTURES[name]
        if getattr(build, "needs_trained", False):
            trained = self.template("_trained")
            if not path.exists():
                build(path, trained)
            return path
        if not path.exists():
            build(path)
        return path

    def prepare(self, case: Case) -> tuple[list[str], dict[str, str], Path, Path]:
        root = self.base / "cases" / case.id
        cwd = root / "cwd"
        cwd.mkdir(parents=True)
        values = {"tmp": str(root), "tiny": TINY}
        for name in sorted(set(PLACEHOLDER.findall(case.command)) - {"tmp", "tiny"}):
            if name not in FIXTURES:
                raise KeyError(f"{case.id}: unknown placeholder {{{name}}}")
            src, dest = self.template(name), root / _filename(name)
            if name == "unreadable":  # a mode-000 folder cannot be copied; build it here
                FIXTURES[name](dest)
            elif src.is_dir():
                shutil.copytree(src, dest, symlinks=True)
            else:
                shutil.copy2(src, dest)
            values[name] = str(dest)
        words = shlex.split(_expand(case.command, values))
        env = dict(os.environ, ANYNET_DSE_CACHE=str(self.cache), PYTHONWARNINGS="default",
                   MPLBACKEND="Agg", COLUMNS="200")
        env.pop("CIFAR10_DIR", None)
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        if not words or words[0] not in COMMANDS:
            raise ValueError(f"{case.id}: the command must start with one of {COMMANDS}")
        return [str(BIN / words[0]), *words[1:]], env, root, cwd

    def run(self, case: Case) -> Outcome:
        argv, env, root, cwd = self.prepare(case)
        before = _snapshot(root)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, cwd=cwd, env=env,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=TIMEOUT_S)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            rc = -1
            err += (f"\n[test] still running after {TIMEOUT_S} s and killed: the bad input was "
                    "not refused (the command went on to work, e.g. to train)")
        after = _snapshot(root)
        return Outcome(argv, rc, out, err, before, after, root)

    def submit(self, cases: list[Case]) -> None:
        for case in cases:
            if case.id not in self.futures:
                self.futures[case.id] = self.pool.submit(self.run, case)

    def result(self, case: Case) -> Outcome:
        self.submit([case])
        return self.futures[case.id].result()


@pytest.fixture(scope="module")
def runner(request, tmp_path_factory) -> Runner:
    base = tmp_path_factory.mktemp("bad_input")
    r = Runner(base)
    selected = {item.callspec.id for item in request.session.items
                if getattr(item, "originalname", None) == "test_bad_input"
                and hasattr(item, "callspec")}
    by_id = {c.id: c for c in CASES}
    wanted = [by_id[i] for i in selected
              if i in by_id and not ("nonroot" in by_id[i].tags and IS_ROOT)]
    # Fixture templates are built in this thread (the pool only copies them); the slowest
    # commands start first, and the cases needing a trained run last, while it trains here.
    order = {"dse-train": 0, "dse-speed": 0, "dse-fidelity": 1, "dse-analyze": 1}
    wanted.sort(key=lambda c: (order.get(_command(c), 2), c.id))

    def fixtures(case: Case) -> list[str]:
        return [n for n in PLACEHOLDER.findall(case.command) if n in FIXTURES]

    def trained(case: Case) -> bool:
        return any(getattr(FIXTURES[n], "needs_trained", False) for n in fixtures(case))

    for batch in ([c for c in wanted if not trained(c)], [c for c in wanted if trained(c)]):
        for c in batch:
            for name in set(fixtures(c)) - {"unreadable"}:
                r.template(name)
        r.submit(batch)
    yield r
    r.pool.shutdown(wait=True, cancel_futures=True)
    for p in (base / "cases").rglob("*"):  # let pytest clean up mode-000 folders
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


def error_lines(stderr: str, command: str) -> list[str]:
    """stderr without warning lines (see the module docstring)."""
    lines, skip_indented = [], False
    for line in stderr.splitlines():
        if line.startswith(f"{command}: warning:"):
            skip_indented = False
            continue
        if PY_WARNING.match(line):
            skip_indented = True
            continue
        if skip_indented and line.startswith((" ", "\t")):
            continue
        skip_indented = False
        if line.strip():
            lines.append(line)
    return lines


def _command(case: Case) -> str:
    """The command of a case (after any ``VAR=value`` assignments)."""
    return next(w for w in case.command.split() if not re.match(r"^[A-Z_][A-Z0-9_]*=", w))


def _report(o: Outcome) -> str:
    return (f"\ncommand: {shlex.join(o.argv)}\nrc: {o.rc}\nstderr:\n{o.stderr[-3000:]}"
            f"\nstdout (tail):\n{o.stdout[-1500:]}")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, runner: Runner) -> None:
    if "nonroot" in case.tags and IS_ROOT:
        pytest.skip("file permissions do not apply to root")
    o = runner.result(case)
    command = _command(case)
    context = _report(o)
    assert not (o.root / "cwd" / MARKER).exists(), "a crafted file ran code" + context
    assert "Traceback" not in o.stderr + o.stdout, context
    assert o.rc == case.rc, context
    lines = error_lines(o.stderr, command)
    assert len(lines) == 1, f"expected exactly one error line, got {len(lines)}" + context
    line = lines[0]
    prefix = f"{command}: failed " if "failed" in case.tags else f"{command}: error: "
    assert line.startswith(prefix), context
    values = {"tmp": str(o.root)} | {n: str(o.root / _filename(n)) for n in FIXTURES}
    for name in case.names:
        assert _expand(name, values) in line, f"error line does not name {name!r}" + context
    if "writes" not in case.tags:
        added = sorted(set(o.after) - set(o.before))
        removed = sorted(set(o.before) - set(o.after))
        changed = sorted(k for k in set(o.before) & set(o.after) if o.before[k] != o.after[k])
        assert not (added or removed or changed), (
            f"written: added {added[:5]}, removed {removed[:5]}, changed {changed[:5]}" + context)


def test_table_is_well_formed() -> None:
    """Every case names a known command and known fixtures; every command is covered."""
    seen = set()
    for c in CASES:
        assert _command(c) in COMMANDS, c.id
        seen.add(_command(c))
        unknown = set(PLACEHOLDER.findall(c.command)) - set(FIXTURES) - {"tmp", "tiny"}
        assert not unknown, (c.id, unknown)
    assert seen == set(COMMANDS)
