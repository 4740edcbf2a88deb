"""The reader contract: one ``DatasetFormat`` per raw on-disk layout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..specs import DatasetSpec

DEFAULT_FRACTIONS = (0.7, 0.2, 0.1)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Item:
    """One sample of a raw dataset.

    Attributes:
        key: unique, file-name-safe id; the stem of the prepared files.
        image_path: the RGB image.
        label_paths: the file(s) the label map is built from (several for CelebAMask-HQ).
    """

    key: str
    image_path: Path
    label_paths: tuple[Path, ...]


@dataclass(frozen=True)
class DatasetFormat:
    """How to list and decode one raw layout.

    ``list_items(root, split, seed, fractions)`` returns the items of a split (raising
    ``FileNotFoundError`` naming what is missing); ``load_label(item)`` returns its
    ``uint8 (H, W)`` label map in the spec's ids, raising ``ValueError`` naming the file on
    bad content. Both must be picklable module-level functions (prepare uses processes).
    """

    spec: DatasetSpec
    splits: tuple[str, ...]
    list_items: Callable[..., list[Item]]
    load_label: Callable[[Item], np.ndarray]


def read_image(path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB; raises ``ValueError`` naming the file if it cannot decode."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise
    except Exception as error:  # PIL raises several types for corrupt files
        raise ValueError(f"{path}: cannot read image ({error})") from error


def read_grey(path: Path) -> np.ndarray:
    """``uint8 (H, W)`` from a grey (or palette/RGB, first channel) PNG/JPEG mask."""
    try:
        with Image.open(path) as image:
            if image.mode in ("L", "P", "I", "I;16"):
                array = np.asarray(image)
            else:
                array = np.asarray(image.convert("RGB"))[..., 0]
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f"{path}: cannot read mask ({error})") from error
    if array.dtype != np.uint8:
        if array.max(initial=0) > 255:
            raise ValueError(f"{path}: mask values exceed 255")
        array = array.astype(np.uint8)
    return array


def read_rgb_mask(path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)`` colour mask (PPM or PNG)."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f"{path}: cannot read mask ({error})") from error


def seeded_split(keys: Sequence[str], split: str, seed: int, fractions) -> list[int]:
    """Indices of ``split`` in a seeded shuffle of ``keys`` cut by ``fractions`` (train, val,
    test). Sorting first makes the split independent of directory listing order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"split fractions must be three non-negative numbers summing to 1, got {fractions}"
        )
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    rng = np.random.default_rng(seed)
    order = [order[i] for i in rng.permutation(len(order))]
    n = len(order)
    n_train = round(fractions[0] * n)
    n_val = round(fractions[1] * n)
    bounds = {
        "train": (0, n_train),
        "val": (n_train, n_train + n_val),
        "test": (n_train + n_val, n),
    }
    start, stop = bounds[split]
    return order[start:stop]


def require(path: Path, what: str) -> Path:
    """``path`` if it exists, else ``FileNotFoundError`` saying what was expected there."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} not found")
    return path
