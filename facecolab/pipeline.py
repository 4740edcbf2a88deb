"""tf.data input pipeline over a prepared folder, with augmentations that keep image and
label map aligned.

Every augmentation takes and returns ``(image, label)`` for one sample: ``image`` float32
``(H, W, 3)`` in [0, 1] and ``label`` int32 ``(H, W)`` (255 = ignore). Randomness comes from
stateless ops seeded per sample from one ``tf.data.Dataset.random`` stream, so a run is
deterministic given its seed while every epoch still sees new draws.
"""

from __future__ import annotations

import math
import os

import numpy as np
import tensorflow as tf

from .augment import AugmentConfig
from .constants import IGNORE_INDEX
from .datasets.prepare import read_dataset_info, split_files
from .datasets.readers import get_format
from .datasets.specs import DatasetSpec
from .imageio import read_image
from .resize import resize_image, resize_mask, tf_resize_image, tf_resize_mask

AUTOTUNE = tf.data.AUTOTUNE


def _seed_pair(seed, k: int):
    """The k-th derived stateless seed of a per-sample ``int64 (2,)`` seed."""
    return tf.random.experimental.stateless_fold_in(seed, k)


def random_hflip(image, label, seed, flip_lut):
    """Mirror both; the label goes through ``flip_lut`` so left classes become right ones."""
    flip = tf.random.stateless_uniform([], seed) < 0.5
    flipped_label = tf.gather(flip_lut, label[:, ::-1])
    return (
        tf.where(flip, image[:, ::-1], image),
        tf.where(flip, flipped_label, label),
    )


def random_scale_crop(image, label, seed, scale):
    """Zoom by a factor in ``scale`` then crop/pad back to the input size at a random place."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    factor = tf.random.stateless_uniform([], seed, scale[0], scale[1])
    new_h = tf.cast(tf.round(tf.cast(height, tf.float32) * factor), tf.int32)
    new_w = tf.cast(tf.round(tf.cast(width, tf.float32) * factor), tf.int32)
    image = tf_resize_image(image, [new_h, new_w])
    label = tf_resize_mask(label, [new_h, new_w])
    pad_h, pad_w = tf.maximum(height - new_h, 0), tf.maximum(width - new_w, 0)
    offsets = tf.random.stateless_uniform([2], _seed_pair(seed, 1))
    top = tf.cast(offsets[0] * tf.cast(pad_h + 1, tf.float32), tf.int32)
    left = tf.cast(offsets[1] * tf.cast(pad_w + 1, tf.float32), tf.int32)
    paddings = [[top, pad_h - top], [left, pad_w - left]]
    image = tf.pad(image, paddings + [[0, 0]])
    label = tf.pad(label, paddings, constant_values=IGNORE_INDEX)
    spare_h = tf.shape(image)[0] - height
    spare_w = tf.shape(image)[1] - width
    crop = tf.random.stateless_uniform([2], _seed_pair(seed, 2))
    y = tf.cast(crop[0] * tf.cast(spare_h + 1, tf.float32), tf.int32)
    x = tf.cast(crop[1] * tf.cast(spare_w + 1, tf.float32), tf.int32)
    return image[y : y + height, x : x + width], label[y : y + height, x : x + width]


def _rotation_transform(angle, height, width):
    """Projective transform (8,) rotating by ``angle`` radians about the image centre."""
    cos, sin = tf.cos(angle), tf.sin(angle)
    cx, cy = (tf.cast(width, tf.float32) - 1) / 2, (tf.cast(height, tf.float32) - 1) / 2
    # Output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2).
    return tf.stack(
        [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0]
    )


def random_rotate(image, label, seed, max_degrees):
    """Rotate both by the same angle; image bilinear (fill 0), label nearest (fill 255)."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    angle = tf.random.stateless_uniform([], seed, -max_degrees, max_degrees) * (math.pi / 180)
    transform = _rotation_transform(angle, height, width)[tf.newaxis]
    size = tf.stack([height, width])

    def warp(tensor, interpolation, fill):
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=tensor[tf.newaxis],
            transforms=transform,
            output_shape=size,
            fill_value=fill,
            interpolation=interpolation,
            fill_mode="CONSTANT",
        )[0]

    image = warp(image, "BILINEAR", 0.0)
    label = warp(tf.cast(label[..., tf.newaxis], tf.float32), "NEAREST", float(IGNORE_INDEX))
    return image, tf.cast(label[..., 0], tf.int32)


