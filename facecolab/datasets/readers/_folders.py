"""Listing helpers shared by the folder-per-split layouts (face8, portrait, helen)."""

from __future__ import annotations

import os
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def files_by_stem(folder: Path, suffixes=IMAGE_SUFFIXES) -> dict[str, Path]:
    """``{stem: path}`` of the files in ``folder`` with one of ``suffixes`` (one scan)."""
    with os.scandir(folder) as entries:
        paths = [Path(e.path) for e in entries if e.is_file()]
    return {p.stem: p for p in sorted(paths) if p.suffix.lower() in suffixes}


def split_folder(root: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of ``root/<name>`` that exists, else ``FileNotFoundError`` naming them."""
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"{root / names[0]}: {what} folder not found")
