"""CelebAMask-HQ: 30 000 faces, one binary PNG per annotated part.

Layout: ``CelebA-HQ-img/<id>.jpg`` (1024², RGB) and
``CelebAMask-HQ-mask-anno/<id // 2000>/<id:05d>_<part>.png`` (512², 0/255) for each part the
face has (missing part files are normal). The 19-class map paints the parts in label order,
later over earlier (so hair covers skin, lips cover skin, ...).

Split: CelebA's official partition when both ``CelebA-HQ-to-CelebA-mapping.txt`` (shipped
with CelebAMask-HQ) and CelebA's ``list_eval_partition.txt`` (or ``.csv``) are in the root;
otherwise a seeded split by ``fractions``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from facecolab.data.imageio import read_grey
from facecolab.data.labels import threshold
from facecolab.data.readers.base import DatasetFormat, Item, require, seeded_split
from facecolab.data.specs import get_spec

SPEC = get_spec("celebamask_hq")
IMAGE_DIR = "CelebA-HQ-img"
PARTS_DIR = "CelebAMask-HQ-mask-anno"
MAPPING_FILE = "CelebA-HQ-to-CelebA-mapping.txt"
PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
PARTITION_SPLITS = {"train": 0, "val": 1, "test": 2}
PARTS = SPEC.class_names[1:]  # file-name suffixes; id = position + 1


def _image_ids(root: Path) -> list[int]:
    """Sorted ids of ``CelebA-HQ-img/<id>.jpg`` (one directory scan, no per-item stat)."""
    folder = require(root / IMAGE_DIR, "CelebAMask-HQ image folder")
    with os.scandir(folder) as entries:
        stems = [Path(e.name).stem for e in entries if e.name.lower().endswith(".jpg")]
    return sorted(int(stem) for stem in stems if stem.isdigit())


def _numbered_rows(path: Path, columns: int) -> list[list[str]]:
    """Rows of a whitespace- or comma-separated table, skipping a header line."""
    rows = []
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.replace(",", " ").split()
        if not fields:
            continue
        if line_no == 1 and not (len(fields) > 1 and fields[1].isdigit()):
            continue  # header: data rows have a number in the second column
        if len(fields) < columns:
            raise ValueError(f"{path}:{line_no}: expected {columns} columns, got {line!r}")
        rows.append(fields)
    return rows


def official_partition(root: Path) -> dict[int, int] | None:
    """CelebA-HQ id → CelebA partition (0 train, 1 val, 2 test), or ``None`` when either
    file is missing. CelebA file names are matched by number, so zero padding may differ."""
    mapping_path = root / MAPPING_FILE
    partition_path = next((root / f for f in PARTITION_FILES if (root / f).exists()), None)
    if not mapping_path.exists() or partition_path is None:
        return None
    partition = {
        int(Path(name).stem): int(part) for name, part, *_ in _numbered_rows(partition_path, 2)
    }
    result = {}
    for hq_id, _, orig_file, *_ in _numbered_rows(mapping_path, 3):
        number = int(Path(orig_file).stem)
        if number not in partition:
            raise ValueError(
                f"{partition_path}: no partition for CelebA image {orig_file} "
                f"(CelebA-HQ id {hq_id} in {mapping_path.name})"
            )
        result[int(hq_id)] = partition[number]
    return result


def list_items(root, split: str, seed: int = 0, fractions=(0.7, 0.2, 0.1)) -> list[Item]:
    """Items of ``split``; ``label_paths`` holds the id's part folder (parts are found at
    load time, so listing 30 000 items costs one directory scan)."""
    root = Path(root)
    if split not in PARTITION_SPLITS:
        raise ValueError(f"CelebAMask-HQ splits are {tuple(PARTITION_SPLITS)}, got {split!r}")
    ids = _image_ids(root)
    partition = official_partition(root)
    if partition is None:
        keys = [f"{i:05d}" for i in ids]
        chosen = [ids[i] for i in seeded_split(keys, split, seed, fractions)]
    else:
        missing = [i for i in ids if i not in partition]
        if missing:
            raise ValueError(f"{root / MAPPING_FILE}: no entry for CelebA-HQ ids {missing[:5]}")
        chosen = [i for i in ids if partition[i] == PARTITION_SPLITS[split]]
    return [
        Item(f"{i:05d}", root / IMAGE_DIR / f"{i}.jpg", (root / PARTS_DIR / str(i // 2000),))
        for i in chosen
    ]


def load_label(item: Item) -> np.ndarray:
    """``uint8 (512, 512)`` ids: every existing part painted in label order."""
    folder = item.label_paths[0]
    number = int(item.image_path.stem)
    label = None
    for class_id, part in enumerate(PARTS, 1):
        path = folder / f"{number:05d}_{part}.png"
        try:
            mask = threshold(read_grey(path)).astype(bool)
        except FileNotFoundError:
            continue
        if label is None:
            label = np.zeros(mask.shape, dtype=np.uint8)
        elif mask.shape != label.shape:
            raise ValueError(
                f"{path}: part mask size {mask.shape[::-1]} differs from the "
                f"other parts' {label.shape[::-1]}"
            )
        label[mask] = class_id
    if label is None:
        raise FileNotFoundError(f"{folder / f'{number:05d}_*.png'}: no part masks found")
    return label


FORMAT = DatasetFormat(SPEC, tuple(PARTITION_SPLITS), list_items, load_label)
