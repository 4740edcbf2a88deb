"""The reader contract: one ``DatasetFormat`` per raw on-disk layout."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from ..labels import Relabel, remap_lut
from ..specs import DatasetSpec, get_spec

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


def _decode(path: Path, what: str, to_array: Callable[[Image.Image], np.ndarray]) -> np.ndarray:
    """``to_array`` of the decoded file; ``ValueError`` naming the file if it cannot decode
    (PIL raises several types for corrupt files). A missing file stays ``FileNotFoundError``."""
    try:
        with Image.open(path) as image:
            image.load()
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f"{path}: cannot read {what} ({error})") from error
    return to_array(image)


# Integer modes wider than 8 bits (16-bit PNG/TIFF open as "I;16", 16-bit PGM as "I"): their
# values span 0..65535, which PIL's own convert("RGB") clips to 255 instead of scaling.
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def _wide_values(image: Image.Image, path: Path) -> np.ndarray:
    values = np.asarray(image).astype(np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise ValueError(
            f"{path}: {image.mode} image with values outside 0..65535 "
            f"({values.min()}..{values.max()}); save it as 8 or 16 bits"
        )
    return values


def _rgb(image: Image.Image, path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)``: 16-bit grey scaled to 8 bits (65535 → 255), float images
    refused (no agreed range), every other mode through PIL's conversion."""
    if image.mode in WIDE_MODES:
        grey = ((_wide_values(image, path) * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if image.mode == "F":
        raise ValueError(f"{path}: 32-bit float image; save it as 8 or 16-bit integers")
    try:
        return np.asarray(image.convert("RGB"))
    except ValueError as error:
        raise ValueError(f"{path}: cannot convert a {image.mode} image to RGB ({error})") from None


def _ids(image: Image.Image, path: Path, colours) -> np.ndarray:
    """``uint8 (H, W)`` class ids of a label map: one channel (grey, palette indices, 1-bit,
    16-bit holding ids); a colour image only when its channels agree (grey saved as RGB) or
    through ``colours`` (one exact colour per class)."""
    mode = image.mode
    if mode in WIDE_MODES:
        values = _wide_values(image, path)
        if values.max(initial=0) > 255:
            raise ValueError(f"{path}: mask values exceed 255")
        return values.astype(np.uint8)
    if mode in ("1", "L", "P"):
        return np.asarray(image).astype(np.uint8)
    if mode in ("LA", "PA"):
        return np.asarray(image)[..., 0]
    if mode not in ("RGB", "RGBA", "RGBX"):
        raise ValueError(f"{path}: {mode} image is not a label map (one channel of class ids)")
    rgb = np.asarray(image)[..., :3]
    if colours is not None:
        from ..labels import colours_to_ids

        return colours_to_ids(rgb, colours, str(path))
    differ = (rgb[..., 0] != rgb[..., 1]) | (rgb[..., 0] != rgb[..., 2])
    if differ.any():
        raise ValueError(
            f"{path}: colour image ({int(differ.sum())} pixels are not grey) where a label "
            "map of class ids in one channel is expected; convert its colours to ids first"
        )
    return rgb[..., 0].copy()


def read_image(path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB from any image file; raises ``ValueError`` naming the file if
    it cannot decode or its mode has no faithful 8-bit RGB (32-bit float)."""
    return _decode(path, "image", lambda image: _rgb(image, path))


def read_grey(path: Path, colours=None) -> np.ndarray:
    """``uint8 (H, W)`` class ids from a single-channel label map (grey, palette or 16-bit).

    Args:
        colours: class colours in id order; with them a colour label map is converted
            (every colour must be one of them). Without, a colour map whose channels differ
            is refused rather than read through one channel.
    """
    return _decode(path, "mask", lambda image: _ids(image, path, colours))


def read_rgb_mask(path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)`` colour mask (PPM or PNG)."""
    return read_image(path)


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
