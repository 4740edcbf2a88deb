"""Which images a command reads from a path the user gave: a prepared folder's split, a
folder of images (less a dataset's label maps kept beside them), or one image.

:func:`select_inputs` is shared by ``predict``, ``uncertainty`` and ``export --compare``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facecolab.data.imageio import list_images
from facecolab.data.prepare import split_files
from facecolab.data.readers import FORMATS
from facecolab.data.readers.base import FolderNaming


@dataclass(frozen=True)
class InputImages:
    """What :func:`select_inputs` found.

    Attributes:
        paths: the images to predict, sorted.
        names: the output name of each (``<name>.png``): its stem, or its item id in a
            dataset folder (Helen's ``<id>_image.jpg`` → ``<id>``, which pairs with the ground
            truth ``<id>_label.png`` in ``facecolab.measures.score``).
        layout: the dataset whose folder naming was recognised, else ``None``.
        left_out: that dataset's label maps found beside the images (never predicted).
        prepared: the images of a prepared folder's split.
    """

    paths: list[Path]
    names: list[str]
    layout: str | None = None
    left_out: list[Path] = field(default_factory=list)
    prepared: bool = False

    @property
    def aligned(self) -> bool:
        """A dataset's images (prepared or in a recognised layout): aligned face crops
        already, so predicting needs no face detection."""
        return self.prepared or self.layout is not None


def dataset_layout(paths: Sequence[Path]) -> tuple[str, FolderNaming] | None:
    """The registered layout whose one-folder naming ``paths`` follow (some files tagged as
    its images, some as its label maps), else ``None``."""
    for name, fmt in FORMATS.items():
        if fmt.folder_naming is not None and fmt.folder_naming.matches(paths):
            return name, fmt.folder_naming
    return None


def select_inputs(path, split: str | None = None) -> InputImages:
    """The images to predict: those of a prepared folder's split ``split`` (a folder with
    ``dataset.json``), else ``imageio.list_images`` of ``path`` — less the label maps when the
    folder is a dataset's that keeps images and label maps together (Helen's ``train/`` and
    ``test/``): predicting a label map would write a "prediction" that scoring then pairs
    with the ground truth.

    Raises:
        ValueError: a prepared folder without ``split``, or ``split`` for another input.
        FileNotFoundError: no images (a dataset folder holding label maps only included).
    """
    if Path(path, "dataset.json").is_file():
        if split is None:
            raise ValueError(f"{path}: a prepared folder; say which split to predict (--split)")
        images = split_files(path, split)[0]
        return InputImages(images, [p.stem for p in images], prepared=True)
    if split is not None:
        raise ValueError(f"{path}: --split needs a prepared folder (with dataset.json)")
    images = list_images(path)
    found = dataset_layout(images) if Path(path).is_dir() else None
    if found is None:
        return InputImages(images, [p.stem for p in images])
    layout, naming = found
    kept = [p for p in images if not naming.is_label(p)]
    left_out = [p for p in images if naming.is_label(p)]
    return InputImages(kept, [naming.key(p) for p in kept], layout, left_out)


def input_images(path, split: str | None = None) -> list[Path]:
    """The paths of :func:`select_inputs`."""
    return select_inputs(path, split).paths
