"""LFW Part Labels: funneled LFW images with background / skin / hair colour masks.

Layout (official): ``lfw_funneled/<Name>/<Name>_<NNNN>.jpg`` (250², RGB),
``parts_lfw_funneled_gt_images/<Name>_<NNNN>.ppm`` (or ``.png``; colours (0,0,255)
background, (0,255,0) skin, (255,0,0) hair), and split lists ``parts_train.txt``,
``parts_validation.txt``, ``parts_test.txt`` with one ``<Name> <N>`` per line.
"""

from __future__ import annotations

from pathlib import Path

from facecolab.data.imageio import colours_to_ids, read_image
from facecolab.data.readers.base import DatasetFormat, Item, require
from facecolab.data.specs import get_spec
from facecolab.fsutil import contained

SPEC = get_spec("lfw_parts")
SPLIT_FILES = {"train": "parts_train.txt", "val": "parts_validation.txt", "test": "parts_test.txt"}
MASK_SUFFIXES = (".ppm", ".png")


def list_items(root, split: str, seed: int = 0, fractions=None) -> list[Item]:
    """Items of an official split (``seed``/``fractions`` unused: the lists are fixed)."""
    root = Path(root)
    if split not in SPLIT_FILES:
        raise ValueError(f"LFW Part Labels splits are {tuple(SPLIT_FILES)}, got {split!r}")
    list_path = require(root / SPLIT_FILES[split], f"LFW Part Labels {split} list")
    masks = root / "parts_lfw_funneled_gt_images"
    items = []
    for line_no, line in enumerate(list_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{list_path}:{line_no}: expected '<Name> <N>', got {line!r}")
        name, number = parts[0], int(parts[1])
        stem = f"{name}_{number:04d}"
        contained(masks, stem, f"{list_path}:{line_no}: name")
        mask = next(
            (masks / (stem + s) for s in MASK_SUFFIXES if (masks / (stem + s)).exists()),
            masks / (stem + MASK_SUFFIXES[0]),
        )
        image = contained(
            root / "lfw_funneled", f"{name}/{stem}.jpg", f"{list_path}:{line_no}: name"
        )
        items.append(Item(stem, image, (mask,)))
    return items


def load_label(item: Item):
    path = item.label_paths[0]
    return colours_to_ids(read_image(path), SPEC.colours, str(path))


FORMAT = DatasetFormat(SPEC, tuple(SPLIT_FILES), list_items, load_label)
