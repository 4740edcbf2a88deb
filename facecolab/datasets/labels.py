"""Label-map conversions shared by every reader: remap tables, colour masks, thresholds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .specs import IGNORE_INDEX

# Project 3: the 18-class source order is not published with the seed; this order is an
# assumption (documented in the README) and the table is plain data a user may edit.
FACE8_SOURCE_CLASSES = (
    "background",
    "skin",
    "l_brow",
    "r_brow",
    "l_eye",
    "r_eye",
    "nose",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "earring",
    "l_ear",
    "r_ear",
    "neck",
    "eye_g",
    "cloth",
)
FACE8_MERGE: dict[int, int] = {
    0: 0,  # background
    1: 1,  # skin
    2: 2,
    3: 2,  # l_brow + r_brow -> eyebrows
    4: 3,
    5: 3,  # l_eye + r_eye -> eyes
    6: 4,  # nose
    7: 5,
    8: 5,
    9: 5,  # mouth + lips -> mouth
    13: 6,
    14: 6,  # l_ear + r_ear -> ears
    16: 7,  # eye_g -> glasses
}


def remap_lut(table: Mapping[int, int], unmapped: str = "background") -> np.ndarray:
    """``uint8 (256,)`` lookup table for :func:`remap`.

    Args:
        table: source id → new id.
        unmapped: where ids missing from ``table`` go: ``"background"`` (0) or ``"ignore"``
            (255). The ignore value itself always stays 255.
    """
    if unmapped not in ("background", "ignore"):
        raise ValueError(f"unmapped must be 'background' or 'ignore', got {unmapped!r}")
    fill = 0 if unmapped == "background" else IGNORE_INDEX
    lut = np.full(256, fill, dtype=np.uint8)
    lut[IGNORE_INDEX] = IGNORE_INDEX
    for source, target in table.items():
        if not (0 <= int(source) < 256 and 0 <= int(target) < 256):
            raise ValueError(f"remap table entry {source} -> {target} is outside 0..255")
        lut[int(source)] = int(target)
    return lut


def remap(label: np.ndarray, table: Mapping[int, int], unmapped: str = "background"):
    """Map every id of a ``uint8`` label map through ``table`` (one generic LUT remap)."""
    return remap_lut(table, unmapped)[np.asarray(label, dtype=np.uint8)]


def threshold(grey: np.ndarray, level: int = 128) -> np.ndarray:
    """Binary ids from a grey mask: ``> level`` → 1. Masks already 0/1 stay as they are."""
    grey = np.asarray(grey)
    if grey.ndim == 3:
        grey = grey[..., 0]
    if grey.max(initial=0) <= 1:
        return grey.astype(np.uint8)
    return (grey > level).astype(np.uint8)


def colours_to_ids(
    rgb: np.ndarray, colours: Sequence[Sequence[int]], source: str = "mask"
) -> np.ndarray:
    """``uint8 (H, W)`` ids from an ``(H, W, 3)`` colour mask with one exact colour per class.

    Raises:
        ValueError: naming ``source`` and the first unknown colours, if any pixel matches no
            class colour.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] < 3:
        raise ValueError(f"{source}: expected an RGB colour mask, got shape {rgb.shape}")
    packed = rgb[..., 0].astype(np.int32) << 16 | rgb[..., 1].astype(np.int32) << 8 | rgb[..., 2]
    ids = np.full(packed.shape, IGNORE_INDEX, dtype=np.uint8)
    for class_id, (r, g, b) in enumerate(colours):
        ids[packed == (r << 16 | g << 8 | b)] = class_id
    unknown = ids == IGNORE_INDEX
    if unknown.any():
        bad = np.unique(rgb[unknown][:, :3], axis=0)[:5].tolist()
        raise ValueError(
            f"{source}: {int(unknown.sum())} pixels have colours outside the label set, e.g. {bad}"
        )
    return ids


def check_ids(label: np.ndarray, num_classes: int, source: str = "mask") -> np.ndarray:
    """Return ``label`` if every value is a class id or 255, else raise naming ``source``."""
    values = np.unique(label)
    bad = values[(values >= num_classes) & (values != IGNORE_INDEX)]
    if bad.size:
        raise ValueError(
            f"{source}: label values {bad.tolist()} are outside 0..{num_classes - 1} (and 255)"
        )
    return label
