"""Keras wrappers over the metric core: one confusion matrix accumulated during training.

The formulas are :mod:`facecolab.measures.metrics`' (shared with file-based scoring); this module
only
adds what needs Keras: turning label tensors into ids and the ``keras.metrics.Metric`` classes.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from facecolab.constants import IGNORE_INDEX, KERAS_PACKAGE
from facecolab.measures.metrics import mean_iou, pixel_accuracy, predicted_labels

# JAX runs without float64 unless x64 is enabled: there the counts are float32, exact to 2²⁴
# pixels per cell (beyond that a count is off by ~1e-7 relative; metrics.py's numpy core, not
# this training-time monitor, gives the reported numbers).
_COUNT_DTYPE = {"jax": "float32"}


def sparse_labels(y_true, y_pred, ignore_index: int = IGNORE_INDEX):
    """Any accepted label form → int32 ids ``(B, H, W)`` at ``y_pred``'s resolution (tensors).

    Args:
        y_true: ids ``(B, H, W)`` or ``(B, H, W, 1)``, or one-hot ``(B, H, W, C)`` (C > 1,
            the number of classes of ``y_pred``) whose all-zero rows become ``ignore_index``.
        y_pred: probabilities ``(B, H, W, C)`` or sigmoid ``(B, H, W, 1)``. When its height and
            width differ from the labels' (deep supervision at a lower scale), the labels are
            resized to it by nearest neighbour.
    """
    num_classes = max(y_pred.shape[-1], 2)
    rank = len(y_pred.shape)
    true_rank = len(y_true.shape)
    if true_rank == rank and y_true.shape[-1] == num_classes:
        labels = ops.where(ops.sum(y_true, axis=-1) > 0, ops.argmax(y_true, axis=-1), ignore_index)
    elif true_rank == rank - 1 or (true_rank == rank and y_true.shape[-1] == 1):
        labels = ops.reshape(y_true, ops.shape(y_true)[: rank - 1])
    else:
        raise ValueError(
            f"y_true of shape {tuple(y_true.shape)} fits neither class ids (B, H, W[, 1]) nor "
            f"one-hot (B, H, W, {num_classes}) for y_pred of shape {tuple(y_pred.shape)}"
        )
    labels = ops.cast(labels, "int32")
    label_hw, pred_hw = tuple(labels.shape[1:]), tuple(y_pred.shape[1:-1])
    if None not in label_hw + pred_hw and label_hw != pred_hw:
        resized = ops.image.resize(
            ops.cast(labels[..., None], "float32"), pred_hw, interpolation="nearest"
        )
        labels = ops.cast(resized[..., 0], "int32")
    return labels


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class ConfusionMatrixMetric(keras.metrics.Metric):
    """Keras metric accumulating one ``(C, C)`` confusion matrix over a whole evaluation.

    ``update_state(y_true, y_pred)`` takes labels in any form :func:`sparse_labels` accepts
    and probabilities ``(B, H, W, C)`` or sigmoid ``(B, H, W, 1)``; truth ids outside
    ``[0, C)`` (the ignore label) are skipped. ``result()`` is :attr:`reduce` of the matrix
    (mean IoU here); :meth:`matrix` gives the counts. Counts are float64 variables (float32
    on JAX, see ``_COUNT_DTYPE``), so they sum correctly across replicas.

    ``shared``: another confusion-matrix metric whose matrix this one reads instead of
    counting its own, so training reports mean IoU and pixel accuracy from ONE matrix per step
    (:func:`training_metrics`). Keras does not flatten a compiled metric's dict ``result()``
    into the logs (``CompileMetrics.result`` stores it under the metric's name, checked on
    3.15; the shared matrix is trained with on 3.3.3 too, in CI's oldest pair), hence two
    metrics over one variable rather than one metric with two results. The
    link is not serialised: a reloaded metric counts for itself (correct, just counted twice).
    """

    reduce = staticmethod(mean_iou)
    default_name = "confusion_matrix"

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = IGNORE_INDEX,
        name: str | None = None,
        dtype=None,
        shared: ConfusionMatrixMetric | None = None,
    ):
        super().__init__(name=name or self.default_name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        if shared is not None:
            if (shared.num_classes, shared.ignore_index) != (self.num_classes, self.ignore_index):
                raise ValueError("a shared confusion matrix needs the same classes and ignore id")
            # Untracked (object.__setattr__): the variable stays the owner's alone, so Keras
            # resets and syncs it once.
            object.__setattr__(self, "shared", shared)
            object.__setattr__(self, "counts", shared.counts)
            return
        self.shared = None
        self.counts = self.add_variable(
            shape=(self.num_classes, self.num_classes),
            initializer="zeros",
            dtype=_COUNT_DTYPE.get(keras.backend.backend(), "float64"),
            name="confusion_matrix",
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__} counts pixels; sample_weight unsupported")
        if self.shared is not None:
            return  # the owner of the matrix counts this step
        num_classes = self.num_classes
        truth = ops.reshape(sparse_labels(y_true, y_pred, self.ignore_index), (-1,))
        prediction = ops.reshape(ops.cast(predicted_labels(y_pred), "int32"), (-1,))
        valid = (truth != self.ignore_index) & (truth >= 0) & (truth < num_classes)
        # Invalid pixels land in one extra bin, dropped after counting. A segment sum with a
        # fixed segment count (not bincount, whose size depends on the data) compiles with XLA.
        pairs = ops.where(valid, truth * num_classes + prediction, num_classes**2)
        ones = ops.ones_like(pairs)
        counts = ops.segment_sum(ones, pairs, num_segments=num_classes**2 + 1)[: num_classes**2]
        self.counts.assign_add(ops.reshape(ops.cast(counts, self.counts.dtype), self.counts.shape))

    def reset_state(self):
        if self.shared is None:
            super().reset_state()

    def result(self):
        counts = ops.cast(ops.convert_to_tensor(self.counts), "float32")
        return ops.cast(self.reduce(counts), self.dtype)

    def matrix(self) -> np.ndarray:
        """The accumulated matrix, ``int64 (C, C)`` (rows truth, columns prediction)."""
        return np.rint(self.counts.numpy()).astype(np.int64)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "ignore_index": self.ignore_index,
        }


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class MeanIoUMetric(ConfusionMatrixMetric):
    """Mean IoU over present classes (log name ``mean_iou``)."""

    default_name = "mean_iou"


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class PixelAccuracyMetric(ConfusionMatrixMetric):
    """Pixel accuracy without ignored pixels (log name ``pixel_accuracy``)."""

    reduce = staticmethod(pixel_accuracy)
    default_name = "pixel_accuracy"


def training_metrics(num_classes: int, ignore_index: int = IGNORE_INDEX) -> list:
    """``[PixelAccuracyMetric, MeanIoUMetric]`` over one confusion matrix: the matrix is
    counted once per step (by the mean-IoU metric) and both results are read from it."""
    owner = MeanIoUMetric(num_classes, ignore_index)
    return [PixelAccuracyMetric(num_classes, ignore_index, shared=owner), owner]
