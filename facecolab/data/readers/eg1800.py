"""Project 5: EG1800 as released with PortraitNet.

Layout: ``Images/<id>.<ext>`` and ``Labels/<id>.png`` (masks 0/1 or 0/255) with the lists
``eg1800_train.txt`` (1447) and ``eg1800_test.txt`` (289), one file name per line. Image and
mask are paired by stem: PortraitNet's release stores both as ``.png``, the Shen et al.
originals are ``.jpg`` images beside ``.png`` masks. Validation is a seeded ``VAL_FRACTION``
of the train list.
"""

from __future__ import annotations

from pathlib import Path

from facecolab.data.imageio import read_grey
from facecolab.data.labels import threshold
from facecolab.data.readers.base import DatasetFormat, Item, carve_val, require
from facecolab.data.specs import get_spec

SPEC = get_spec("eg1800")
LIST_FILES = {"train": "eg1800_train.txt", "val": "eg1800_train.txt", "test": "eg1800_test.txt"}
VAL_FRACTION = 0.1
SUFFIXES = (".png", ".jpg", ".jpeg")


def list_items(root, split: str, seed: int = 0, fractions=None) -> list[Item]:
    """Items of ``split`` (``fractions`` unused: the lists are the split)."""
    root = Path(root)
    if split not in LIST_FILES:
        raise ValueError(f"EG1800 splits are {tuple(LIST_FILES)}, got {split!r}")
    list_path = require(root / LIST_FILES[split], f"EG1800 {split} list")
    names = [Path(line.strip()).name for line in list_path.read_text().splitlines() if line.strip()]
    items = [
        Item(Path(name).stem, _by_stem(root / "Images", name), (_by_stem(root / "Labels", name),))
        for name in names
    ]
    if split == "test":
        return items
    return carve_val(items, split, seed, VAL_FRACTION)


def _by_stem(folder: Path, name: str) -> Path:
    """The file of ``folder`` with the stem of ``name``: the listed name itself if present,
    else the first of ``SUFFIXES`` that exists (else the listed name, reported as missing)."""
    listed = folder / name
    if listed.exists():
        return listed
    for suffix in SUFFIXES:
        candidate = folder / f"{Path(name).stem}{suffix}"
        if candidate.exists():
            return candidate
    return listed


def load_label(item: Item):
    return threshold(read_grey(item.label_paths[0]))


FORMAT = DatasetFormat(SPEC, tuple(LIST_FILES), list_items, load_label)
