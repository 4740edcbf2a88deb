"""argparse types for numeric options, so a bad value is a usage error naming the option
(exit 2) before any work (``--batch-size 0`` would otherwise write nothing and exit 0), and
the options several command lines share. Used by every command line (``facecolab``,
``data_prep/load_data.py``, the apps); imports only ``constants``."""

from __future__ import annotations

import argparse

from .constants import DEFAULT_THREADS


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer ≥ 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads``: CPU threads of a ``.tflite`` model (``facecolab.runner.tflite_runner``)."""
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"CPU threads of a .tflite model (default {DEFAULT_THREADS})",
    )
