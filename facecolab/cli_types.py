"""argparse types for numeric and name options, so a bad value is a usage error naming the
option (exit 2) before any work: ``--batch-size 0`` would otherwise write nothing and exit 0,
``--split ../x`` name an output outside its folder."""

from __future__ import annotations

import argparse


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


def split_name(text: str) -> str:
    """A split name (``train``, ``val``, ``test``, ...), never a path."""
    from .datasets.splits import check_split_name

    try:
        return check_split_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
