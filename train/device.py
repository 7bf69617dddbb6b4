"""The device and the CPU threads that models run on: one resolver for every command that runs
models (``dse-train``: `train.runner`; ``dse-speed``: `train.speed`).

`resolve_device` turns ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present) into a
``torch.device`` and refuses anything else, or a GPU this machine does not have, in one line
naming the field (docs/ARCHITECTURE.md "Conventions": errors). `torch_threads` sets torch's
intra-op CPU threads for one block and restores them after it; `device_description` is the
one-line description of a device that ``dse-speed`` prints and a runtime profile stores.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from anynet.system import check_cpu_count, this_cpu

if TYPE_CHECKING:
    import torch

# torch is imported where a device or its threads are used, not here: `check_threads` and the
# refusal of a malformed device name cost no torch import (``dse-speed``'s bad input).

DEVICES = "cpu, cuda, cuda:N or auto"


def resolve_device(name: Any, field: str = "device") -> torch.device:
    """`cpu`, `cuda`, `cuda:N` or `auto` (CUDA when present) as a ``torch.device``; a
    one-line ValueError naming `field` for any other value, for CUDA on a machine without it
    and for a CUDA index this machine does not have."""
    if not isinstance(name, str):
        raise ValueError(f"{field}: {name!r} is not allowed; use {DEVICES}")
    kind, _, index = name.partition(":")
    if name != "auto" and (kind not in ("cpu", "cuda")
                           or (index and (kind == "cpu" or not index.isdigit()))):
        raise ValueError(f"{field}: {name!r} is not allowed; use {DEVICES}")
    import torch  # a well-formed name: torch says whether this machine has the device

    if name == "auto":
        name = kind = "cuda" if torch.cuda.is_available() else "cpu"
        index = ""
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{field}: {name!r} is not available on this machine "
                             "(torch.cuda.is_available() is False); use cpu")
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"{field}: {name!r} is not available; this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)


def check_threads(threads: Any, field: str = "threads") -> int | None:
    """None (torch's current setting) or 1 to the CPUs this process may use
    (`anynet.system.available_cpus`); one-line ValueError naming `field` otherwise."""
    return None if threads is None else check_cpu_count(threads, field)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """torch's intra-op CPU threads set to `threads` inside the block (None: unchanged)."""
    import torch

    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_threads(threads))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


def device_description(device: str, threads: int | None) -> str:
    """``cuda: <GPU name>`` or ``cpu: <CPU model>, N threads of M cores`` (N: `threads`, or
    torch's current setting when None)."""
    import torch

    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(dev)}"
    cpu = this_cpu().name
    n = threads if threads is not None else torch.get_num_threads()
    return f"cpu: {cpu}, {n} threads of {os.cpu_count()} cores"
