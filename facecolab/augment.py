"""Which augmentations a training run uses (:class:`AugmentConfig`), and their numpy/PIL
implementation for :mod:`facecolab.loader`.

Two implementations read the same config: the TensorFlow ops of :mod:`facecolab.pipeline`
(tf.data, the default on TensorFlow) and the numpy/PIL functions here, which need no
TensorFlow and serve the other Keras backends (JAX, PyTorch). Both keep image and label map
aligned and have the same meaning per option; their random draws differ.

Every function takes one sample, ``image`` uint8 ``(H, W, 3)`` and ``label`` uint8 ``(H, W)``
(255 = ignore), with a ``numpy.random.Generator`` for its draws; images stay 8-bit until the
last step, which converts to float32 in [0, 1] (and applies the brightness change).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields

import numpy as np
from PIL import Image

from .constants import IGNORE_INDEX


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run, and how strongly. Everything is off by default.

    Attributes:
        hflip: flip left-right with probability 0.5, swapping left/right classes.
        scale: ``(low, high)`` random zoom; > 1 crops, < 1 pads (padding labelled ignore).
        rotate: maximum rotation in degrees (uniform in ±rotate).
        brightness: scale the HSV value channel by a factor in ``1 ± brightness``.
        jpeg_quality: ``(low, high)`` JPEG re-encoding quality, applied with ``jpeg_prob``.
        jpeg_prob: probability of the JPEG re-encoding.
    """

    hflip: bool = False
    scale: tuple[float, float] | None = None
    rotate: float = 0.0
    brightness: float = 0.0
    jpeg_quality: tuple[int, int] | None = None
    jpeg_prob: float = 0.5

    @classmethod
    def from_dict(cls, data: dict | None) -> AugmentConfig:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown augmentation keys {unknown}; valid: {sorted(known)}")
        for key in ("scale", "jpeg_quality"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)

    @property
    def active(self) -> bool:
        return bool(self.hflip or self.scale or self.rotate or self.brightness or self.jpeg_quality)


def random_geometry(image, label, rng: np.random.Generator, scale, max_degrees: float):
    """Zoom by a factor in ``scale`` (> 1 crops, < 1 pads) at a random place, and rotate by an
    angle in ``±max_degrees`` about the centre: one affine warp of each, image bilinear
    (fill 0), label nearest (fill 255).

    Args:
        image: ``uint8 (H, W, 3)``; label: ``uint8 (H, W)``.
    """
    height, width = label.shape
    factor = rng.uniform(scale[0], scale[1]) if scale else 1.0
    angle = np.deg2rad(rng.uniform(-max_degrees, max_degrees)) if max_degrees else 0.0
    # Shift of the source centre: up to the slack between the canvas and the zoomed image.
    shift = [rng.uniform(-1, 1) * abs(size - size / factor) / 2 for size in (width, height)]
    cos, sin = np.cos(angle) / factor, np.sin(angle) / factor
    cx, cy = width / 2, height / 2
    # PIL's AFFINE maps each output pixel (x, y) to the input (a x + b y + c, d x + e y + f).
    matrix = (
        cos,
        -sin,
        cx + shift[0] - cos * cx + sin * cy,
        sin,
        cos,
        cy + shift[1] - sin * cx - cos * cy,
    )
    warped = Image.fromarray(image).transform(
        (width, height),
        Image.Transform.AFFINE,
        matrix,
        Image.Resampling.BILINEAR,
        fillcolor=(0, 0, 0),
    )
    label = Image.fromarray(label).transform(
        (width, height),
        Image.Transform.AFFINE,
        matrix,
        Image.Resampling.NEAREST,
        fillcolor=IGNORE_INDEX,
    )
    return np.asarray(warped), np.asarray(label)


def random_hflip(image, label, rng: np.random.Generator, flip_lut: np.ndarray):
    """Mirror both with probability 0.5; the label goes through ``flip_lut`` (left ↔ right)."""
    if rng.uniform() < 0.5:
        return image[:, ::-1], flip_lut[label[:, ::-1]]
    return image, label


def random_jpeg(image, rng: np.random.Generator, quality, probability: float):
    """``uint8 (H, W, 3)`` re-encoded as JPEG at a random quality in ``quality`` with
    ``probability``."""
    if rng.uniform() >= probability:
        return image
    buffer = io.BytesIO()
    Image.fromarray(image).save(
        buffer, "JPEG", quality=int(rng.integers(quality[0], quality[1] + 1))
    )
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def to_float_with_brightness(image, rng: np.random.Generator, amount: float):
    """``uint8 (H, W, 3)`` → float32 in [0, 1], the HSV value channel scaled by
    ``U(1 - amount, 1 + amount)`` and clipped at 1 (``amount`` 0: plain conversion).

    Hue and saturation stay, so the scaling is a per-pixel factor ``min(f, 1 / V)`` on RGB.
    """
    if not amount:
        return image.astype(np.float32) * (1 / 255)
    factor = np.float32(rng.uniform(1.0 - amount, 1.0 + amount))
    if factor <= 1:
        return image.astype(np.float32) * (factor / 255)
    # V = max(R, G, B), taken channel by channel in uint8 (a max over the last axis is slow).
    value = np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])
    ratio = np.minimum(factor, 255 / np.maximum(value, 1).astype(np.float32)) * (1 / 255)
    return np.minimum(image * ratio[..., None], 1.0, dtype=np.float32)


def augment(image, label, rng: np.random.Generator, config: AugmentConfig, flip_lut):
    """Apply the enabled augmentations of ``config`` to one sample, geometry first (the
    order of :func:`facecolab.pipeline.augment`).

    Args:
        image: ``uint8 (H, W, 3)``; label: ``uint8 (H, W)``; flip_lut: the spec's
            ``flip_lut()``.

    Returns:
        ``(float32 (H, W, 3) in [0, 1], uint8 (H, W))``.
    """
    if config.scale or config.rotate:
        image, label = random_geometry(image, label, rng, config.scale, config.rotate)
    if config.hflip:
        image, label = random_hflip(image, label, rng, flip_lut)
    if config.jpeg_quality:
        image = random_jpeg(np.ascontiguousarray(image), rng, config.jpeg_quality, config.jpeg_prob)
    image = to_float_with_brightness(image, rng, config.brightness)
    return image, np.ascontiguousarray(label)
