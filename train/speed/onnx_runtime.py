"""Inference through ONNX Runtime on the CPU ([DDS] §5.3; docs/SPEED.md "What is measured"):
`onnx_export` with the TorchScript exporter (``dynamo=False``, a dynamic batch axis), then an
``onnxruntime.InferenceSession`` (CPU provider, every graph optimization; `ort_session`),
timed on the wall clock (`ort_timing`)."""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ..device import check_threads
from .eager import check_batch, random_input
from .timing import Timing, WallClock, time_calls


@contextmanager
def _stdout_silenced() -> Iterator[None]:
    """File descriptor 1 to /dev/null inside the block (catches C++ prints too)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def onnx_export(model: nn.Module, resolution: int, in_channels: int = 3,
                name: str = "model") -> bytes:
    """The ONNX graph of `model` in eval mode (TorchScript exporter, ``dynamo=False``; a
    dynamic batch axis), as bytes; one-line ValueError when the model does not export."""
    x = torch.zeros(1, in_channels, resolution, resolution)
    buf = io.BytesIO()
    model = model.cpu().eval()
    try:
        # the exporter warns, and prints its graph to stdout on failure: keep both quiet
        with warnings.catch_warnings(), _stdout_silenced():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), buf, dynamo=False, input_names=["input"],
                              output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    except Exception as exc:  # the exporters raise many types; report one line
        msg = " ".join(str(exc).split())[:300]
        raise ValueError(f"model {name!r}: ONNX export failed ({type(exc).__name__}: {msg})"
                         ) from None
    return buf.getvalue()


def ort_session(onnx_model: bytes, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with `threads` intra-op threads (None: its default)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ValueError("onnxruntime: not installed; pip install 'anynet-dse[speed]'"
                         ) from None
    opts = ort.SessionOptions()
    if check_threads(threads) is not None:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(onnx_model, opts, providers=["CPUExecutionProvider"])


def ort_feed(session: Any, batch: int, resolution: int, in_channels: int = 3
             ) -> dict[str, Any]:
    """The session's input: the seeded batch of `eager.random_input`, as a numpy array."""
    x = random_input(batch, resolution, in_channels, torch.device("cpu"))
    return {session.get_inputs()[0].name: x.numpy()}


def ort_timing(onnx_model: bytes, resolution: int, batch: int = 1, threads: int | None = None,
               warmup: int = 3, reps: int = 10, in_channels: int = 3) -> Timing:
    """Inference of `batch` images through ONNX Runtime on the CPU."""
    check_batch(batch)
    sess = ort_session(onnx_model, threads)
    feed = ort_feed(sess, batch, resolution, in_channels)
    times = time_calls(lambda: sess.run(None, feed), warmup, reps, WallClock())
    return Timing("ort", batch, "cpu", threads, times)
