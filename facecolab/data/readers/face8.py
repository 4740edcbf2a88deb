"""Project 3: the Kaggle multiclass face set (18 source classes) merged to 8 classes.

Layout: ``<split>/images/<stem>.jpg|png`` and ``<split>/masks/<stem>.png`` (grey source ids in
``labels.FACE8_SOURCE_CLASSES`` order) for ``split`` in train, val (or validation), test.

Merging is data: ``labels.FACE8_MERGE`` maps source ids to the 8 classes and ids it leaves
out (hair, hat, neck, ...) go to background. The source order and the merge are
assumptions (the seed names only the kept ids); :func:`build_format` or a JSON file
(:func:`format_from_json`, ``--merge-table`` on the command line) replaces them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from facecolab.constants import IGNORE_INDEX
from facecolab.data.imageio import read_grey
from facecolab.data.labels import FACE8_MERGE, FACE8_SOURCE_CLASSES, remap
from facecolab.data.readers._folders import files_by_stem, pair_by_stem, split_folder
from facecolab.data.readers.base import DatasetFormat, Item
from facecolab.data.specs import CELEBAMASK_HQ_COLOURS, get_spec

SPEC = get_spec("face8")
SPLIT_DIRS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}


def list_items(root, split: str, seed: int = 0, fractions=None) -> list[Item]:
    """Items of one split folder; keys are ``<split>_<stem>`` (stems may repeat per split).
    A mask without its image (or the reverse) is listed with the missing file's expected
    path, so preparation reports it."""
    if split not in SPLIT_DIRS:
        raise ValueError(f"face8 splits are {tuple(SPLIT_DIRS)}, got {split!r}")
    folder = split_folder(Path(root), SPLIT_DIRS[split], f"face8 {split}")
    images = files_by_stem(split_folder(folder, ("images",), "face8 images"))
    masks = folder / "masks"
    listed = files_by_stem(masks, (".png",)) if masks.is_dir() else {}
    return pair_by_stem(
        images,
        listed,
        key=lambda stem: f"{split}_{stem}",
        missing_label=lambda stem: masks / f"{stem}.png",
        missing_image=lambda stem: folder / "images" / f"{stem}.jpg",
    )


def load_label(
    item: Item,
    table: Mapping[int, int] = FACE8_MERGE,
    unmapped: str = "background",
    num_source_classes: int = len(FACE8_SOURCE_CLASSES),
) -> np.ndarray:
    """Merged ids; source values outside ``0..num_source_classes - 1`` (and 255) are errors."""
    path = item.label_paths[0]
    source = read_grey(path)
    values = np.unique(source)
    bad = values[(values >= num_source_classes) & (values != IGNORE_INDEX)]
    if bad.size:
        raise ValueError(
            f"{path}: label values {bad.tolist()} are not source class ids "
            f"0..{num_source_classes - 1}"
        )
    return remap(source, table, unmapped)


def build_format(
    table: Mapping[int, int] = FACE8_MERGE,
    class_names: Sequence[str] | None = None,
    unmapped: str = "background",
    source_classes: Sequence[str] = FACE8_SOURCE_CLASSES,
) -> DatasetFormat:
    """A face8 format with another merge.

    Args:
        table: source id → merged id.
        class_names: merged class names (default: the 8 of ``specs.FACE8_CLASSES``).
        unmapped: ``"background"`` (0) or ``"ignore"`` (255) for source ids not in ``table``.
        source_classes: source class names in id order (their count bounds valid values).
    """
    names = tuple(class_names) if class_names else SPEC.class_names
    table = {int(k): int(v) for k, v in table.items()}
    bad = {k: v for k, v in table.items() if v >= len(names) and v != IGNORE_INDEX}
    if bad:
        raise ValueError(f"merge table targets {bad} are outside 0..{len(names) - 1} {names}")
    known = dict(zip(SPEC.class_names, SPEC.colours, strict=True))
    colours = tuple(
        known.get(name, CELEBAMASK_HQ_COLOURS[i % len(CELEBAMASK_HQ_COLOURS)])
        for i, name in enumerate(names)
    )
    merged = ", ".join(f"{k}->{v}" for k, v in sorted(table.items()))
    spec = replace(
        SPEC,
        class_names=names,
        colours=colours,
        layout=f"{SPEC.layout}; custom merge {{{merged}}}, unmapped ids -> {unmapped}",
    )
    label = partial(
        load_label, table=table, unmapped=unmapped, num_source_classes=len(source_classes)
    )
    return DatasetFormat(spec, tuple(SPLIT_DIRS), list_items, label)


def format_from_json(path) -> DatasetFormat:
    """A face8 format from a JSON merge file.

    The file holds ``{"table": {source: target, ...}}`` and optionally ``"class_names"``
    (merged names), ``"unmapped"`` (``"background"`` | ``"ignore"``) and
    ``"source_classes"``. Sources may be ids or source class names, targets ids or merged
    class names, e.g. ``{"class_names": ["background", "skin", "hair"],
    "table": {"skin": 1, "nose": 1, "hair": 2}, "unmapped": "ignore"}``.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        source_classes = tuple(data.get("source_classes", FACE8_SOURCE_CLASSES))
        names = tuple(data.get("class_names", SPEC.class_names))
        table = {
            _resolve(source, source_classes): _resolve(target, names)
            for source, target in data["table"].items()
        }
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: merge table file not found") from None
    except (json.JSONDecodeError, KeyError, AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: bad merge table ({error!s})") from None
    return build_format(table, names, data.get("unmapped", "background"), source_classes)


def _resolve(value, names: Sequence[str]) -> int:
    """An id given as a number, a numeric string or a class name."""
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    if value in names:
        return names.index(value)
    raise ValueError(f"{value!r} is neither an id nor one of {list(names)}")


FORMAT = DatasetFormat(SPEC, tuple(SPLIT_DIRS), list_items, load_label)
