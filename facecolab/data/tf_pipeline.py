"""tf.data input pipeline over a prepared folder (the Keras TensorFlow backend).

The augmentations are :mod:`facecolab.data.augment`'s, as on every other path: each sample's
parameters are drawn with numpy from a per-sample seed of one ``tf.data.Dataset.random``
stream (so a run is deterministic given its seed while every epoch still sees new draws),
JPEG re-encoding runs on the sample (``tf.image.adjust_jpeg_quality`` at the drawn quality),
and the rest is applied to each batch by ``augment.apply_params`` in ``keras.ops``.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import tensorflow as tf

from facecolab.constants import IGNORE_INDEX
from facecolab.data.augment import IDENTITY, INDEX, PARAMS, AugmentConfig, apply_params, draw_params
from facecolab.data.imageio import read_image
from facecolab.data.prepare import checked_split_files, read_dataset_info
from facecolab.data.readers import get_format
from facecolab.data.resize import resize_image, resize_mask, tf_resize_image, tf_resize_mask
from facecolab.data.specs import DatasetSpec

AUTOTUNE = tf.data.AUTOTUNE


# Marks the failure of the label check below in the error TensorFlow raises (the command
# line turns it into one line: facecolab.cli.main).
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
    skip_bad: bool = False,
) -> tf.data.Dataset:
    """Batches of ``(image float32 (B, H, W, 3) in [0, 1], label)`` from a prepared folder.

    Args:
        prepared_dir: output of ``facecolab.data.prepare``.
        split: ``train``, ``val`` or ``test``.
        image_size: ``(H, W)`` to resize to (image bilinear, label nearest); default: as
            prepared.
        batch_size, augment_config, one_hot, shuffle, seed, cache, repeat, drop_remainder:
            see :func:`batch_samples`; a cache file is per split and folder
            (:func:`cache_file`).
        skip_bad: leave out items whose files are empty, unreadable or of another size
            (counted on stderr); else the first is a ``ValueError`` naming it.
    """
    info = read_dataset_info(prepared_dir)
    spec = DatasetSpec.from_dict(info["spec"])
    images, labels = checked_split_files(prepared_dir, split, skip_bad)
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
        cache=cache_file(cache, prepared_dir, split, size),
        repeat=repeat,
        drop_remainder=drop_remainder,
    )


def cache_file(cache: bool | str, *source) -> bool | str:
    """``cache``, or for a file name that name made unique to ``source`` (folder, split,
    size): one file shared by the training and validation data would serve the training
    samples as validation, and a file left by other data would serve stale samples."""
    if not isinstance(cache, str) or not cache:
        return cache
    folder, *rest = source
    key = repr([os.path.realpath(str(folder)), *map(str, rest)]).encode()
    return f"{cache}.{hashlib.sha256(key).hexdigest()[:12]}"


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

    Each item is decoded by its dataset reader (``facecolab.data.readers``) and resized by
    ``facecolab.data.resize`` in a ``tf.numpy_function``, so it costs Python time per image; for
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
        cache=cache_file(cache, root, name, split, size, aspect),
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
    samples → cache, shuffle, per-sample parameters, batches, augmentation, float.

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

    flip_lut = spec.flip_lut().astype(np.int32)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def draw(sample_seed: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(sample_seed.view(np.uint64))
        return draw_params(rng, augment_config, size)

    def with_params(image, label, sample_seed):
        # Static shapes: decoding leaves H, W unknown, which layers such as UpSampling2D reject.
        image, label = tf.ensure_shape(image, (*size, 3)), tf.ensure_shape(label, size)
        if not augment_config.active:  # validation: no Python call per sample
            return image, label, tf.constant(IDENTITY)
        params = tf.numpy_function(draw, [sample_seed], tf.float32, stateful=False)
        params = tf.ensure_shape(params, (len(PARAMS),))
        if augment_config.jpeg_quality:
            quality = tf.cast(params[INDEX["jpeg"]], tf.int32)
            image = tf.cond(
                quality > 0, lambda: tf.image.adjust_jpeg_quality(image, quality), lambda: image
            )
            image = tf.ensure_shape(image, (*size, 3))
        return image, label, params

    def to_float(images, labels, params):
        if augment_config.active:
            images, labels = apply_params(images, labels, params, flip_lut, augment_config)
        else:
            images = tf.cast(images, tf.float32) / 255.0
            labels = tf.cast(labels, tf.int32)
        if one_hot:
            labels = tf.one_hot(labels, spec.num_classes, dtype=tf.float32)
        return images, labels

    dataset = tf.data.Dataset.zip((dataset, seeds)).map(
        lambda pair, s: with_params(pair[0], pair[1], s),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.map(to_float, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)
