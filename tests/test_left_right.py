"""One left/right convention: a left class is the subject's left, on the image's right.

Real CelebAMask-HQ maps set the convention (``facecolab/data/specs.py``); the bundled sample
must draw it the same way in every layout that keeps left and right classes, or models
trained on the real data score nothing on the sample's left/right classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecolab.data import get_spec
from facecolab.data.labels import FACE8_SOURCE_CLASSES
from facecolab.data.sample import TRUTH_TABLES, render_face, write_sample

REAL_FACES = 200  # the first faces of the shared subset; enough for a clear majority
SAMPLE_COUNT, SAMPLE_SIZE, SAMPLE_SEED = 10, 128, 0

PAIRS = (("l_eye", "r_eye"), ("l_brow", "r_brow"), ("l_ear", "r_ear"))

# (dataset, left class, right class) in the names of the dataset's raw label ids.
SAMPLE_CASES = [
    *(("celebamask_hq", left, right) for left, right in PAIRS),
    ("helen", "le", "re"),
    ("helen", "lb", "rb"),
    *(("face8", left, right) for left, right in PAIRS),  # the 18-class source ids
]

Masks = Callable[[str], np.ndarray]  # class name → bool (H, W) mask of one face


def _centre_x(mask: np.ndarray) -> float | None:
    xs = np.nonzero(mask)[1]
    return float(xs.mean()) if xs.size else None


def _part(path: Path, shape: tuple[int, int]) -> np.ndarray:
    if not path.exists():
        return np.zeros(shape, bool)
    grey = np.asarray(Image.open(path))
    return (grey[..., 0] if grey.ndim == 3 else grey) > 127


def _celebamask_faces(root: Path, limit: int | None = None) -> Iterator[tuple[str, Masks]]:
    """Part masks per face of a CelebAMask-HQ layout (``<n // 2000>/<n:05d>_<part>.png``)."""
    anno = root / "CelebAMask-HQ-mask-anno"
    stems = sorted({p.name.split("_")[0] for p in anno.glob("*/*_*.png")}, key=int)[:limit]
    for stem in stems:
        folder = anno / str(int(stem) // 2000)
        shape = np.asarray(Image.open(next(folder.glob(f"{stem}_*.png")))).shape[:2]
        yield (
            stem,
            lambda part, folder=folder, stem=stem, shape=shape: _part(
                folder / f"{stem}_{part}.png", shape
            ),
        )


def _id_map_faces(paths, class_names) -> Iterator[tuple[str, Masks]]:
    for path in sorted(paths):
        label = np.asarray(Image.open(path))
        yield path.name, lambda part, label=label: label == class_names.index(part)


def _sample_faces(name: str, root: Path) -> Iterator[tuple[str, Masks]]:
    if name == "celebamask_hq":
        return _celebamask_faces(root)
    if name == "helen":
        return _id_map_faces(root.glob("*/*_label.png"), get_spec("helen").class_names)
    if name == "face8":
        return _id_map_faces(root.glob("*/masks/*.png"), FACE8_SOURCE_CLASSES)
    raise AssertionError(f"no left/right case for {name}")


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    base = tmp_path_factory.mktemp("left_right")
    return {
        name: write_sample(name, base / name, SAMPLE_COUNT, SAMPLE_SIZE, SAMPLE_SEED)
        for name in {case[0] for case in SAMPLE_CASES}
    }


@pytest.mark.parametrize(("left", "right"), PAIRS)
def test_real_celebamask_marks_the_subjects_left_on_the_image_right(
    celebamask_mini_root, left, right
):
    on_right = counted = 0
    for _, masks in _celebamask_faces(celebamask_mini_root, REAL_FACES):
        centres = _centre_x(masks(left)), _centre_x(masks(right))
        if None not in centres:
            counted += 1
            on_right += centres[0] > centres[1]
    assert counted >= 20, f"only {counted} real maps hold both {left} and {right}"
    assert on_right / counted > 0.8, f"{left} right of {right} in {on_right} of {counted} maps"


@pytest.mark.parametrize(("name", "left", "right"), SAMPLE_CASES)
def test_sample_draws_the_subjects_left_on_the_image_right(samples, name, left, right):
    faces = list(_sample_faces(name, samples[name]))
    assert len(faces) == SAMPLE_COUNT
    for face, masks in faces:
        centres = _centre_x(masks(left)), _centre_x(masks(right))
        assert None not in centres, f"{name} {face}: {left} or {right} not drawn"
        assert centres[0] > centres[1], (
            f"{name} {face}: {left} at x={centres[0]:.1f}, {right} at x={centres[1]:.1f}"
        )


@pytest.mark.parametrize(
    ("name", "left", "right"),
    [
        ("celebamask_hq", "l_eye", "r_eye"),
        ("celebamask_hq", "l_brow", "r_brow"),
        ("helen", "le", "re"),
        ("helen", "lb", "rb"),
    ],
)
def test_flipped_sample_keeps_left_parts_on_the_image_right(name, left, right):
    spec = get_spec(name)
    ids = spec.class_names.index(left), spec.class_names.index(right)
    _, truth = render_face(0, 1, (96, 96))
    label = TRUTH_TABLES[name][truth]
    flipped = spec.flip_lut()[np.fliplr(label)]
    for mask in (label, flipped):
        centres = [np.nonzero(mask == i)[1].mean() for i in ids]
        assert centres[0] > centres[1]
    np.testing.assert_array_equal(
        np.bincount(flipped.ravel(), minlength=256)[list(ids)],
        np.bincount(label.ravel(), minlength=256)[list(ids[::-1])],
    )
