"""The one augmentation definition of every data path: which augmentations run
(:class:`AugmentConfig`), how each sample's random draws are made (:func:`draw_params`, numpy),
and how they are applied to a batch (:func:`apply_params`, ``keras.ops``).

The pipelines differ only in where these run: ``tf_pipeline`` (tf.data on TensorFlow) and
``host_pipeline`` (a ``keras.utils.PyDataset`` for any backend) draw each sample's parameters
with numpy and apply them with the same ``keras.ops`` code, so the geometry, the left/right
swap and the colour changes are written once. JPEG re-encoding is the one step that needs a
codec: it runs on the ``uint8`` sample before everything else, by PIL on the host
(:func:`augment_batch`) and by ``tf.image.adjust_jpeg_quality`` in tf.data, with the same
drawn quality.

A sample's parameters are one float32 vector (:data:`PARAMS` names its fields):

* ``transform`` (8): the projective transform of ``keras.ops.image.affine_transform`` mapping
  each output pixel ``(x, y)`` to the input point it samples; zoom, shift, rotation and the
  mirror are composed into it, so image and label go through one warp (image bilinear, fill
  0; label nearest, fill 255 = ignore) and stay aligned.
* ``flip``: 1 when the mirror is in the transform, so the label's left/right classes swap.
* ``brightness``: the HSV value channel's factor; ``saturation``: the factor on the distance
  from grey; ``blur``: the weight of a 3×3 binomial blur; ``noise``: the standard deviation of
  added noise, an integer hash of the pixel position and ``noise_phase``, so the noise is
  the same on every backend; ``jpeg``: the JPEG quality (0: none).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields

import keras
import numpy as np
from PIL import Image

from facecolab.constants import IGNORE_INDEX

PARAMS = (
    *(f"transform{i}" for i in range(8)),
    "flip",
    "brightness",
    "saturation",
    "blur",
    "noise",
    "noise_phase",
    "jpeg",
)
INDEX = {name: i for i, name in enumerate(PARAMS)}
HASH_PRIME = 46337  # the noise hash's modulus: the largest prime whose square fits in int32
IDENTITY = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0], np.float32)


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run, and how strongly. Everything is off by default.

    Attributes:
        hflip: mirror with probability 0.5, swapping left/right classes.
        scale: ``(low, high)`` random zoom; > 1 crops, < 1 shrinks onto the canvas (the border
            labelled ignore). The zoomed image is shifted at random within the slack.
        rotate: maximum rotation in degrees (uniform in ±rotate).
        brightness: scale the HSV value channel by a factor in ``1 ± brightness``.
        saturation: scale the distance from grey by a factor in ``1 ± saturation``.
        blur: probability of a 3×3 binomial blur of random strength.
        noise: maximum standard deviation of added noise (in [0, 1] units).
        jpeg_quality: ``(low, high)`` JPEG re-encoding quality, applied with ``jpeg_prob``.
        jpeg_prob: probability of the JPEG re-encoding.
    """

    hflip: bool = False
    scale: tuple[float, float] | None = None
    rotate: float = 0.0
    brightness: float = 0.0
    saturation: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
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
        return any(
            (self.hflip, self.scale, self.rotate, self.brightness, self.saturation)
            + (self.blur, self.noise, self.jpeg_quality)
        )


def geometry_transform(
    size: tuple[int, int], zoom: float = 1.0, degrees: float = 0.0, shift=(0.0, 0.0), flip=False
) -> np.ndarray:
    """The 8 projective coefficients mapping output ``(x, y)`` to the input point it samples:
    mirror the output (``flip``), then rotate by ``degrees`` and zoom by ``zoom`` about the
    centre, shifted by ``shift`` = ``(dx, dy)`` input pixels.

    Args:
        size: ``(H, W)`` of both input and output.
    """
    height, width = size
    cx, cy = (width - 1) / 2, (height - 1) / 2
    mirror = np.array([[-1, 0, width - 1], [0, 1, 0], [0, 0, 1]]) if flip else np.eye(3)
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    # input = R / zoom · (output - centre) + centre + shift
    warp = np.array(
        [
            [cos, -sin, cx + shift[0] - cos * cx + sin * cy],
            [sin, cos, cy + shift[1] - sin * cx - cos * cy],
            [0, 0, 1],
        ]
    )
    matrix = warp @ mirror
    return matrix.reshape(-1)[:8].astype(np.float32)


def draw_params(rng: np.random.Generator, config: AugmentConfig, size) -> np.ndarray:
    """One sample's parameters, ``float32 (len(PARAMS),)``, drawn with ``rng``.

    Args:
        size: ``(H, W)`` of the sample.
    """
    params = IDENTITY.copy()
    height, width = size
    zoom = rng.uniform(*config.scale) if config.scale else 1.0
    degrees = rng.uniform(-config.rotate, config.rotate) if config.rotate else 0.0
    # Shift of the source centre: up to the slack between the canvas and the zoomed image.
    shift = [rng.uniform(-1, 1) * abs(side - side / zoom) / 2 for side in (width, height)]
    flip = bool(config.hflip and rng.uniform() < 0.5)
    params[:8] = geometry_transform(size, zoom, degrees, shift, flip)
    params[INDEX["flip"]] = flip
    if config.brightness:
        params[INDEX["brightness"]] = rng.uniform(1 - config.brightness, 1 + config.brightness)
    if config.saturation:
        params[INDEX["saturation"]] = rng.uniform(1 - config.saturation, 1 + config.saturation)
    if config.blur and rng.uniform() < config.blur:
        params[INDEX["blur"]] = rng.uniform(0.5, 1.0)
    if config.noise:
        params[INDEX["noise"]] = rng.uniform(0, config.noise)
        params[INDEX["noise_phase"]] = rng.integers(0, HASH_PRIME)
    if config.jpeg_quality and rng.uniform() < config.jpeg_prob:
        params[INDEX["jpeg"]] = rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1)
    return params


