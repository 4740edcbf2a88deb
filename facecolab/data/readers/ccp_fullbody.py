"""Clothing Co-Parsing full-body photos with person masks (``../shared/data/ccp_fullbody``).

Layout: ``images/ccp_NNNN.jpg`` and ``masks/ccp_NNNN.png`` (uint8, 0 background, 1 person), one
standing person per photo, head to feet. Bystanders are not labelled: about 4 in 10 photos
show small pedestrians marked as background, which would teach a model to ignore small
people. So the label map keeps the mask only inside the labelled person's box grown by
``BOX_MARGIN`` of its size on every side and is ignore (255) outside it: the loss never sees
the unlabelled bystanders, and the portrait augmentation's background swap fills that region
with another photo's background (``facecolab.data.augment``). Validation is a seeded
``VAL_FRACTION`` of the photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facecolab.constants import IGNORE_INDEX
from facecolab.data.imageio import read_grey
from facecolab.data.readers.base import DatasetFormat, Item, carve_val, require
from facecolab.data.specs import get_spec

SPEC = get_spec("ccp_fullbody")
VAL_FRACTION = 0.1
BOX_MARGIN = 0.1


def list_items(root, split: str, seed: int = 0, fractions=None) -> list[Item]:
    """Items of ``train`` or ``val`` (``fractions`` unused: val is a seeded tenth)."""
    root = Path(root)
    if split not in FORMAT.splits:
        raise ValueError(f"ccp_fullbody splits are {FORMAT.splits}, got {split!r}")
    images = sorted(require(root / "images", "CCP images folder").glob("*.jpg"))
    masks = require(root / "masks", "CCP masks folder")
    items = [Item(path.stem, path, (masks / f"{path.stem}.png",)) for path in images]
    return carve_val(items, split, seed, VAL_FRACTION)


def person_box_only(mask: np.ndarray, margin: float = BOX_MARGIN) -> np.ndarray:
    """``mask`` (0/1) with everything outside the person's box, grown by ``margin`` of the
    box's height and width, set to ignore; a mask without a person is all ignore."""
    rows, cols = np.nonzero(mask)
    label = np.full(mask.shape, IGNORE_INDEX, np.uint8)
    if rows.size == 0:
        return label
    grow_y = int(round(margin * (rows.max() - rows.min() + 1)))
    grow_x = int(round(margin * (cols.max() - cols.min() + 1)))
    top, bottom = max(rows.min() - grow_y, 0), rows.max() + grow_y + 1
    left, right = max(cols.min() - grow_x, 0), cols.max() + grow_x + 1
    label[top:bottom, left:right] = mask[top:bottom, left:right]
    return label


def load_label(item: Item) -> np.ndarray:
    mask = read_grey(item.label_paths[0])
    if mask.max() > 1:
        raise ValueError(f"{item.label_paths[0]}: expected 0/1 person masks, found {mask.max()}")
    return person_box_only(mask)


FORMAT = DatasetFormat(SPEC, ("train", "val"), list_items, load_label)
