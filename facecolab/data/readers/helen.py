"""Project 4: Helen as relabelled by Lin et al. (11 classes, grey id masks).

Layout: ``<id>_image.jpg`` + ``<id>_label.png`` (grey ids 0-10) and ``label_names.txt``
(``bg face lb rb le re nose ulip imouth llip hair``). The official train (1999) / test (100)
split is either two folders ``train/`` and ``test/`` holding the pairs (the release), or two
lists ``train.txt`` / ``test.txt`` of ids (last field of each line, so Helen's
``1 , 100032540_1`` lines work too) with the pairs in the root. Validation is a seeded
``VAL_FRACTION`` of train.
"""

from __future__ import annotations

from pathlib import Path

from facecolab.data.imageio import read_grey
from facecolab.data.readers._folders import files_by_stem, pair_by_stem
from facecolab.data.readers.base import DatasetFormat, FolderNaming, Item, carve_val
from facecolab.data.specs import get_spec
from facecolab.fsutil import contained

SPEC = get_spec("helen")
LABEL_NAMES_FILE = "label_names.txt"
SOURCES = {"train": "train", "val": "train", "test": "test"}
NAMING = FolderNaming(image_tag="_image", label_tag="_label")
VAL_FRACTION = 0.1


def check_label_names(path: Path) -> None:
    """Raise ``ValueError`` naming ``path`` unless it lists exactly the Helen class names."""
    names = tuple(path.read_text().split())
    if names != SPEC.class_names:
        diff = next(
            (
                f"position {i}: {got!r} instead of {want!r}"
                for i, (got, want) in enumerate(zip(names, SPEC.class_names, strict=False))
                if got != want
            ),
            f"{len(names)} names instead of {SPEC.num_classes}",
        )
        raise ValueError(
            f"{path}: label names {' '.join(names)!r} do not match the expected "
            f"{' '.join(SPEC.class_names)!r} ({diff})"
        )


def _label_names_path(root: Path, source: str) -> Path:
    for path in (root / LABEL_NAMES_FILE, root / source / LABEL_NAMES_FILE):
        if path.exists():
            return path
    raise FileNotFoundError(f"{root / LABEL_NAMES_FILE}: Helen label names file not found")


def _source_items(root: Path, source: str) -> list[Item]:
    folder, list_path = root / source, root / f"{source}.txt"
    if folder.is_dir():
        files = files_by_stem(folder)
        images = {NAMING.key(p): p for s, p in files.items() if s.endswith(NAMING.image_tag)}
        labels = {NAMING.key(p): p for s, p in files.items() if s.endswith(NAMING.label_tag)}
        return pair_by_stem(
            images,
            labels,
            key=str,
            missing_label=lambda i: folder / f"{i}_label.png",
            missing_image=lambda i: folder / f"{i}_image.jpg",
        )
    if list_path.exists():
        items = []
        for number, line in enumerate(list_path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            item = line.replace(",", " ").split()[-1]
            # An id is a file-name stem in the root: '../x' or '/x' would read elsewhere.
            where = f"{list_path} line {number}: id {item!r}"
            image = contained(root, f"{item}_image.jpg", where)
            items.append(Item(item, image, (contained(root, f"{item}_label.png", where),)))
        return items
    raise FileNotFoundError(f"{folder}: Helen {source} folder (or {list_path.name}) not found")


def list_items(root, split: str, seed: int = 0, fractions=None) -> list[Item]:
    """Items of ``split``; checks ``label_names.txt`` first (``fractions`` unused)."""
    root = Path(root)
    if split not in SOURCES:
        raise ValueError(f"Helen splits are {tuple(SOURCES)}, got {split!r}")
    source = SOURCES[split]
    check_label_names(_label_names_path(root, source))
    items = _source_items(root, source)
    if source == "test":
        return items
    return carve_val(items, split, seed, VAL_FRACTION)


def load_label(item: Item):
    return read_grey(item.label_paths[0])


FORMAT = DatasetFormat(SPEC, tuple(SOURCES), list_items, load_label, folder_naming=NAMING)
