"""The reader contract: one ``DatasetFormat`` per raw on-disk layout."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from facecolab.data.labels import Relabel, remap_lut
from facecolab.data.specs import DatasetSpec, get_spec

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
class FolderNaming:
    """How a layout that keeps an item's image and label map in one folder tells them apart
    (Helen: ``<id>_image.jpg`` beside ``<id>_label.png``): by a tag at the end of the stem."""

    image_tag: str
    label_tag: str

    def is_label(self, path: Path) -> bool:
        return Path(path).stem.endswith(self.label_tag)

    def key(self, path: Path) -> str:
        """The item id of an image or label file: its stem without the tag."""
        stem = Path(path).stem
        for tag in (self.image_tag, self.label_tag):
            if stem.endswith(tag):
                return stem.removesuffix(tag)
        return stem

    def matches(self, paths) -> bool:
        """Whether files named ``paths`` follow this naming: some tagged as images, some as
        label maps."""
        stems = [Path(p).stem for p in paths]
        return any(s.endswith(self.image_tag) for s in stems) and any(
            s.endswith(self.label_tag) for s in stems
        )


@dataclass(frozen=True)
class DatasetFormat:
    """How to list and decode one raw layout.

    ``list_items(root, split, seed, fractions)`` returns the items of a split (raising
    ``FileNotFoundError`` naming what is missing); ``load_label(item)`` returns its
    ``uint8 (H, W)`` label map in the spec's ids, raising ``ValueError`` naming the file on
    bad content. Both must be picklable module-level functions (prepare uses processes).
    ``folder_naming``: set when images and label maps share a folder, so that a folder of
    the layout given as images to predict on yields its images only.
    """

    spec: DatasetSpec
    splits: tuple[str, ...]
    list_items: Callable[..., list[Item]]
    load_label: Callable[[Item], np.ndarray]
    folder_naming: FolderNaming | None = None


def _relabelled_label(item: Item, load_label, lut: np.ndarray) -> np.ndarray:
    return lut[load_label(item)]


def relabelled(fmt: DatasetFormat, relabel: Relabel) -> DatasetFormat:
    """``fmt`` with its label maps sent through ``relabel``'s table and the target spec.

    Raises:
        ValueError: the table reads another label set than ``fmt``'s.
    """
    if relabel.source != fmt.spec.name:
        raise ValueError(
            f"relabel table {relabel.name!r} maps {relabel.source} ids; "
            f"{fmt.spec.name} has its own label set"
        )
    lut = remap_lut(relabel.table, unmapped="ignore")
    return replace(
        fmt,
        spec=get_spec(relabel.target),
        load_label=partial(_relabelled_label, load_label=fmt.load_label, lut=lut),
    )


def check_fractions(fractions) -> tuple[float, float, float]:
    """``fractions`` as three floats (train, val, test), or ``ValueError`` unless they are
    non-negative and sum to 1."""
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        values = ()
    finite = all(math.isfinite(v) for v in values)
    if len(values) != 3 or not finite or min(values) < 0 or abs(sum(values) - 1) > 1e-6:
        raise ValueError(
            f"split fractions must be three non-negative numbers summing to 1, got {fractions}"
        )
    return values


def seeded_split(keys: Sequence[str], split: str, seed: int, fractions) -> list[int]:
    """Indices of ``split`` in a seeded shuffle of ``keys`` cut by ``fractions`` (train, val,
    test). Sorting first makes the split independent of directory listing order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    fractions = check_fractions(fractions)
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


def carve_val(items: list[Item], split: str, seed: int, val_fraction: float) -> list[Item]:
    """The ``train`` or ``val`` part of ``items`` (layouts whose release has no val split): a
    seeded ``val_fraction`` of them is val; both keep the listing order."""
    keys = [item.key for item in items]
    keep = seeded_split(keys, split, seed, (1 - val_fraction, val_fraction, 0))
    return [items[i] for i in sorted(keep)]


def require(path: Path, what: str) -> Path:
    """``path`` if it exists, else ``FileNotFoundError`` saying what was expected there."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} not found")
    return path
