"""train.speed (dse-speed) and the hook counter it uses (anynet.measure.hooked_complexity):
counting, timing loops, ONNX export + ONNX Runtime, one-line errors, the CLI.
Real tiny models; no timed assertions (timings are only checked to exist and be positive)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from anynet import AnyNetSpec, build_model, complexity
from anynet.measure import hooked_complexity
from anynet.system import available_cpus
from train import device
from train.speed import cli, comparison, eager, models, onnx_runtime, published, suite, timing

ROOT = Path(__file__).resolve().parents[1]
# the cheapest measuring run: one small model, one eager batch-1 call
CHEAP = ["--models", "RegNetX-200MF", "--devices", "cpu", "--threads", "1", "--warmup", "0",
         "--reps", "1", "--batch", "1", "--train-batch", "0", "--no-onnx", "--ratio-reps", "0"]

TINY = AnyNetSpec(depths=[1, 2], widths=[8, 16], bottleneck_ratios=[1, 2], group_widths=[4, 8],
                  strides=[2, 2], stem_width=8, num_classes=5)


def test_hooked_complexity_hand_count():
    """3x3 conv (bias) s2 → BN → ReLU → grouped 1x1 → pool → FC, at 8 px, counted by hand."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=True), nn.BatchNorm2d(4),
                        nn.ReLU(), nn.Conv2d(4, 8, 1, groups=2, bias=False),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    # conv1: 4x4 out, 9·3·4·16 + 4·16 bias; conv2: (4/2)·8·16; fc: 8·5 + 5
    assert hooked_complexity(net, 8) == {
        "flops": 9 * 3 * 4 * 16 + 4 * 16 + 2 * 8 * 16 + 8 * 5 + 5,
        "params": (108 + 4) + 8 + 16 + 45,
        "acts": 4 * 16 + 8 * 16 + 5}


@pytest.mark.parametrize("se", [0.0, 0.25])
def test_hooked_complexity_equals_analytic(se):
    spec = AnyNetSpec(**{**TINY.to_dict(), "se_ratio": se})
    model = build_model(spec)
    for r in (16, 33):
        assert hooked_complexity(model, r) == complexity(spec, r)


def test_efficientnet_b0_matches_pycls():
    """efficientnet-pytorch B0 counted by hooks equals pycls dev/model_complexity.json
    (docs/PAPER.md §4.5) to the integer."""
    model, res = models.build("EfficientNet-B0")
    assert res == 224
    assert hooked_complexity(model, res) == {
        "flops": 385_825_092, "params": 5_288_548, "acts": 6_748_036}


