"""Shared pytest setup: one torch thread, so tests behave the same on small shared machines."""

import torch

torch.set_num_threads(1)
