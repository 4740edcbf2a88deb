"""A second look at the people of a photo: segment the whole photo, then again on a window
around the people found, so a person small in the frame fills the model's input.

A portrait model sees a whole photo letterboxed into a few hundred pixels; a person who
covers a few percent of the photo gets a few dozen of them, and loses a face or an arm.
:func:`reframed` runs the model once on the photo, frames the pixels it calls person
(:func:`person_box`, leaving out specks far smaller than the largest region) with a margin,
widens that to the model's input shape (:func:`window_around`) and runs the model on that
window, whose probabilities replace the first ones inside it (faded into them over a few
pixels at the window's inner edges, so a soft mask shows no seam). Photos where the window
would cover most of the picture keep the first pass (no gain, twice the cost). ``threshold``
only frames the people; callers threshold the result as they like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

MARGIN = 0.25  # added on every side of the people's box, as a share of its longer side
FEATHER = 8  # pixels over which the second pass fades into the first at a window's inner edge
# Windows covering more than this share of the photo are not worth a second pass.
MAX_WINDOW_SHARE = 0.8
THRESHOLD = 0.5
# Person regions smaller than this share of the largest one are not framed: a speck the first
# pass took for a person across the photo would otherwise stretch the window over most of it.
MIN_REGION_SHARE = 0.2


def person_box(
    mask: np.ndarray, min_region_share: float = MIN_REGION_SHARE
) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` (bottom and right exclusive) of the true pixels of a
    boolean ``(H, W)`` mask that lie in a region (8-connected) of at least
    ``min_region_share`` × the largest region's area (0: every true pixel); ``None`` when
    there are none. The largest region is kept even when it is the false one, and then a
    person under that share of it is left out."""
    if min_region_share > 0 and mask.any():
        from skimage.measure import label

        regions = label(mask, connectivity=2)
        areas = np.bincount(regions.ravel())
        areas[0] = 0  # the background, never kept
        mask = (areas >= min_region_share * areas.max())[regions]
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def window_around(
    box: tuple[int, int, int, int],
    image_hw: tuple[int, int],
    shapes: Sequence[tuple[int, int]],
    margin: float = MARGIN,
) -> tuple[int, int, int, int]:
    """The window to look at ``box`` again.

    Args:
        box: ``(top, bottom, left, right)`` of the people.
        image_hw: ``(H, W)`` of the photo.
        shapes: ``(h, w)`` inputs the model can run at (its input, and the turned input
            where it can turn); the window takes the aspect of the one nearest the box's.
        margin: share of the box's longer side added on every side.

    Returns:
        ``(top, bottom, left, right)`` inside the photo: the box plus margin, widened to the
        chosen aspect about its centre and moved inside the photo (clipped where the photo
        is too small for it: the letterbox pads the rest).
    """
    top, bottom, left, right = box
    pad = margin * max(bottom - top, right - left)
    height, width = bottom - top + 2 * pad, right - left + 2 * pad
    aspect = min((h / w for h, w in shapes), key=lambda a: abs(np.log(a * width / height)))
    if height / width < aspect:
        height = width * aspect
    else:
        width = height / aspect
    image_height, image_width = image_hw
    height, width = min(round(height), image_height), min(round(width), image_width)
    top = int(np.clip(round((top + bottom - height) / 2), 0, image_height - height))
    left = int(np.clip(round((left + right - width) / 2), 0, image_width - width))
    return top, top + height, left, left + width


def blend_weights(window: tuple[int, int, int, int], image_hw, feather: int = FEATHER):
    """``float32 (h, w)`` weight of the second pass over a window: 1 inside, falling to
    ``1 / feather`` over ``feather`` pixels at each window edge that lies inside the photo
    (none at the photo's own border), so the two passes meet without a seam in a soft mask."""
    top, bottom, left, right = window

    def ramp(start: int, stop: int, size: int) -> np.ndarray:
        steps = np.arange(1, stop - start + 1, dtype=np.float32)
        near = np.full(steps.shape, np.inf, np.float32)
        if start > 0:
            near = np.minimum(near, steps)
        if stop < size:
            near = np.minimum(near, steps[::-1])
        return np.minimum(near / feather, 1.0)

    return np.minimum.outer(ramp(top, bottom, image_hw[0]), ramp(left, right, image_hw[1]))


def reframed(
    probability: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    shapes: Sequence[tuple[int, int]],
    threshold: float = THRESHOLD,
    margin: float = MARGIN,
    max_window_share: float = MAX_WINDOW_SHARE,
    min_region_share: float = MIN_REGION_SHARE,
) -> np.ndarray:
    """``float32 (H, W)`` P(person) of ``image`` after a second look at its people.

    Args:
        probability: ``uint8 (h, w, 3)`` photo → ``float32 (h, w)`` P(person) at its size
            (one pass of the model, e.g. ``apps.inference.portrait_probability``).
        image: ``uint8 (H, W, 3)``.
        shapes: the ``(h, w)`` the model runs at (:func:`window_around`).
        threshold: P(person) above which a pixel counts as a person's when framing them.
        min_region_share: regions of those pixels under this share of the largest one's
            area are not framed (:func:`person_box`).

    Returns:
        The first pass, with the second pass's probabilities inside the window (blended into
        the first over :data:`FEATHER` pixels at its inner edges, :func:`blend_weights`); the
        first pass alone when it found nobody or the window would cover more than
        ``max_window_share`` of the photo.
    """
    whole = probability(image)
    box = person_box(whole > threshold, min_region_share)
    if box is None:
        return whole
    top, bottom, left, right = window_around(box, image.shape[:2], shapes, margin)
    if (bottom - top) * (right - left) > max_window_share * image.shape[0] * image.shape[1]:
        return whole
    result = np.array(whole, dtype=np.float32)
    second = probability(np.ascontiguousarray(image[top:bottom, left:right]))
    weight = blend_weights((top, bottom, left, right), image.shape[:2])
    result[top:bottom, left:right] += weight * (second - result[top:bottom, left:right])
    return result