class _Recorder:
    """A clock that records the order of events instead of reading time."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def start(self) -> None:
        self.log.append("start")

    def stop(self) -> float:
        self.log.append("stop")
        return 1.5


def test_time_calls_warms_up_syncs_then_times():
    log: list[str] = []
    times = timing.time_calls(lambda: log.append("call"), 2, 3, _Recorder(log),
                             sync=lambda: log.append("sync"))
    assert times == (1.5, 1.5, 1.5)
    assert log == ["call", "call", "sync"] + ["start", "call", "stop"] * 3


def test_time_interleaved_rotates_and_pairs():
    log: list[str] = []
    fns = {n: (lambda n=n: log.append(n)) for n in "abc"}
    times = timing.time_interleaved(fns, 1, 4, _Recorder([]), sync=lambda: log.append("|"))
    assert {n: len(t) for n, t in times.items()} == {"a": 4, "b": 4, "c": 4}
    assert "".join(log) == "abc|" + "abc" + "bca" + "cab" + "abc"


def test_clocks_and_devices():
    clock, sync = timing.clock_for(torch.device("cpu"))
    assert isinstance(clock, timing.WallClock) and sync() is None
    clock.start()
    assert clock.stop() >= 0
    cuda_clock, _ = timing.clock_for(torch.device("cuda"))  # built, not started: no GPU needed
    assert isinstance(cuda_clock, timing.CudaEventClock) and cuda_clock.device.type == "cuda"
    assert device.resolve_device("cpu") == torch.device("cpu")
    assert device.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("bad", ["tpu", "cpu:0", "cuda:x", "", 3, "cuda:99"])
def test_bad_device_one_line(bad):
    with pytest.raises(ValueError) as e:
        device.resolve_device(bad)
    msg = str(e.value)
    assert msg.startswith("device: ") and repr(bad) in msg and "\n" not in msg


def test_the_one_resolver_names_the_callers_field():
    """dse-train resolves ``train.device`` with the same function (train.runner)."""
    from train import runner

    assert runner.resolve_device is device.resolve_device
    with pytest.raises(ValueError, match=r"^train\.device: 'cuda:x' is not allowed; use cpu, "
                       r"cuda, cuda:N or auto$"):
        device.resolve_device("cuda:x", "train.device")


def test_cuda_absent_one_line():
    if torch.cuda.is_available():
        assert device.resolve_device("cuda").type == "cuda"
        return
    with pytest.raises(ValueError, match=r"^device: 'cuda' is not available on this machine"):
        device.resolve_device("cuda")


def test_torch_threads_restores():
    before, k = torch.get_num_threads(), min(2, available_cpus())
    with device.torch_threads(k) as n:
        assert n == torch.get_num_threads() == k
    assert torch.get_num_threads() == before
    for bad in (0, available_cpus() + 1):
        with pytest.raises(ValueError, match=f"^threads: {bad} is not allowed"):
            with device.torch_threads(bad):
                pass
    assert torch.get_num_threads() == before


def test_infer_and_train_timings_on_tiny_model():
    model = build_model(TINY)
    before = [p.detach().clone() for p in model.parameters()]
    t = eager.infer_timing(model, 16, batch=3, threads=1, warmup=1, reps=4)
    assert (t.runtime, t.batch, t.device, t.key, len(t.times_ms)) == ("infer", 3, "cpu",
                                                                      "infer_b3", 4)
    assert all(x > 0 for x in t.times_ms) and t.quartiles[0] <= t.median <= t.quartiles[1]
    tr = eager.train_timing(model, 16, batch=2, threads=1, warmup=1, reps=2, num_classes=5)
    assert tr.key == "train_b2" and len(tr.times_ms) == 2
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    with pytest.raises(ValueError, match="^batch: 1 is not allowed; use an integer >= 2"):
        eager.train_timing(model, 16, batch=1)
    with pytest.raises(ValueError, match="^reps: 0 is not allowed"):
        eager.infer_timing(model, 16, reps=0)


def test_onnx_export_and_onnxruntime_match_torch():
    spec = AnyNetSpec(**{**TINY.to_dict(), "se_ratio": 0.25})
    torch.manual_seed(0)
    model = build_model(spec).eval()
    graph = onnx_runtime.onnx_export(model, 16, name="tiny")
    sess = onnx_runtime.ort_session(graph, threads=1)
    for batch in (1, 3):  # the batch axis is dynamic
        x = torch.randn(batch, 3, 16, 16)
        (y,) = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(y, model(x).numpy(), rtol=1e-4, atol=1e-5)
    t = onnx_runtime.ort_timing(graph, 16, batch=2, threads=1, warmup=1, reps=3)
    assert (t.runtime, t.key, len(t.times_ms)) == ("ort", "ort_b2", 3)
    assert all(x > 0 for x in t.times_ms)


class _FFT(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fft.fft2(x).abs()


def test_export_failure_is_one_line(capfd):
    with pytest.raises(ValueError) as e:
        onnx_runtime.onnx_export(_FFT(), 8, name="fft")
    msg = str(e.value)
    assert msg.startswith("model 'fft': ONNX export failed (") and "\n" not in msg
    assert "fft" in msg.split("(", 1)[1]
    assert capfd.readouterr().out == ""  # the exporter's graph dump is silenced


def test_paired_ratio():
    fast = np.array([10.0, 11.0, 12.0, 9.0, 10.5])
    assert timing.paired_ratio(2 * fast, fast) == (2.0, 2.0, 2.0)
    noisy = 3 * fast * np.array([1.0, 1.1, 0.9, 1.05, 0.97])
    r, lo, hi = timing.paired_ratio(noisy, fast)
    assert r == pytest.approx(3.0) and lo <= r <= hi and lo < hi
    assert lo >= 2.7 - 1e-9 and hi <= 3.3 + 1e-9  # within the observed per-rep ratios
    with pytest.raises(ValueError, match="^timings: 5 and 4 repetitions"):
        timing.paired_ratio(fast, fast[:4])


def test_build_errors():
    with pytest.raises(ValueError, match="^model: 'ResNet-50' is not allowed"):
        models.build("ResNet-50")
    with pytest.raises(ValueError, match="^model: 'EfficientNet-B7' is not allowed"):
        models.efficientnet("EfficientNet-B7")
    assert len(models.model_names()) == 30


def test_ratio_rows_small_pair():
    s = suite.SpeedSettings(threads=1, warmup=0, reps=1, batch=1, train_batch=0, onnx=False)
    rows = comparison.ratio_rows(s, 3, pairs=[("RegNetX-200MF", "EfficientNet-B0")])
    assert len(rows) == 1
    r = rows[0]
    assert (r["runtime"], r["batch"], r["reps"]) == ("infer", 1, 3)
    assert r["speedup_low"] <= r["speedup"] <= r["speedup_high"]
    assert r["regnet_published_top1_err"] == 31.1 and r["efficientnet_published_top1_err"] == 24.9


@pytest.mark.parametrize("argv, field", [
    (["--models", "Nope"], "models: 'Nope' is not allowed"),
    (["--devices", "tpu"], "device: 'tpu' is not allowed"),
    (["--threads", "0"], "threads: 0 is not allowed"),
    (["--reps", "0"], "reps: 0 is not allowed"),
    (["--ratio-reps", "1"], "ratio-reps: 1 is not allowed"),
    (["--frob"], "unrecognized arguments: --frob"),
])
def test_cli_bad_input_one_line(argv, field, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and field in err
    assert err.startswith("dse-speed: ")


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder nobody may write into: /sys is read-only even for root; otherwise 0o555."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.parametrize("option, argv", [
    ("--out", CHEAP),
    ("--ratio-out", ["--models", "none", "--devices", "cpu", "--ratio-reps", "2"]),
])
def test_cli_unwritable_output_is_refused_before_measuring(tmp_path, capsys, option, argv):
    """One line naming the option and the path, exit 1 (the environment's, as dse-analyze),
    nothing measured (the device line that starts a measurement is never printed)."""
    path = _read_only_folder(tmp_path) / "speed.csv"
    with pytest.raises(SystemExit) as e:
        cli.main([*argv, option, str(path)])
    out, err = capsys.readouterr()
    assert e.value.code == 1 and out == ""
    assert err == (f"dse-speed: error: {option}: cannot write {path} (Permission denied); "
                   "give a writable folder\n")


def test_cli_bad_input_creates_nothing(tmp_path, monkeypatch, capsys):
    """The output checks run after every input check and make no folder (the default outputs
    are under results/ of the working folder)."""
    monkeypatch.chdir(tmp_path)
    for argv in (["--warmup", "-1"], ["--models", "RegNetX-200MF", "--out",
                                      str(_read_only_folder(tmp_path) / "sub" / "z.csv")]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code in (1, 2) and capsys.readouterr().out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["ro"])


@pytest.mark.parametrize("argv, message", [
    (["--models", ","], "models: ',' names no model"),
    (["--models", "RegNetX-200MF", "--out", "."], "--out: cannot write . (a folder)"),
])
def test_cli_more_bad_input(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"dse-speed: error: {message}")


def test_cli_the_two_outputs_must_differ(tmp_path, capsys):
    same = str(tmp_path / "s.csv")
    with pytest.raises(SystemExit) as e:
        cli.main(["--models", "RegNetX-200MF", "--out", same, "--ratio-out", same])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"dse-speed: error: --ratio-out: {same} is also --out")


def test_cli_threads_above_the_available_cpus(capsys):
    n = available_cpus()
    with pytest.raises(SystemExit) as e:
        cli.main([*CHEAP, "--threads", "10000"])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == ""
    assert err == (f"dse-speed: error: --threads: 10000 is not allowed; use an integer from 1 "
                   f"to {n} (the CPUs this process may use, os.sched_getaffinity)\n")
    with pytest.raises(ValueError, match=f"^threads: {n + 1} is not allowed"):
        suite.SpeedSettings(threads=n + 1)


def test_cli_a_failed_final_write_is_one_line_and_leaves_the_old_file(tmp_path):
    """The CSV is written atomically: when the disk fills up at the end (here a 200-byte
    file-size limit, EFBIG; a full disk gives ENOSPC, "No space left on device", by the same
    path), one line names the file, the previous file stays as it was, no temp file is left."""
    out = tmp_path / "zoo.csv"
    out.write_text("the previous table\n")
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200)); "
            "from train.speed.cli import main; main(sys.argv[1:])")
    r = subprocess.run([sys.executable, "-c", code, *CHEAP, "--out", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 1 and "RegNetX-200MF" in r.stdout  # measured, then the write failed
    assert r.stderr == f"dse-speed: error: cannot write {out}: File too large\n"
    assert out.read_text() == "the previous table\n"
    assert [p.name for p in tmp_path.iterdir()] == ["zoo.csv"]


def test_cli_tiny_run(tmp_path, capsys):
    out = tmp_path / "zoo.csv"
    with pytest.raises(SystemExit) as e:
        cli.main(["--models", "RegNetX-200MF", "--devices", "cpu", "--threads", "1",
                    "--warmup", "0", "--reps", "1", "--batch", "2", "--train-batch", "2",
                    "--ratio-reps", "0", "--out", str(out)])
    assert e.value.code == 0
    import pandas as pd

    row = pd.read_csv(out).iloc[0]
    assert row["model"] == "RegNetX-200MF" and row["flops"] == 199_040_872
    for k in ("infer_b1_ms", "infer_b2_ms", "train_b2_ms", "ort_b1_ms"):
        assert row[k] > 0
    assert row["published_top1_err"] == 31.1
    assert "RegNetX-200MF" in capsys.readouterr().out


def test_published_speedups():
    """The paper's ratios ([DDS] Table 4 via docs/PAPER.md §7): 504 / 94 ms and 135.1 / 22.6 h."""
    assert published.published_speedup("infer", "RegNetX-8.0GF", "EfficientNet-B5") == \
        pytest.approx(504 / 94)
    assert published.published_speedup("train", "RegNetY-8.0GF", "EfficientNet-B5") == \
        pytest.approx(135.1 / 28.1)
    assert published.published_speedup("infer", "RegNetX-200MF", "EfficientNet-B0") is None
