"""`SweepWarning`, the warning `analysis.sweep.load_sweep` gives for a record file it skips. Its
own module (no pandas): a command sets its warning filter before it loads anything."""

from __future__ import annotations


class SweepWarning(UserWarning):
    """A record file was skipped (unreadable, partial or not a run record)."""
