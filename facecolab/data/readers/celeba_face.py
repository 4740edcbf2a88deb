"""Project 1's CelebA face / background set: three list files of image-mask pairs.

Layout: ``Train1000.txt``, ``Dev200.txt``, ``Test200.txt`` in the root (other names can be
given), each line
``image_path label_path``; image paths are relative to ``img_prefix`` and label paths to
``label_prefix`` (both default to the root, as the seed's IMG_PREFIX / LABEL_PREFIX).
Masks are grey: ``> 128`` is face (1), else background (0); masks already 0/1 also work.
"""

from __future__ import annotations

from pathlib import Path

from facecolab.data.imageio import read_grey
from facecolab.data.labels import threshold
from facecolab.data.readers.base import DatasetFormat, Item, require
from facecolab.data.specs import get_spec
from facecolab.fsutil import contained

SPEC = get_spec("celeba_face")
SPLIT_FILES = {"train": "Train1000.txt", "val": "Dev200.txt", "test": "Test200.txt"}


def list_items(
    root,
    split: str,
    seed: int = 0,
    fractions=None,
    img_prefix=None,
    label_prefix=None,
    train_file=None,
    val_file=None,
    test_file=None,
) -> list[Item]:
    """Items of one list file (``seed``/``fractions`` unused: the lists are the split).

    The keyword options mirror the seed's config keys (IMG_PREFIX, LABEL_PREFIX,
    TRAIN_FILE, VAL_FILE, TEST_FILE).

    Args:
        img_prefix: folder image paths are relative to (default ``root``).
        label_prefix: folder label paths are relative to (default ``root``).
        train_file, val_file, test_file: other list files (relative to ``root`` or absolute)
            instead of ``SPLIT_FILES``.
    """
    root = Path(root)
    if split not in SPLIT_FILES:
        raise ValueError(f"CelebA face splits are {tuple(SPLIT_FILES)}, got {split!r}")
    image_dir = Path(img_prefix) if img_prefix else root
    label_dir = Path(label_prefix) if label_prefix else root
    chosen = {"train": train_file, "val": val_file, "test": test_file}[split]
    list_path = require(root / (chosen or SPLIT_FILES[split]), f"CelebA face {split} list")
    items = []
    for line_no, line in enumerate(list_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(
                f"{list_path}:{line_no}: expected 'image_path label_path', got {line!r}"
            )
        where = f"{list_path}:{line_no}:"
        image_path = contained(image_dir, fields[0], f"{where} image path")
        label_path = contained(label_dir, fields[1], f"{where} label path")
        items.append(Item(image_path.stem, image_path, (label_path,)))
    return items


def load_label(item: Item):
    return threshold(read_grey(item.label_paths[0]))


FORMAT = DatasetFormat(SPEC, tuple(SPLIT_FILES), list_items, load_label)
