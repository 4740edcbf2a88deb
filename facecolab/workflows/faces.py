"""Where the faces of a photo are cut out and pasted back, for models trained on aligned crops.

Face-parsing sets are tight crops around one face; a holiday photo or a webcam frame given
whole comes out wrong. ``facecolab.workflows.predict.parse_faces`` therefore detects the
faces (``facecolab.workflows.face_detection``), cuts a square around each as the model's
training set framed its faces (:data:`FRAMINGS`, :func:`framing_box`), parses each crop and
pastes the labels back (:func:`paste_labels`) into a label map of the photo's size; pixels
outside every crop are background. Without a face the whole photo is parsed and the result
says so (:class:`FaceParse` ``fallback``). Whole-photo models (P5's portraits,
:func:`framing_of` ``None``) and aligned inputs (dataset folders, ``--no-face-crop``) skip
all of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facecolab.data import SPECS
from facecolab.data.resize import place
from facecolab.data.specs import PERSON_CLASSES
from facecolab.workflows.face_detection import Face, FaceDetector

# How each training set frames its faces around BlazeFace's box: (crop side / box side,
# crop centre below the box centre in crop sides; negative: above), measured where they are
# used: medians over 40 aligned photos per set staged at 1/2, 1/3 and 1/5 of a 640×480
# photo, each face found as face_crops finds it (benchmarks/bench_face_detection.py
# --framing-only, "framing_in_photos" "used"; on the aligned photos themselves: 1.687,
# -0.112 and 2.326, -0.065, within 1 % of these since the refined box is scale-consistent).
FRAMINGS = {"lfw_parts": (2.335, -0.063), "celebamask_hq": (1.675, -0.113)}
# Label sets drawn on CelebAMask-HQ-like aligned crops (P1, P3, P4 relabel CelebAMask-HQ).
FRAMINGS |= {name: FRAMINGS["celebamask_hq"] for name in ("celeba_face", "face8", "helen")}
# P5's person / background sets: the person in the whole photo.
WHOLE_PHOTO_DATASETS = tuple(n for n, spec in SPECS.items() if spec.class_names == PERSON_CLASSES)


@dataclass(frozen=True)
class FaceParse:
    """What ``facecolab.workflows.predict.parse_faces`` found in one photo.

    Attributes:
        label: ``uint8 (H, W)`` class ids at the photo's size.
        faces: the detected faces (photo pixels), most confident first.
        crops: the ``(top, left, side)`` square parsed for each face.
        fallback: no face was found and the whole photo was parsed instead.
    """

    label: np.ndarray
    faces: tuple[Face, ...]
    crops: tuple[tuple[int, int, int], ...]
    fallback: bool


def framing_of(run_config: dict | None = None, dataset: str | None = None):
    """``(framing, shift)`` of the faces a model was trained on, from ``dataset`` or its
    training config's; ``None`` for a whole-photo model (portraits). Unknown: LFW's."""
    dataset = dataset or ((run_config or {}).get("data") or {}).get("dataset")
    if dataset in WHOLE_PHOTO_DATASETS:
        return None
    return FRAMINGS.get(dataset, FRAMINGS["lfw_parts"])


def framing_box(face: Face, framing: float, shift: float = 0.0) -> tuple[int, int, int]:
    """Square ``(top, left, side)`` around ``face``, ``framing`` times its longer side, its
    centre ``shift`` sides below the face centre (negative: above)."""
    side = max(1, int(round(max(face.height, face.width) * framing)))
    centre_y = face.top + face.height / 2 + shift * side
    centre_x = face.left + face.width / 2
    return int(round(centre_y - side / 2)), int(round(centre_x - side / 2)), side


def crop_square(image: np.ndarray, box) -> np.ndarray:
    """The ``(top, left, side)`` square of ``image``, zero-padded where it leaves the image."""
    top, left, side = box
    return place(image, (side, side), (-top, -left), 0)


def paste_square(array: np.ndarray, box, shape, fill=0) -> np.ndarray:
    """Inverse of :func:`crop_square`: ``array (side, side, …)`` on a ``shape[:2]`` canvas of
    ``fill`` (a label map: background 0; probabilities: a one-hot background)."""
    top, left, _ = box
    return place(array, shape[:2], (top, left), fill)


def face_crops(
    image: np.ndarray, detector: FaceDetector, framing
) -> tuple[tuple[Face, ...], list[tuple[int, int, int]]]:
    """``(faces, crop boxes)`` of ``image``, the crop of each face per ``framing``: each face
    found is detected again in its crop (``FaceDetector.refine``), so its box has the
    geometry of the aligned photos ``framing`` was measured on, and cropped per that box."""
    faces, boxes = [], []
    for face in detector.detect(image):
        refined = detector.refine(image, framing_box(face, *framing))
        face = face if refined is None else refined
        faces.append(face)
        boxes.append(framing_box(face, *framing))
    return tuple(faces), boxes


def paste_crops(crops: Sequence[np.ndarray], boxes, shape, fill, foreground) -> np.ndarray:
    """Per-crop maps ``(side, side, …)`` pasted at their ``(top, left, side)`` boxes on a
    ``shape[:2]`` canvas of ``fill``. Larger crops go first; a crop's ``foreground``
    (``bool (side, side)``, its face pixels) overwrites what lies below, its background only
    fills pixels no crop has covered, so overlapping crops never erase another face."""
    first = np.asarray(crops[0]) if len(crops) else np.zeros((1, 1), np.uint8)
    out = np.empty(tuple(shape[:2]) + first.shape[2:], first.dtype)
    out[...] = fill
    covered = np.zeros(shape[:2], bool)
    order = sorted(range(len(crops)), key=lambda i: -boxes[i][2])
    for i in order:
        inside = paste_square(np.ones(foreground[i].shape, bool), boxes[i], shape, False)
        take = paste_square(foreground[i], boxes[i], shape, False) | (inside & ~covered)
        out[take] = paste_square(crops[i], boxes[i], shape, 0)[take]
        covered |= inside
    return out


def paste_labels(labels: Sequence[np.ndarray], boxes, shape) -> np.ndarray:
    """``uint8 (H, W)``: each crop's ``uint8 (side, side)`` labels at its box (background 0
    elsewhere; :func:`paste_crops`)."""
    return paste_crops(labels, boxes, shape, 0, [label != 0 for label in labels])