def random_brightness_hsv(image, seed, amount):
    """Scale the HSV value channel by ``U(1 - amount, 1 + amount)`` (project 5)."""
    factor = tf.random.stateless_uniform([], seed, 1.0 - amount, 1.0 + amount)
    hsv = tf.image.rgb_to_hsv(image)
    value = tf.clip_by_value(hsv[..., 2] * factor, 0.0, 1.0)
    return tf.image.hsv_to_rgb(tf.stack([hsv[..., 0], hsv[..., 1], value], axis=-1))


def random_jpeg(image, seed, quality, probability):
    """Re-encode as JPEG at a random quality with ``probability`` (project 5)."""
    apply = tf.random.stateless_uniform([], seed) < probability
    encoded = tf.image.stateless_random_jpeg_quality(
        image, int(quality[0]), int(quality[1]), _seed_pair(seed, 1)
    )
    return tf.where(apply, tf.reshape(encoded, tf.shape(image)), image)


def augment(image, label, seed, config: AugmentConfig, flip_lut):
    """Apply the enabled augmentations of ``config`` to one sample, geometry first."""
    if config.scale:
        image, label = random_scale_crop(image, label, _seed_pair(seed, 10), config.scale)
    if config.rotate:
        image, label = random_rotate(image, label, _seed_pair(seed, 20), config.rotate)
    if config.hflip:
        image, label = random_hflip(image, label, _seed_pair(seed, 30), flip_lut)
    if config.brightness:
        image = random_brightness_hsv(image, _seed_pair(seed, 40), config.brightness)
    if config.jpeg_quality:
        image = random_jpeg(image, _seed_pair(seed, 50), config.jpeg_quality, config.jpeg_prob)
    return tf.clip_by_value(image, 0.0, 1.0), label


# Marks the failure of the label check below in the error TensorFlow raises (the command
# line turns it into one line: facecolab.cli).
LABEL_CHECK = "facecolab label check"


def _decode(image_path, label_path, num_classes: int):
    """Decode one prepared pair; a label value that is neither a class id nor the ignore
    label stops the pipeline with an error naming the file (the losses would otherwise treat
    it as ignore and train on silently)."""
    image = tf.io.decode_jpeg(tf.io.read_file(image_path), channels=3)
    label = tf.io.decode_png(tf.io.read_file(label_path), channels=1)[..., 0]
    bad = (label >= num_classes) & (label != IGNORE_INDEX)
    what = f": label values outside 0..{num_classes - 1} (and {IGNORE_INDEX}), e.g."
    check = tf.debugging.Assert(
        ~tf.reduce_any(bad),
        [LABEL_CHECK, tf.strings.join([label_path, what]), tf.boolean_mask(label, bad)],
        summarize=5,
    )
    with tf.control_dependencies([check]):
        return image, tf.identity(label)