def jpeg_reencode(image: np.ndarray, quality: float) -> np.ndarray:
    """``uint8 (H, W, 3)`` re-encoded as JPEG at ``quality`` (0: returned as it is)."""
    if not quality:
        return image
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, "JPEG", quality=int(quality))
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def _hash_noise(height: int, width: int, phase):
    """Noise of zero mean and unit variance at every pixel and channel, ``(B, H, W, 3)``:
    an integer hash of the position and each sample's ``phase`` ``(B,)`` (a whole number
    below ``HASH_PRIME``), exact in int32 and so the same on every backend (``keras.random``
    takes no per-sample seed inside tf.data). Three squaring rounds make it non-linear."""
    ops = keras.ops
    y = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1, 1))
    x = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width, 1))
    channel = ops.reshape(ops.arange(3, dtype="int32"), (1, 1, 1, 3))
    phase = ops.reshape(ops.cast(phase, "int32"), (-1, 1, 1, 1))
    value = ops.mod(x * 1103 + y * 2711 + channel * 4513 + phase, HASH_PRIME)
    for mix in (x + 7, y + 11, channel + 13):
        value = ops.mod(value * value + mix, HASH_PRIME)
    uniform = (ops.cast(value, "float32") + 0.5) * (1 / HASH_PRIME)
    return (uniform - 0.5) * np.float32(np.sqrt(12.0))


def _blur(images):
    """3×3 binomial blur (1 2 1 ⊗ 1 2 1 / 16) of ``(B, H, W, C)``, edges repeated."""
    ops = keras.ops
    # Symmetric padding by one repeats the edge pixel.
    padded = ops.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="symmetric")
    rows = padded[:, :-2] + 2 * padded[:, 1:-1] + padded[:, 2:]
    return (rows[:, :, :-2] + 2 * rows[:, :, 1:-1] + rows[:, :, 2:]) * (1 / 16)


def apply_params(images, labels, params, flip_lut, config: AugmentConfig | None = None):
    """Apply each sample's parameters to a batch, in ``keras.ops`` (any backend; inside
    tf.data on TensorFlow).

    Args:
        images: ``uint8`` or ``float32 (B, H, W, 3)`` (float in [0, 1]), JPEG already applied.
        labels: integer ``(B, H, W)`` class ids (255 = ignore).
        params: ``float32 (B, len(PARAMS))`` from :func:`draw_params`.
        flip_lut: ``(256,)`` integer lookup swapping left/right ids (``DatasetSpec.flip_lut``).
        config: the steps it leaves off are skipped (their parameters are the identity
            anyway); ``None`` runs every step.

    Returns:
        ``(float32 (B, H, W, 3) in [0, 1], int32 (B, H, W))``.
    """
    ops = keras.ops

    def on(*names):
        return config is None or any(getattr(config, name) for name in names)

    params = ops.convert_to_tensor(params, "float32")
    integer = "int" in keras.backend.standardize_dtype(images.dtype)
    images = ops.cast(images, "float32") * (1 / 255 if integer else 1.0)
    labels = ops.cast(labels, "int32")
    if on("scale", "rotate", "hflip"):
        transform = params[:, :8]
        images = ops.image.affine_transform(images, transform, "bilinear", "constant", 0)
        warped = ops.image.affine_transform(
            ops.cast(ops.expand_dims(labels, -1), "float32"),
            transform,
            "nearest",
            "constant",
            IGNORE_INDEX,
        )
        labels = ops.cast(ops.round(warped[..., 0]), "int32")
    if on("hflip"):
        flip = ops.reshape(params[:, INDEX["flip"]] > 0.5, (-1, 1, 1))
        lut = ops.convert_to_tensor(np.asarray(flip_lut), "int32")
        labels = ops.where(flip, ops.take(lut, labels), labels)

    def per_sample(name):
        return ops.reshape(params[:, INDEX[name]], (-1, 1, 1, 1))

    if on("brightness"):
        # HSV value × f, hue and saturation kept: a per-pixel factor min(f, 1 / V) on RGB.
        value = ops.max(images, axis=-1, keepdims=True)
        images = images * ops.minimum(per_sample("brightness"), 1 / ops.maximum(value, 1 / 255))
    if on("saturation"):
        grey = ops.mean(images, axis=-1, keepdims=True)
        images = grey + (images - grey) * per_sample("saturation")
    if on("blur"):
        images = images + (_blur(images) - images) * per_sample("blur")
    if on("noise"):
        height, width = images.shape[1], images.shape[2]
        noise = _hash_noise(height, width, params[:, INDEX["noise_phase"]])
        images = images + noise * per_sample("noise")
    return ops.clip(images, 0.0, 1.0), labels


def augment_batch(images, labels, params, flip_lut, config: AugmentConfig | None = None):
    """The host path: JPEG re-encoding with PIL where ``params`` drew it, then
    :func:`apply_params`.

    Args:
        images: ``uint8 (B, H, W, 3)`` numpy; labels: integer ``(B, H, W)``; params:
            ``float32 (B, len(PARAMS))``, one :func:`draw_params` row per sample.

    Returns:
        As :func:`apply_params`.
    """
    qualities = params[:, INDEX["jpeg"]]
    if qualities.any():
        images = np.stack(
            [jpeg_reencode(image, q) for image, q in zip(images, qualities, strict=True)]
        )
    return apply_params(images, labels, params, flip_lut, config)
