"""Parse a face in an ordinary photo with a model trained on aligned face crops.

Face-parsing sets such as LFW Part Labels are crops around a face detection expanded 2.2×
(LFW's own framing). A photo is therefore parsed by detecting the face (scikit-image's
bundled LBP cascade), cutting the same framing, predicting on the crop and pasting the label
map back; pixels outside the crop are background.
"""

from __future__ import annotations

import numpy as np

from facecolab.data.resize import place, resize_image
from facecolab.modelfiles.runner import model_input_size
from facecolab.workflows.predict import predict_labels
from facecolab.workflows.uncertainty import MCResult, predict_mc

LFW_FRAMING = 2.2
# How each training set frames its faces: (crop side / detection box side, vertical shift of
# the crop centre in crop sides). CelebAMask-HQ's aligned crops, measured with this detector
# on 28 faces of CelebAMask-HQ mini: the box is 1/1.61 of the image and centred at 0.548 of
# its height, so the crop centre sits 0.05 crop sides above the face centre.
FRAMINGS = {"lfw_parts": (LFW_FRAMING, 0.0), "celebamask_hq": (1.6, -0.05)}


def detect_face(image: np.ndarray, min_size: int = 40) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the largest frontal face in ``uint8 (H, W, 3)``.

    Raises:
        ValueError: if no face is found.
    """
    from skimage import data
    from skimage.feature import Cascade

    detector = Cascade(data.lbp_frontal_face_cascade_filename())
    side = min(image.shape[:2])
    faces = detector.detect_multi_scale(
        img=image,
        scale_factor=1.2,
        step_ratio=1,
        min_size=(min_size, min_size),
        max_size=(side, side),
    )
    if not faces:
        raise ValueError("no frontal face found in the photo")
    face = max(faces, key=lambda f: f["width"] * f["height"])
    return face["r"], face["c"], face["height"], face["width"]


def framing_box(face_box, framing: float = LFW_FRAMING, shift: float = 0.0) -> tuple[int, int, int]:
    """Square ``(top, left, side)`` around a face box, ``framing`` times its size, its centre
    ``shift`` sides below the face centre (negative: above)."""
    top, left, height, width = face_box
    side = int(round(max(height, width) * framing))
    centre_y, centre_x = top + height / 2 + shift * side, left + width / 2
    return int(round(centre_y - side / 2)), int(round(centre_x - side / 2)), side


def crop_square(image: np.ndarray, box) -> np.ndarray:
    """The ``(top, left, side)`` square of ``image``, zero-padded where it leaves the image."""
    top, left, side = box
    return place(image, (side, side), (-top, -left), 0)


def paste_square(label: np.ndarray, box, shape) -> np.ndarray:
    """Inverse of :func:`crop_square` for a label map: background (0) outside the box."""
    top, left, _ = box
    return place(label, shape[:2], (top, left), 0)


def framing_of(run_config: dict | None) -> tuple[float, float]:
    """``(framing, shift)`` of the faces a model was trained on (its training config's
    dataset in :data:`FRAMINGS`; LFW's framing when unknown)."""
    dataset = ((run_config or {}).get("data") or {}).get("dataset")
    return FRAMINGS.get(dataset, FRAMINGS["lfw_parts"])


def parse_photo(model, image: np.ndarray, framing: float = LFW_FRAMING, shift: float = 0.0):
    """``(label uint8 (H, W), box)`` for the largest face of a photo of any size, cropped as
    the model's training faces were (``framing``, ``shift``: :func:`framing_box`)."""
    box = framing_box(detect_face(image), framing, shift)
    crop = crop_square(image, box)
    (label,) = predict_labels(model, [crop])
    return paste_square(label, box, image.shape), box


def photo_uncertainty(
    model, image: np.ndarray, samples: int = 50, framing: float = LFW_FRAMING, shift: float = 0.0
) -> tuple[np.ndarray, MCResult]:
    """Monte-Carlo dropout over the largest face of a photo, framed as :func:`parse_photo`
    frames it.

    Returns:
        ``(crop, result)``: the ``uint8 (h, w, 3)`` face crop at the model's input size and
        the :class:`facecolab.workflows.uncertainty.MCResult` of that one image (``N = 1``).

    Raises:
        ValueError: no face found, or a model without MC dropout layers.
    """
    box = framing_box(detect_face(image), framing, shift)
    crop = resize_image(crop_square(image, box), model_input_size(model))
    return crop, predict_mc(model, crop[None].astype(np.float32) / 255.0, samples=samples)
