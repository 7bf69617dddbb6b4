"""Measured runtime of networks on the present device, ``dse-speed`` ([DDS] §5.3, Table 4,
Fig. 12; docs/SPEED.md): an application of the model family, on the floor of the entry points
and devices (docs/ARCHITECTURE.md "Packages and their dependencies"). One concern a module:

- `timing`: clocks (wall clock, CUDA events), warm-up and timing loops, interleaved timing,
  `Timing`, the paired ratio with its bootstrap interval;
- `eager`: eager PyTorch inference and a training step; `onnx_runtime`: ONNX export and
  ONNX Runtime inference on the CPU; `suite`: `SpeedSettings` and the runtimes of one model;
- `models`: the zoo RegNets and EfficientNet-B0…B5, counted by `anynet.complexity` or the one
  hook counter `anynet.measure.hooked_complexity`; `published`: the paper's numbers;
- `comparison`: the zoo table and the RegNet-8.0GF vs EfficientNet-B5 ratio; `tables`: their
  CSVs and text table;
- `predictors`: runtime predictors of a sampled RegNetX population and the device profiles
  they give (`sampling.latency`'s format; the fit is `analysis.runtime`'s);
- `cli`: ``dse-speed`` and ``dse-speed runtime measure|fit``.

The device and the CPU threads are resolved by `train.device`, as for training.
"""
