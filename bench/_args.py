"""Command-line value types the bench scripts share."""

from __future__ import annotations

import argparse


def seed_list(text: str) -> list[int]:
    """``--seeds 0,1,2``: distinct whole numbers, 0 or more (argparse exits 2 otherwise)."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated whole numbers, e.g. 0,1,2"
        ) from None
    if any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: seeds must be 0 or more")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: a seed is repeated")
    return seeds
