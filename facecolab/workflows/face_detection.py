"""Faces in photos: MediaPipe's BlazeFace short-range model, decoded here in numpy.

The network (``facecolab.modelfiles.face_detector``) scores 896 SSD anchors on a 128×128
input: a 16×16 grid (stride 8) with 2 anchors per cell and an 8×8 grid (stride 16) with 6,
each anchor a unit box at its cell centre. Per anchor it regresses the box centre offset and
size and six keypoints in input pixels. :func:`decode` turns those into boxes and
:func:`weighted_nms` merges overlapping boxes into one, averaged by score (BlazeFace's
"weighted" non-maximum suppression; plain NMS jitters between neighbouring anchors).

The short-range model is made for faces filling a good part of its input. A photo is
therefore searched at three scales (:func:`windows`): whole, then overlapping square windows
of half and a quarter of its longer side, so a face a tenth of a holiday photo's width is as
large in its window as a selfie's. Detections from all windows are merged in photo
coordinates; a box cut by a window edge inside the photo is dropped (the face is whole in a
neighbouring window), and a box lying mostly inside a higher-scoring one is merged into it.

BlazeFace's box is not scale-free: the same face gets a box ~3 % larger when it fills a third
of the input than when it fills most of it, and the pyramid merges boxes from windows where
the face filled different shares. :meth:`FaceDetector.refine` therefore detects each face once
more in a square framed around it as the aligned training photos frame their faces, so the
box that decides a crop always comes from a face at the scale the framings
(``facecolab.workflows.faces.FRAMINGS``) were measured at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecolab.data.resize import place, resize_image
from facecolab.modelfiles.face_detector import DetectorModel, load_detector_model

STRIDES = (8, 16, 16, 16)  # one entry per anchor layer; equal strides share a grid
MIN_SCORE = 0.75  # real faces score ≥ 0.85, scenery up to 0.7 (benchmarks/bench_face_detection.py)
NMS_IOU = 0.3  # boxes overlapping more than this are one face
CONTAINED = 0.6  # a box with this share of its area inside a better one is that face
LEVELS = 3  # window sides: the longer side, 1/2 and 1/4 of it
EDGE_MARGIN = 0.02  # a box within this share of a window side of an inner window edge is cut
MIN_WINDOW = 96  # px: finer windows would only upsample


@dataclass(frozen=True)
class Face:
    """One detected face, in photo pixels (floats; the box may leave the photo a little).

    Attributes:
        top, left, height, width: the box BlazeFace draws (brows to chin, ear to ear).
        score: the detector's confidence in [0, 1].
    """

    top: float
    left: float
    height: float
    width: float
    score: float

    @property
    def area(self) -> float:
        return self.height * self.width


def anchor_centres(size: int = 128, strides=STRIDES) -> np.ndarray:
    """``float32 (A, 2)`` ``(x, y)`` anchor centres in [0, 1]: per distinct stride, its grid in
    row-major order with as many anchors per cell as twice its layers (896 for 128, the
    short-range model's)."""
    centres = []
    for stride in dict.fromkeys(strides):
        per_cell = 2 * strides.count(stride)
        cells = -(-size // stride)
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=-1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
    return np.concatenate(centres)


def decode(regressors, logits, anchors, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes float32 (A, 4) as (y0, x0, y1, x1) in [0, 1] of the input, scores (A,))``
    from the network's ``regressors (A, ≥4)`` (centre offset, width, height in input pixels)
    and score ``logits (A,)``."""
    regressors = np.asarray(regressors, np.float32) / size
    centre_x = anchors[:, 0] + regressors[:, 0]
    centre_y = anchors[:, 1] + regressors[:, 1]
    half_w, half_h = regressors[:, 2] / 2, regressors[:, 3] / 2
    boxes = np.stack([centre_y - half_h, centre_x - half_w, centre_y + half_h, centre_x + half_w])
    scores = 1 / (1 + np.exp(-np.clip(np.asarray(logits, np.float32), -80, 80)))
    return boxes.T, scores


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(IoU, share of each of boxes inside box)`` of ``box (4,)`` with ``boxes (N, 4)``."""
    top_left = np.maximum(box[:2], boxes[:, :2])
    bottom_right = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=-1)
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=-1)
    area = np.prod(box[2:] - box[:2])
    return inter / np.maximum(area + areas - inter, 1e-9), inter / np.maximum(areas, 1e-9)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU, contained: float = 1.0
) -> list[tuple[np.ndarray, float]]:
    """Merge overlapping ``(N, 4)`` boxes: the best remaining box takes every box with IoU
    above ``iou`` (or with ``contained`` of its area inside it) and becomes their
    score-weighted mean, with the best score. Returns ``[(box (4,), score)]``, best first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    boxes, scores = np.asarray(boxes, np.float64)[order], np.asarray(scores, np.float64)[order]
    merged = []
    while len(boxes):
        overlap, inside = _overlaps(boxes[0], boxes)
        group = (overlap > iou) | (inside >= contained)
        group[0] = True
        weights = scores[group][:, None]
        merged.append(((boxes[group] * weights).sum(0) / weights.sum(), float(scores[0])))
        boxes, scores = boxes[~group], scores[~group]
    return merged


def windows(height: int, width: int, levels: int = LEVELS) -> list[tuple[int, int, int]]:
    """Square ``(top, left, side)`` windows searched in a ``height × width`` photo: the whole
    photo (padded square), then per level sides halved, overlapping by half a side, the last
    of each row and column flush with the photo's edge; sides under :data:`MIN_WINDOW` px
    are skipped."""
    longest = max(height, width)
    found = [((height - longest) // 2, (width - longest) // 2, longest)]
    for level in range(1, levels):
        side = longest >> level
        if side < MIN_WINDOW:
            break
        step = side // 2

        def starts(extent: int, side: int = side, step: int = step) -> list[int]:
            if extent <= side:
                return [(extent - side) // 2]
            return sorted(set(range(0, extent - side, step)) | {extent - side})

        found += [(top, left, side) for top in starts(height) for left in starts(width)]
    return found


class FaceDetector:
    """Faces in ``uint8 (H, W, 3)`` photos of any size (see the module docstring).

    Args:
        model: a :class:`facecolab.modelfiles.face_detector.DetectorModel` (default: the
            shipped BlazeFace file).
        min_score: the score a face needs.
        levels: window scales searched (1: the whole photo only).
    """

    def __init__(self, model: DetectorModel | None = None, min_score=MIN_SCORE, levels=LEVELS):
        self.model = model if model is not None else load_detector_model()
        self.min_score = min_score
        self.levels = levels
        self.anchors = anchor_centres(self.model.input_size)

    def _window_boxes(self, image: np.ndarray, window) -> tuple[np.ndarray, np.ndarray]:
        """Boxes ``(n, 4)`` in photo pixels and their scores, of one window."""
        top, left, side = window
        size = self.model.input_size
        crop = resize_image(place(image, (side, side), (-top, -left), 0), (size, size))
        boxes, scores = decode(*self.model.invoke(crop / np.float32(127.5) - 1), self.anchors, size)
        keep = scores >= self.min_score
        boxes, scores = boxes[keep], scores[keep]
        height, width = image.shape[:2]
        # Cut by an edge of the window that lies inside the photo: seen whole elsewhere.
        margin = EDGE_MARGIN
        cut = np.zeros(len(boxes), bool)
        cut |= (boxes[:, 0] < margin) & (top > 0)
        cut |= (boxes[:, 1] < margin) & (left > 0)
        cut |= (boxes[:, 2] > 1 - margin) & (top + side < height)
        cut |= (boxes[:, 3] > 1 - margin) & (left + side < width)
        return boxes[~cut] * side + np.array([top, left, top, left]), scores[~cut]

    def detect(self, image: np.ndarray) -> list[Face]:
        """The faces of ``image``, most confident first."""
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"images must be uint8 RGB (H, W, 3); got {image.dtype} {image.shape}")
        return self._detect(image, windows(*image.shape[:2], self.levels))

    def refine(self, image: np.ndarray, window) -> Face | None:
        """The face of a square ``(top, left, side)`` window of ``image`` framed around one
        face, detected on the window whole (zero-padded where it leaves the photo): the
        largest face found, in photo pixels, or ``None``."""
        top, left, side = window
        crop = place(np.asarray(image), (side, side), (-top, -left), 0)
        found = self._detect(crop, [(0, 0, side)])
        if not found:
            return None
        face = max(found, key=lambda f: f.area)
        return Face(face.top + top, face.left + left, face.height, face.width, face.score)

    def _detect(self, image: np.ndarray, searched) -> list[Face]:
        """The faces of ``image`` over the ``(top, left, side)`` windows ``searched``."""
        found = [self._window_boxes(image, w) for w in searched]
        boxes = np.concatenate([b for b, _ in found])
        scores = np.concatenate([s for _, s in found])
        faces = [
            Face(float(y0), float(x0), float(y1 - y0), float(x1 - x0), score)
            for (y0, x0, y1, x1), score in weighted_nms(boxes, scores, NMS_IOU, CONTAINED)
        ]
        return faces
