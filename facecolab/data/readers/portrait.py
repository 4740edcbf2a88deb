"""Project 5: portraits of Shen et al. (2016), randomly cropped to 512² by the seed.

Layout: ``train|val/data/<stem>.<ext>`` images and ``train|val/label_1/<stem>.<ext>`` masks
matched by stem; masks are 0/1 (they look black) or 0/255, both read as person = 1.
"""

from __future__ import annotations

from pathlib import Path

from facecolab.data.imageio import read_grey
from facecolab.data.labels import threshold
from facecolab.data.readers._folders import files_by_stem, pair_by_stem, split_folder
from facecolab.data.readers.base import DatasetFormat, Item
from facecolab.data.specs import get_spec

SPEC = get_spec("portrait")
SPLITS = ("train", "val")


def list_items(root, split: str, seed: int = 0, fractions=None) -> list[Item]:
    """Items of one split folder; keys are ``<split>_<stem>``; a missing mask or image is
    kept as its expected path (``label_1/<stem>.png``, ``data/<stem>.jpg``) so that
    preparation reports it."""
    if split not in SPLITS:
        raise ValueError(f"portrait splits are {SPLITS}, got {split!r}")
    folder = split_folder(Path(root), (split,), f"portrait {split}")
    images = files_by_stem(split_folder(folder, ("data",), "portrait images"))
    masks = files_by_stem(split_folder(folder, ("label_1",), "portrait masks"))
    return pair_by_stem(
        images,
        masks,
        key=lambda stem: f"{split}_{stem}",
        missing_label=lambda stem: folder / "label_1" / f"{stem}.png",
        missing_image=lambda stem: folder / "data" / f"{stem}.jpg",
    )


def load_label(item: Item):
    return threshold(read_grey(item.label_paths[0]))


FORMAT = DatasetFormat(SPEC, SPLITS, list_items, load_label)
