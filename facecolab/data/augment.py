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
* ``swap``: 1 when the sample's background is replaced (portrait framing); ``texture*``: the
  tint of the fill where the background source shows a person or nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields

import keras
import numpy as np
from PIL import Image

from facecolab.constants import IGNORE_INDEX

TEXTURE_CELLS = 3  # the background fill's tint: a 3×3 grid of random factors, smoothly resized
FILL_CELL = 32  # pixels per cell of the background fill's local average
PARAMS = (
    *(f"transform{i}" for i in range(8)),
    "flip",
    "brightness",
    "saturation",
    "blur",
    "noise",
    "noise_phase",
    "jpeg",
    "swap",
    *(f"texture{i}" for i in range(TEXTURE_CELLS * TEXTURE_CELLS * 3)),
)
INDEX = {name: i for i, name in enumerate(PARAMS)}
HASH_PRIME = 46337  # the noise hash's modulus: the largest prime whose square fits in int32
IDENTITY = np.zeros(len(PARAMS), np.float32)
IDENTITY[[0, 4, INDEX["brightness"], INDEX["saturation"]]] = 1


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run, and how strongly. Everything is off by default.

    Attributes:
        hflip: mirror with probability 0.5, swapping left/right classes.
        scale: ``(low, high)`` random zoom; > 1 crops, < 1 shrinks onto the canvas (the border
            labelled ignore). The zoomed image is shifted at random within the slack.
        rotate: maximum rotation in degrees (uniform in ±rotate).
        translate: a further shift of up to ``translate`` × the side, so a person reaches
            or crosses the borders.
        brightness: scale the HSV value channel by a factor in ``1 ± brightness``.
        saturation: scale the distance from grey by a factor in ``1 ± saturation``.
        blur: probability of a 3×3 binomial blur of random strength.
        noise: maximum standard deviation of added noise (in [0, 1] units).
        jpeg_quality: ``(low, high)`` JPEG re-encoding quality, applied with ``jpeg_prob``.
        jpeg_prob: probability of the JPEG re-encoding.
        background: for person / background label sets (class 0 background): probability
            that a sample's background is replaced by another sample's of the batch (its
            people replaced by a smooth random texture, so no person is ever labelled
            background), the seam feathered. When set, what the geometry leaves empty and
            ignore pixels (e.g. outside the labelled person's box) are filled from the same
            source and labelled background on every sample: a zoomed-out person stands in a
            scene, not in a black frame.
    """

    hflip: bool = False
    scale: tuple[float, float] | None = None
    rotate: float = 0.0
    translate: float = 0.0
    brightness: float = 0.0
    saturation: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    jpeg_quality: tuple[int, int] | None = None
    jpeg_prob: float = 0.5
    background: float = 0.0

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
            (self.hflip, self.scale, self.rotate, self.translate, self.brightness)
            + (self.saturation, self.blur, self.noise, self.jpeg_quality, self.background)
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
    shift = [
        rng.uniform(-1, 1) * (abs(side - side / zoom) / 2 + config.translate * side / zoom)
        for side in (width, height)
    ]
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
    if config.background:
        params[INDEX["swap"]] = rng.uniform() < config.background
        texture = slice(INDEX["texture0"], INDEX["texture0"] + TEXTURE_CELLS**2 * 3)
        params[texture] = rng.uniform(0, 1, TEXTURE_CELLS**2 * 3)
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


def _swap_background(images, labels, scenes, scene_labels, params, swap):
    """Replace ignore pixels everywhere, and the background of samples where ``swap``
    ``(B, 1, 1, 1)`` holds, with the next sample's scene as it was before the geometry
    (``scenes``, ``scene_labels``). Where that scene shows a person or nothing, the hole is
    filled from the scene's own background around it (a normalised average over
    ``FILL_CELL``-pixel cells, resized smoothly, tinted by the texture of ``params``), so no
    person and no person-shaped silhouette is ever labelled background. The replaced pixels
    become background (0)."""
    ops = keras.ops
    height, width = images.shape[1], images.shape[2]
    scenes, scene_labels = ops.roll(scenes, 1, axis=0), ops.roll(scene_labels, 1, axis=0)
    scene_background = ops.cast(ops.expand_dims(scene_labels == 0, -1), "float32")
    count = ops.maximum(ops.sum(scene_background, axis=(1, 2), keepdims=True), 1.0)
    mean = ops.sum(scenes * scene_background, axis=(1, 2), keepdims=True) / count
    cell = (FILL_CELL, FILL_CELL)
    local_sum = ops.average_pool(scenes * scene_background, cell, cell, "same")
    local_count = ops.average_pool(scene_background, cell, cell, "same")
    local = ops.where(local_count > 0.05, local_sum / ops.maximum(local_count, 1e-6), mean)
    smooth = ops.image.resize(local, (height, width), "bilinear")
    start = INDEX["texture0"]
    grid = ops.reshape(params[:, start : start + TEXTURE_CELLS**2 * 3], (-1, 3, 3, 3))
    tint = 0.85 + 0.3 * ops.image.resize(grid, (height, width), "bilinear")
    source = scenes * scene_background + ops.clip(smooth * tint, 0, 1) * (1.0 - scene_background)
    replace = (labels == IGNORE_INDEX) | (swap[..., 0] & (labels == 0))
    # A feathered seam: the kept pixels' weight blurred twice (about two pixels wide).
    keep = 1.0 - ops.cast(ops.expand_dims(replace, -1), "float32")
    keep = _blur(_blur(keep)) * keep
    images = images * keep + source * (1.0 - keep)
    return images, ops.where(replace, ops.zeros_like(labels), labels)


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
    scenes, scene_labels = images, labels
    if on("scale", "rotate", "translate", "hflip"):
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

    if on("background"):
        swap = per_sample("swap") > 0.5
        images, labels = _swap_background(images, labels, scenes, scene_labels, params, swap)
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
