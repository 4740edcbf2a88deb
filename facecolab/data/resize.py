"""The one place images and label maps change size.

Images use area (downscale) or bilinear (upscale) interpolation; label maps use nearest
neighbour only, so resizing never creates an id that was not in the input. The numpy/PIL
functions serve data preparation and prediction; the ``tf_`` functions serve tf.data.

Aspect modes:
    ``stretch``: resize to the target directly (what the seeds did).
    ``letterbox``: keep aspect, pad (image 0, mask 255 = ignore) centred.
    ``crop``: keep aspect, scale to cover, centre crop.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from facecolab.constants import IGNORE_INDEX

ASPECT_MODES = ("stretch", "letterbox", "crop")
# cv2.resize takes at most 4 channels on OpenCV 5.0 (any count on 4.x and 5.1): the portrait
# models' one channel is where it pays.
OPENCV_MAX_CHANNELS = 4


def _check_aspect(aspect: str) -> None:
    if aspect not in ASPECT_MODES:
        raise ValueError(f"aspect must be one of {ASPECT_MODES}, got {aspect!r}")


def fit_geometry(src_hw, dst_hw, aspect: str):
    """Where a ``src_hw`` image lands in a ``dst_hw`` canvas.

    Returns:
        ``(scaled_hw, offset_yx)``: the size the source is resized to and the position of its
        top-left corner in the canvas (negative offsets crop).
    """
    _check_aspect(aspect)
    (sh, sw), (dh, dw) = src_hw, dst_hw
    if aspect == "stretch":
        return (dh, dw), (0, 0)
    pick = min if aspect == "letterbox" else max
    scale = pick(dh / sh, dw / sw)
    nh, nw = max(1, round(sh * scale)), max(1, round(sw * scale))
    return (nh, nw), ((dh - nh) // 2, (dw - nw) // 2)


def place(array: np.ndarray, dst_hw, offset, fill) -> np.ndarray:
    """``array`` with its top-left corner at ``offset = (y, x)`` on a ``dst_hw`` canvas of
    ``fill``; negative offsets and overhangs crop (nothing overlaps: all ``fill``)."""
    dh, dw = dst_hw
    oy, ox = offset
    out = np.full((dh, dw) + array.shape[2:], fill, dtype=array.dtype)
    h, w = array.shape[:2]
    ys, xs = max(0, -oy), max(0, -ox)
    yd, xd = max(0, oy), max(0, ox)
    hh, ww = max(0, min(h - ys, dh - yd)), max(0, min(w - xs, dw - xd))
    out[yd : yd + hh, xd : xd + ww] = array[ys : ys + hh, xs : xs + ww]
    return out


def resize_image(image: np.ndarray, size, aspect: str = "stretch") -> np.ndarray:
    """``uint8 (H, W, 3)`` → ``uint8 (*size, 3)``: area filter when shrinking, bilinear else."""
    image = np.asarray(image)
    scaled, offset = fit_geometry(image.shape[:2], tuple(size), aspect)
    if scaled != image.shape[:2]:
        shrinking = scaled[0] * scaled[1] < image.shape[0] * image.shape[1]
        method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
        image = np.asarray(Image.fromarray(image).resize(scaled[::-1], method))
    return image if aspect == "stretch" else place(image, size, offset, 0)


def resize_mask(mask: np.ndarray, size, aspect: str = "stretch") -> np.ndarray:
    """``uint8 (H, W)`` ids → ``uint8 (*size)`` by nearest neighbour (letterbox pads 255)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"label maps are single-channel (H, W); got shape {mask.shape}")
    scaled, offset = fit_geometry(mask.shape, tuple(size), aspect)
    if scaled != mask.shape:
        mask = np.asarray(Image.fromarray(mask).resize(scaled[::-1], Image.Resampling.NEAREST))
    return mask if aspect == "stretch" else place(mask, size, offset, IGNORE_INDEX)


def resize_probabilities(probs: np.ndarray, size, backend: str | None = None) -> np.ndarray:
    """``float32 (h, w, C)`` per-pixel values → ``float32 (*size, C)``, bilinear with
    half-pixel centres and no antialiasing (``tf.image.resize``'s default).

    Args:
        backend: ``"opencv"`` or ``"tensorflow"``; ``None``: OpenCV where it is installed
            (the webcam extra; 10–18 times faster on one channel, e.g. 0.07 against 0.97 ms
            for a 480×640 mask, and the same values to 5e-5) and ``C`` is at most
            ``OPENCV_MAX_CHANNELS``, else TensorFlow.
    """
    probs = np.asarray(probs, dtype=np.float32)
    size = (int(size[0]), int(size[1]))
    if backend is None:
        usable = probs.shape[-1] <= OPENCV_MAX_CHANNELS and _opencv() is not None
        backend = "opencv" if usable else "tensorflow"
    if backend == "opencv":
        cv2 = _opencv()
        resized = cv2.resize(probs, size[::-1], interpolation=cv2.INTER_LINEAR)
        return resized.reshape(*size, probs.shape[-1])
    if backend != "tensorflow":
        raise ValueError(f"backend must be 'opencv' or 'tensorflow', got {backend!r}")
    import tensorflow as tf

    return tf.image.resize(probs, size, method="bilinear").numpy()


@functools.cache
def _opencv():
    """The ``cv2`` module, or ``None`` when OpenCV is not installed (looked for once)."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def tf_resize_image(image, size):
    """``float32 (…, H, W, 3)`` → ``(…, *size, 3)`` bilinear with antialias (area-like)."""
    import tensorflow as tf

    return tf.image.resize(image, size, method="bilinear", antialias=True)


def tf_resize_mask(mask, size):
    """``(…, H, W)`` integer ids → ``(…, *size)`` nearest neighbour, dtype kept."""
    import tensorflow as tf

    expanded = mask[..., tf.newaxis]
    return tf.image.resize(expanded, size, method="nearest")[..., 0]
