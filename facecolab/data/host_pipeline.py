"""Batches from a prepared folder for any Keras backend, without TensorFlow.

:func:`facecolab.data.tf_pipeline.make_dataset` (tf.data) feeds training on TensorFlow. On the other
Keras backends (JAX on a GPU machine without TensorFlow, PyTorch) training reads the same
prepared folder through :class:`PreparedBatches`, a ``keras.utils.PyDataset`` that decodes
the split once into memory and augments each batch with :mod:`facecolab.data.augment` (the
parameters drawn per sample with numpy, applied with ``keras.ops`` as in tf.data).
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

from facecolab.data.augment import AugmentConfig, augment_batch, draw_params
from facecolab.data.labels import check_ids
from facecolab.data.prepare import checked_split_files, dataset_spec, read_dataset_info
from facecolab.data.resize import resize_image, resize_mask


def _read(path, mode: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert(mode))


class PreparedBatches(keras.utils.PyDataset):
    """Batches ``(image float32 (B, H, W, 3) in [0, 1], label)`` of one prepared split.

    Args:
        prepared_dir: output of ``facecolab.data.prepare``.
        split: ``train``, ``val`` or ``test``.
        batch_size: samples per batch; the last batch is smaller unless
            ``drop_remainder``.
        image_size: ``(H, W)`` to resize to (image area/bilinear, label nearest);
            default: as prepared.
        augment_config: augmentations (train only, typically).
        one_hot: labels as float32 ``(B, H, W, C)`` (ignore pixels all zero) instead of
            int32 ``(B, H, W)``.
        shuffle: new order every epoch; default ``True`` when augmenting.
        seed: order and augmentation draws are a function of ``(seed, epoch, sample)``,
            so a run (and a resumed one, given ``epoch``) is deterministic.
        outputs: with ``n > 1`` the label is repeated as an ``n``-tuple (a model with
            deep supervision has ``n`` outputs that all take it).
        epoch: the first epoch's number (a resumed run starts past 0).
        workers: threads decoding and augmenting batches.
    """

    def __init__(
        self,
        prepared_dir,
        split: str,
        *,
        batch_size: int = 8,
        image_size=None,
        augment_config: AugmentConfig | None = None,
        one_hot: bool = False,
        shuffle: bool | None = None,
        seed: int = 0,
        drop_remainder: bool = False,
        outputs: int = 1,
        epoch: int = 0,
        workers: int = 1,
        skip_bad: bool = False,
    ):
        super().__init__(workers=workers, use_multiprocessing=False)
        info = read_dataset_info(prepared_dir)
        self.spec = dataset_spec(prepared_dir)
        size = tuple(int(v) for v in (info["size"] if image_size is None else image_size))
        image_paths, label_paths = checked_split_files(prepared_dir, split, skip_bad)
        self.images = np.stack([resize_image(_read(p, "RGB"), size) for p in image_paths])
        labels = (check_ids(_read(p, "L"), self.spec.num_classes, str(p)) for p in label_paths)
        self.labels = np.stack([resize_mask(label, size) for label in labels])
        self.batch_size = int(batch_size)
        self.augment_config = augment_config or AugmentConfig()
        self.shuffle = self.augment_config.active if shuffle is None else shuffle
        self.seed, self.epoch, self.outputs = int(seed), int(epoch), int(outputs)
        self.one_hot, self.drop_remainder = one_hot, drop_remainder
        self.flip_lut = self.spec.flip_lut()
        self.order = self._order()

    def _order(self) -> np.ndarray:
        count = len(self.labels)
        if not self.shuffle:
            return np.arange(count)
        return np.random.default_rng((self.seed, self.epoch)).permutation(count)

    @property
    def num_batches(self) -> int:
        count = len(self.labels)
        if self.drop_remainder:
            return count // self.batch_size
        return -(-count // self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()

    def params(self, index: int) -> np.ndarray:
        """The augmentation parameters of sample ``index`` this epoch, a function of
        ``(seed, epoch, index)`` alone."""
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        return draw_params(rng, self.augment_config, self.labels.shape[1:3])

    def batch(self, indices) -> tuple[np.ndarray, np.ndarray]:
        """Samples ``indices`` as this epoch draws them: ``(float32 (B, H, W, 3),
        int32 (B, H, W))``."""
        images, labels = self.images[indices], self.labels[indices]
        if not self.augment_config.active:
            return images.astype(np.float32) * (1 / 255), labels.astype(np.int32)
        params = np.stack([self.params(i) for i in indices])
        images, labels = augment_batch(images, labels, params, self.flip_lut, self.augment_config)
        return keras.ops.convert_to_numpy(images), keras.ops.convert_to_numpy(labels)

    def __iter__(self):
        """The batches of one pass, in order (evaluation loops)."""
        return (self[batch] for batch in range(self.num_batches))

    def __getitem__(self, batch: int):
        chosen = self.order[batch * self.batch_size : (batch + 1) * self.batch_size]
        images, labels = self.batch(chosen)
        if self.one_hot:
            labels = (
                np.eye(self.spec.num_classes, dtype=np.float32)[
                    np.where(labels < self.spec.num_classes, labels, 0)
                ]
                * (labels < self.spec.num_classes)[..., None]
            )
        target = tuple([labels] * self.outputs) if self.outputs > 1 else labels
        return images, target
