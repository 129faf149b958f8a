"""fieldworld: an independent synthetic referral platform with ground truth.

Written from a description of how crowd-recruiting platforms are used and abused, without reference to
bountyguard's detectors, so that it can measure them. `generate(out)` writes `out/landing/<table>.csv`
(the contract's tables) and `out/truth/` (identities.csv, patterns.csv, payouts.csv, meta.json: the
format `bountyguard.evaluation.scores` scores). See README.md in this folder for what is labelled and why.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from .background import background
from .schemes import schemes
from .world import World
from .writer import write

__all__ = ["generate"]


def generate(out: Path, seed: int = 11, scale: float = 1.0, as_of: dt.date | str = dt.date(2026, 6, 30)) -> dict:
    """Write a labelled synthetic platform to `out`; returns rows per table, persons per pattern and
    expected decision counts. The same arguments give byte-identical files."""
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if scale <= 0:
        raise ValueError("scale must be positive")
    world = World(int(seed), float(scale), as_of)
    world.build_market()
    background(world)
    schemes(world)
    return write(world, Path(out))
