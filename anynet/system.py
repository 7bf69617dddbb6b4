"""What a command needs from the process it runs in, torch-free and shared by every ``dse-*``
command: the CPUs it may use (`available_cpus`), an output file checked before any work
(`check_output_file`), a quiet end when the reader of its stdout goes away
(`quiet_broken_pipe`), and the machine a run record says it ran on (`machine`, shown as
`machine_label`; docs/TRAINING.md "Determinism").

A closed stdout pipe (``dse-zoo | head -1``) ends a command with exit status 141 (128 +
SIGPIPE, what a shell reports for ``yes | head -1``) and nothing on stderr: the Python docs'
recipe (signal handling, "Note on SIGPIPE"), catching ``BrokenPipeError`` and pointing stdout at
/dev/null so the interpreter's final flush stays quiet.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
BROKEN_PIPE_STATUS = 141  # 128 + SIGPIPE (13)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a SLURM allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_cpu_count(value: Any, field: str) -> int:
    """`value` as a thread count from 1 to `available_cpus()`; one-line ValueError naming
    `field` otherwise (more threads than CPUs only oversubscribe them)."""
    cpus = available_cpus()
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= cpus:
        raise ValueError(f"{field}: {value!r} is not allowed; use an integer from 1 to {cpus} "
                         "(the CPUs this process may use, os.sched_getaffinity)")
    return value


def check_output_file(path: str | os.PathLike, field: str) -> Path:
    """Check, before any work, that a file can be created at `path`: an anonymous temp file is
    created (and gone at once) in its folder, or in the nearest existing folder above it when
    the folder is still to be made. Nothing is left behind. A folder given as the file is bad
    input (ValueError); a folder that cannot be written is the environment's (OSError, its
    strerror the whole line: ``FIELD: cannot write PATH (REASON); give a writable folder``),
    exit statuses 2 and 1 at the command line (docs/ARCHITECTURE.md "Commands")."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{field}: cannot write {path} (a folder); give a file path")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(20, os.strerror(20), str(folder))
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OSError(exc.errno, f"{field}: cannot write {path} ({reason}); give a writable "
                      "folder") from None
    return path