def make_dataset(
    prepared_dir,
    split: str,
    *,
    image_size=None,
    batch_size: int = 8,
    augment_config: AugmentConfig | None = None,
    one_hot: bool = False,
    shuffle: bool | None = None,
    seed: int = 0,
    cache: bool | str = True,
    repeat: bool = False,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Batches of ``(image float32 (B, H, W, 3) in [0, 1], label)`` from a prepared folder.

    Args:
        prepared_dir: output of ``facecolab.datasets.prepare``.
        split: ``train``, ``val`` or ``test``.
        image_size: ``(H, W)`` to resize to (image bilinear, label nearest); default: as
            prepared.
        batch_size, augment_config, one_hot, shuffle, seed, cache, repeat, drop_remainder:
            see :func:`batch_samples`.
    """
    info = read_dataset_info(prepared_dir)
    spec = DatasetSpec.from_dict(info["spec"])
    images, labels = split_files(prepared_dir, split)
    size = [int(v) for v in (info["size"] if image_size is None else image_size)]

    # File-system bytes: a file name need not be valid UTF-8, which a string tensor requires.
    paths = ([os.fsencode(p) for p in images], [os.fsencode(p) for p in labels])
    dataset = tf.data.Dataset.from_tensor_slices(paths)
    dataset = dataset.map(
        lambda i, m: _decode(i, m, spec.num_classes),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    if size != [int(v) for v in info["size"]]:
        dataset = dataset.map(
            lambda i, m: (
                tf.cast(tf.round(tf_resize_image(tf.cast(i, tf.float32), size)), tf.uint8),
                tf_resize_mask(m, size),
            ),
            num_parallel_calls=AUTOTUNE,
            deterministic=True,
        )
    return batch_samples(
        dataset,
        len(images),
        spec,
        size,
        batch_size=batch_size,
        augment_config=augment_config,
        one_hot=one_hot,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        repeat=repeat,
        drop_remainder=drop_remainder,
    )


def make_raw_dataset(
    name: str,
    root,
    split: str,
    *,
    image_size=(256, 256),
    aspect: str = "stretch",
    batch_size: int = 8,
    augment_config: AugmentConfig | None = None,
    one_hot: bool = False,
    shuffle: bool | None = None,
    seed: int = 0,
    cache: bool | str = True,
    repeat: bool = False,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """The batches of :func:`make_dataset`, read straight from a raw layout, skipping
    ``prepare``: handy for a quick look or small sets. The batching options are
    :func:`batch_samples`'; ``seed`` also picks seeded splits.

    Each item is decoded by its dataset reader (``facecolab.datasets.readers``) and resized by
    ``facecolab.resize`` in a ``tf.numpy_function``, so it costs Python time per image; for
    real training prepare the set once instead (and for CelebAMask-HQ, whose label maps are
    built from up to 18 part files, always).
    """
    fmt = get_format(name)
    items = fmt.list_items(root, split, seed=seed)
    if not items:
        raise ValueError(f"{root}: split {split!r} of {name} holds no items")
    size = [int(image_size[0]), int(image_size[1])]

    def load(index):
        item = items[int(index)]
        image = resize_image(read_image(item.image_path), size, aspect)
        return image, resize_mask(fmt.load_label(item), size, aspect)

    dataset = tf.data.Dataset.range(len(items)).map(
        lambda i: tf.numpy_function(load, [i], (tf.uint8, tf.uint8), stateful=False),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    return batch_samples(
        dataset,
        len(items),
        fmt.spec,
        size,
        batch_size=batch_size,
        augment_config=augment_config,
        one_hot=one_hot,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        repeat=repeat,
        drop_remainder=drop_remainder,
    )


def batch_samples(
    dataset,
    count: int,
    spec: DatasetSpec,
    size,
    *,
    batch_size: int = 8,
    augment_config: AugmentConfig | None = None,
    one_hot: bool = False,
    shuffle: bool | None = None,
    seed: int = 0,
    cache: bool | str = True,
    repeat: bool = False,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """The shared tail of both pipelines: decoded uint8 ``(image (H, W, 3), label (H, W))``
    samples → cache, shuffle, per-sample seeds, float conversion, augmentation, batches.

    Args:
        dataset: the decoded samples, ``count`` of them, each of ``size`` (H, W).
        spec: gives the number of classes and the left/right pairs the flip swaps.
        augment_config: augmentations (train only, typically); ``None`` for none.
        one_hot: labels as float32 ``(B, H, W, C)`` (ignore pixels all zero) instead of
            int32 ``(B, H, W)``.
        shuffle: default ``True`` when augmenting.
        seed: shuffling and augmentation draws; a run is deterministic given it.
        cache: ``True`` caches decoded uint8 samples in memory, a string caches to that file,
            ``False`` decodes every epoch (for sets larger than memory).
    """
    augment_config = augment_config or AugmentConfig()
    shuffle = augment_config.active if shuffle is None else shuffle
    if cache:
        dataset = dataset.cache("" if cache is True else str(cache))
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()

    flip_lut = tf.constant(spec.flip_lut().astype(np.int32))
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def to_float(image, label, sample_seed):
        image = tf.cast(image, tf.float32) / 255.0
        label = tf.cast(label, tf.int32)
        # Static shapes: decoding leaves H, W unknown, which layers such as UpSampling2D reject.
        image, label = tf.ensure_shape(image, (*size, 3)), tf.ensure_shape(label, size)
        if augment_config.active:
            image, label = augment(image, label, sample_seed, augment_config, flip_lut)
        image, label = tf.ensure_shape(image, (*size, 3)), tf.ensure_shape(label, size)
        if one_hot:
            label = tf.one_hot(label, spec.num_classes, dtype=tf.float32)
        return image, label

    dataset = tf.data.Dataset.zip((dataset, seeds)).map(
        lambda pair, s: to_float(pair[0], pair[1], s),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(AUTOTUNE)
