"""Listing helpers shared by the folder-per-split layouts (face8, portrait, helen)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from facecolab.data.imageio import IMAGE_SUFFIXES
from facecolab.data.readers.base import Item
from facecolab.fsutil import input_folder


def files_by_stem(folder: Path, suffixes=IMAGE_SUFFIXES) -> dict[str, Path]:
    """``{stem: path}`` of the entries of ``folder`` with one of ``suffixes`` (one scan).

    Entries that are not folders all count, so a broken link is listed (and reported when
    read) rather than skipped. Two files with one stem (``a.jpg``, ``a.png``) are an error:
    which one is meant cannot be guessed.
    """
    with os.scandir(folder) as entries:
        paths = sorted(Path(e.path) for e in entries if not _is_folder(e))
    found: dict[str, Path] = {}
    for path in paths:
        if path.suffix.lower() not in suffixes:
            continue
        if path.stem in found:
            raise ValueError(f"{folder}: {found[path.stem].name} and {path.name} share a stem")
        found[path.stem] = path
    return found


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symbolic link loop: listed, then reported when read
        return False


def split_folder(root: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of ``root/<name>`` that exists, else an error naming the first (see
    ``fsutil.input_folder``)."""
    for name in names:
        if (root / name).is_dir():
            return root / name
    return input_folder(root / names[0], f"{what} folder")


def pair_by_stem(
    images: dict[str, Path],
    labels: dict[str, Path],
    key: Callable[[str], str],
    missing_label: Callable[[str], Path],
    missing_image: Callable[[str], Path],
) -> list[Item]:
    """One item per stem found on either side, in stem order. A side that is missing gets
    its expected path, so preparation reports the item by file instead of skipping it
    silently (a label without its image, an image without its label)."""
    return [
        Item(
            key(stem),
            images.get(stem) or missing_image(stem),
            (labels.get(stem) or missing_label(stem),),
        )
        for stem in sorted(images.keys() | labels.keys())
    ]