def _stdout_to_devnull() -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's last flush cannot fail."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced stdout (e.g. pytest's capture)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def quiet_broken_pipe(main: F) -> F:
    """Decorate a command's entry point: when its stdout pipe is closed (the reader exited),
    exit with status `BROKEN_PIPE_STATUS` and no traceback. Stdout is flushed when `main`
    returns or exits, so a failure of that last write is caught here too."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return main(*args, **kwargs)
            finally:
                if sys.stdout is not None:
                    sys.stdout.flush()
        except BrokenPipeError:
            _stdout_to_devnull()
            sys.exit(BROKEN_PIPE_STATUS)

    return wrapper  # type: ignore[return-value]


# -- the machine a run ran on ----------------------------------------------------------------
# CPU floats differ across microarchitectures and kernel paths (oneDNN, MKL and ATen pick their
# kernels by the CPU's instruction sets): same run id, another CPU, another draw of the error.
# Environment variables that limit or pin those kernel paths, recorded when set.
KERNEL_ENV = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA",
              "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR")
# The keys of a record's `machine` object, in record order.
MACHINE_FIELDS = ("cpu", "vendor", "cpu_id", "logical_cpus", "cpu_capability", "kernel_env",
                  "torch_build", "cuda_device", "code_commit")
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass(frozen=True)
class Cpu:
    """A CPU as /proc/cpuinfo names it: `name` (``model name``, else what `platform` says),
    `vendor` (``vendor_id``) and `cpu_id` (``family F model M``; x86 Linux only)."""

    name: str
    vendor: str | None
    cpu_id: str | None


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's ``key: value`` pairs of /proc/cpuinfo text."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if out:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def cpu_of(cpuinfo: str | None) -> Cpu:
    """The `Cpu` that /proc/cpuinfo text describes (None: not Linux; `platform`'s names)."""
    fields = cpuinfo_fields(cpuinfo or "")
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown"
    family, model = fields.get("cpu family"), fields.get("model")
    return Cpu(name=name, vendor=fields.get("vendor_id") or None,
               cpu_id=f"family {family} model {model}" if family and model else None)


def this_cpu() -> Cpu:
    """The CPU this process runs on."""
    try:
        text: str | None = Path("/proc/cpuinfo").read_text()
    except (OSError, UnicodeDecodeError):
        text = None
    return cpu_of(text)


def git_commit(folder: str | os.PathLike) -> str | None:
    """The commit that HEAD names in the git checkout at `folder`, read from its files (no git
    process: nothing can fail visibly), or None when `folder` is no checkout or a file is
    unreadable. Uncommitted changes are not seen. A worktree's ``.git`` file is followed."""
    try:
        git = Path(folder) / ".git"
        if git.is_file():
            pointer = git.read_text().strip()
            if not pointer.startswith("gitdir:"):
                return None
            git = Path(folder) / pointer.removeprefix("gitdir:").strip()
        if not (git / "HEAD").is_file():
            return None
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head if _SHA.fullmatch(head) else None
        ref = head.removeprefix("ref:").strip()
        common = git
        if (git / "commondir").is_file():
            common = git / (git / "commondir").read_text().strip()
        for base in dict.fromkeys((git, common)):
            if (base / ref).is_file():
                sha = (base / ref).read_text().strip()
                return sha if _SHA.fullmatch(sha) else None
        if (common / "packed-refs").is_file():
            for line in (common / "packed-refs").read_text().splitlines():
                sha, _, name = line.partition(" ")
                if name.strip() == ref and _SHA.fullmatch(sha):
                    return sha
    except (OSError, UnicodeDecodeError):
        return None
    return None


def code_commit() -> str | None:
    """The commit of this project's code when it runs from a git checkout, else None."""
    return git_commit(Path(__file__).resolve().parents[1])


def machine(*, cpu_capability: str | None, torch_build: str | None,
            cuda_device: str | None = None) -> dict[str, Any]:
    """A run record's `machine` object (`MACHINE_FIELDS`): the CPU (`this_cpu`), its logical
    CPUs, the kernel path torch takes on it (`cpu_capability`, torch's
    ``torch.backends.cpu.get_cpu_capability()``, and any `KERNEL_ENV` setting), the torch build
    (``torch.version.git_version``: it fixes the oneDNN and MKL versions, which torch exposes
    through no public attribute), the CUDA device's name on CUDA, and the code's commit. The
    torch facts are arguments because this module is torch-free (the runner passes them).
    Recorded, never part of the run's identity (`anynet.record`)."""
    cpu = this_cpu()
    return {"cpu": cpu.name, "vendor": cpu.vendor, "cpu_id": cpu.cpu_id,
            "logical_cpus": os.cpu_count(), "cpu_capability": cpu_capability,
            "kernel_env": {k: os.environ[k] for k in KERNEL_ENV if k in os.environ},
            "torch_build": torch_build, "cuda_device": cuda_device,
            "code_commit": code_commit()}


def benchmark_machine(*, cpu_capability: str | None = None, torch_build: str | None = None
                      ) -> dict[str, Any]:
    """Where a benchmark's figures were measured (the ``machine`` of a ``--json`` file under
    benchmarks/): `machine`, plus the usable cores, the installed torch version (from the
    package metadata: a torch-free benchmark does not import it) and the UTC date."""
    try:
        torch_version: str | None = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    return {**machine(cpu_capability=cpu_capability, torch_build=torch_build),
            "cores": available_cpus(), "torch": torch_version,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def machine_label(machine: Any) -> str:
    """A record's `machine` as one short line, ``AMD EPYC (family 25 model 17) · avx512``: CPU
    model, kernel path (torch's capability, then any kernel setting but ATen's own), the CUDA
    device where there is one; ``""`` for a record without the field (written before it)."""
    if not isinstance(machine, Mapping) or not machine.get("cpu"):
        return ""
    name = re.sub(r"\((R|TM|tm)\)", "", str(machine["cpu"]))
    name = " ".join(name.split())
    parts = [f"{name} ({machine['cpu_id']})" if machine.get("cpu_id") else name]
    if machine.get("cpu_capability"):
        parts.append(str(machine["cpu_capability"]).lower())
    env = machine.get("kernel_env")
    if isinstance(env, Mapping):
        parts += [f"{k}={v}" for k, v in sorted(env.items()) if k != "ATEN_CPU_CAPABILITY"]
    if machine.get("cuda_device"):
        parts.append(str(machine["cuda_device"]))
    return " · ".join(parts)
