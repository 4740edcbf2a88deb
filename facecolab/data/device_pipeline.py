"""Batches made on the accelerator: the decoded training split held there, augmented there.

:class:`DeviceBatches` is :class:`facecolab.data.host_pipeline.PreparedBatches` with its
arrays moved to the Keras backend's device once: the split is decoded and resized on the host
as there, then held as ``uint8`` backend tensors (``(N, H, W, 3)`` images, ``(N, H, W)``
labels: 1.5 bytes a pixel, 20 GB for 200 000 samples at 256², on the accelerator when there
is one). Each batch is gathered by index on the device and augmented there by
:func:`facecolab.data.augment.apply_params`, compiled once (``jax.jit`` / ``tf.function``), so
the host only draws the parameters: the same numpy draw per sample from
``(seed, epoch, index)`` as the host pipeline, ``float32 (B, len(PARAMS))`` a batch, and a
fixed seed gives the same batches on every path.

JPEG re-encoding is skipped here (its drawn quality is ignored): it needs a codec, which
neither ``keras.ops`` nor XLA has, and a host round trip per batch is what this path exists
to avoid. Every other augmentation is the same definition as on the host and in tf.data.
"""

from __future__ import annotations

import keras
import numpy as np

from facecolab.data.augment import INDEX, PARAMS, apply_params
from facecolab.data.host_pipeline import PreparedBatches


def compile_batch_function(function):
    """``function`` of tensors compiled for the Keras backend: ``jax.jit`` on JAX,
    ``tf.function`` on TensorFlow (no XLA: its image ops are slower under XLA on a CPU),
    as it is on PyTorch (eager)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(function)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    return function


class DeviceBatches(PreparedBatches):
    """Batches ``(image float32 (B, H, W, 3) in [0, 1], label)`` of one prepared split,
    made on the backend's device from the split held there as ``uint8``.

    The arguments are :class:`PreparedBatches`' (``workers`` aside: there is no per-batch
    host work to spread); the order and the augmentation parameters are its
    (:meth:`PreparedBatches.params`), so a batch here equals the host pipeline's batch for
    the same draws (JPEG re-encoding aside, see the module docstring). Labels are
    ``int32 (B, H, W)`` ids, or ``float32 (B, H, W, C)`` one-hot with ``one_hot``.
    """

    def __init__(self, prepared_dir, split: str, **options):
        options.pop("workers", None)
        super().__init__(prepared_dir, split, workers=1, **options)
        self.images = keras.ops.convert_to_tensor(self.images)  # uint8 (N, H, W, 3)
        self.labels = keras.ops.convert_to_tensor(self.labels)  # uint8 (N, H, W)
        config = self.augment_config
        flip_lut = np.asarray(self.flip_lut, np.int32)
        num_classes = self.spec.num_classes
        one_hot = self.one_hot

        def make(images, labels, indices, params):
            images = keras.ops.take(images, indices, axis=0)
            labels = keras.ops.take(labels, indices, axis=0)
            if config.active:
                images, labels = apply_params(images, labels, params, flip_lut, config)
            else:
                images = keras.ops.cast(images, "float32") * (1 / 255)
                labels = keras.ops.cast(labels, "int32")
            if one_hot:
                valid = keras.ops.expand_dims(labels < num_classes, -1)
                ids = keras.ops.where(labels < num_classes, labels, 0)
                labels = keras.ops.one_hot(ids, num_classes) * keras.ops.cast(valid, "float32")
            return images, labels

        self._make = compile_batch_function(make)

    def params(self, index: int) -> np.ndarray:
        """As :meth:`PreparedBatches.params`, with the JPEG quality zeroed (skipped here)."""
        params = super().params(index)
        params[INDEX["jpeg"]] = 0
        return params

    def batch(self, indices):
        """Samples ``indices`` as this epoch draws them, as backend tensors on the device:
        ``(float32 (B, H, W, 3), int32 (B, H, W))`` (one-hot labels with ``one_hot``)."""
        indices = np.asarray(indices, np.int32)
        if self.augment_config.active:
            params = np.stack([self.params(i) for i in indices])
        else:
            params = np.zeros((len(indices), len(PARAMS)), np.float32)
        return self._make(self.images, self.labels, indices, params)

    def __getitem__(self, batch: int):
        chosen = self.order[batch * self.batch_size : (batch + 1) * self.batch_size]
        images, labels = self.batch(chosen)
        target = tuple([labels] * self.outputs) if self.outputs > 1 else labels
        return images, target
