"""What a command needs from the process it runs in, torch-free and shared by every ``dse-*``
command: the CPUs it may use (`available_cpus`), an output file checked before any work
(`check_output_file`), and a quiet end when the reader of its stdout goes away
(`quiet_broken_pipe`).

A closed stdout pipe (``dse-zoo | head -1``) ends a command with exit status 141 (128 +
SIGPIPE, what a shell reports for ``yes | head -1``) and nothing on stderr: the Python docs'
recipe (signal handling, "Note on SIGPIPE"), catching ``BrokenPipeError`` and pointing stdout at
/dev/null so the interpreter's final flush stays quiet.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
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
