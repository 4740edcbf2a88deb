"""Segmentation losses on probabilities, with one ignore label.

Every loss is a pure ``keras.ops`` function ``(y_true, y_pred, **options) -> scalar float32``
wrapped by a thin, serializable ``keras.losses.Loss`` class, so it works in
``model.compile(loss=...)``, in graph mode and under mixed precision (``y_pred`` may be
float16; everything is computed in float32).

Inputs:
    ``y_pred``: probabilities ``(B, H, W, C)`` from a softmax, or ``(B, H, W, 1)`` from a
    sigmoid, read as P(class 1) and expanded to ``[1 − p, p]``; so a sigmoid model and the
    equivalent 2-way softmax get the same loss.
    ``y_true``: class ids ``(B, H, W)`` or ``(B, H, W, 1)`` (any dtype), or one-hot
    ``(B, H, W, C)`` when its last dimension equals C > 1. Ids outside ``[0, C)`` — the ignore
    label 255 in particular — and all-zero one-hot rows are excluded from every loss. When
    ``y_true`` and ``y_pred`` differ in height/width (deep-supervision outputs at a lower
    scale) the target is resized to the prediction by nearest neighbour.

The region losses (Dice, Jaccard) are computed over the whole batch per class, then averaged
over classes (``class_weights``-weighted; ``include_background=False`` drops class 0). The
pixel losses (cross-entropy, focal) are a mean over valid pixels weighted by the class weight
of each pixel's true class, so constant class weights leave their value unchanged.

``build_loss(spec)`` builds a loss from a config value:

* a string of ``+``-joined term names, each weighted 1: ``"ce"``, ``"dice+ce"``,
  ``"dice+cce+jaccard"`` (project 3), ``"dice+bce"`` (project 5);
* a dict of term weights: ``{"dice": 1.0, "ce": 1.0, "jaccard": 1.0}``;
* either of those under ``"terms"``, or term weights mixed with options:
  ``{"terms": "dice+ce", "class_weights": [0.5, 1, 1], "smooth": 1.0, "gamma": 2.0}``.

Terms: ``ce`` (alias ``cce``), ``bce``, ``dice``, ``jaccard`` (alias ``iou``), ``focal``.
Options (each passed to the terms that take it): ``ignore_index`` (255), ``class_weights``
(one per class, after sigmoid expansion: 2 for a sigmoid model), ``smooth`` (1.0, Dice and
Jaccard), ``include_background`` (True, Dice and Jaccard), ``epsilon`` (1e-7, probability
clipping for the logs), ``gamma`` (2.0, focal) and ``alpha`` (None, focal). Unknown term or
option names raise ``ValueError`` listing the valid ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence

import keras
from keras import ops

from facecolab.constants import IGNORE_INDEX, KERAS_PACKAGE
from facecolab.measures.keras_metrics import sparse_labels
from facecolab.measures.metrics import class_probabilities


def _target_and_probs(y_true, y_pred, ignore_index: int = IGNORE_INDEX):
    """Bring labels and predictions to one form.

    Returns:
        ``(target, probs)``, both float32 ``(B, H, W, C)``: one-hot target (all-zero rows at
        ignored pixels and ids outside ``[0, C)``) and class probabilities (a sigmoid channel
        expanded to two).
    """
    probs = class_probabilities(ops.cast(y_pred, "float32"))
    labels = sparse_labels(y_true, y_pred, ignore_index)
    labels = ops.where(labels == ignore_index, -1, labels)
    return ops.one_hot(labels, probs.shape[-1], dtype="float32"), probs


def _class_weights(class_weights, num_classes: int, include_background: bool = True):
    """float32 ``(C,)`` weights; ones by default, class 0 zeroed without background."""
    weights = [1.0] * num_classes if class_weights is None else [float(w) for w in class_weights]
    if len(weights) != num_classes:
        raise ValueError(f"class_weights has {len(weights)} values for {num_classes} classes")
    if not include_background:
        weights[0] = 0.0
    return ops.convert_to_tensor(weights, dtype="float32")


def _pixel_mean(pixel_loss, target, weights):
    """Mean of ``(B, H, W)`` pixel losses weighted by each pixel's true-class weight (``(C,)``
    ``weights``); ignored pixels weigh 0. Returns 0 when no pixel counts."""
    pixel_weights = ops.sum(target * weights, axis=-1)
    return ops.divide_no_nan(ops.sum(pixel_weights * pixel_loss), ops.sum(pixel_weights))


def _region_loss(
    y_true, y_pred, smooth, class_weights, include_background, ignore_index, *, jaccard: bool
):
    """1 − class-weighted mean of per-class soft Dice (or, with ``jaccard``, IoU) scores over
    the batch: the one body of :func:`dice_loss` and :func:`jaccard_loss`."""
    target, probs = _target_and_probs(y_true, y_pred, ignore_index)
    valid = ops.sum(target, axis=-1, keepdims=True)
    probs = probs * valid
    axes = tuple(range(len(probs.shape) - 1))
    intersection = ops.sum(target * probs, axis=axes)
    total = ops.sum(target + probs, axis=axes)
    if jaccard:
        numerator, denominator = intersection + smooth, total - intersection + smooth
    else:
        numerator, denominator = 2.0 * intersection + smooth, total + smooth
    # A class absent from both target and prediction agrees perfectly, even with smooth = 0.
    scores = ops.where(denominator > 0, ops.divide_no_nan(numerator, denominator), 1.0)
    weights = _class_weights(class_weights, probs.shape[-1], include_background)
    return 1.0 - ops.sum(weights * scores) / ops.sum(weights)


def dice_loss(
    y_true,
    y_pred,
    smooth: float = 1.0,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    ignore_index: int = IGNORE_INDEX,
):
    """1 − soft Dice, ``(2·|T∩P| + smooth) / (|T| + |P| + smooth)`` per class over the batch.

    ``smooth`` keeps the score defined and the gradient soft for small or missing classes (a
    class absent from both target and prediction scores 1). For a sigmoid model
    ``include_background=False`` gives the plain binary Dice of the foreground channel.
    """
    return _region_loss(
        y_true, y_pred, smooth, class_weights, include_background, ignore_index, jaccard=False
    )


def jaccard_loss(
    y_true,
    y_pred,
    smooth: float = 1.0,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    ignore_index: int = IGNORE_INDEX,
):
    """1 − soft IoU, ``(|T∩P| + smooth) / (|T∪P| + smooth)`` per class over the batch."""
    return _region_loss(
        y_true, y_pred, smooth, class_weights, include_background, ignore_index, jaccard=True
    )


def cross_entropy_loss(
    y_true,
    y_pred,
    class_weights: Sequence[float] | None = None,
    epsilon: float = 1e-7,
    ignore_index: int = IGNORE_INDEX,
):
    """Categorical cross-entropy ``−log p[true class]`` from probabilities (clipped to
    ``[epsilon, 1 − epsilon]``); with a sigmoid output this is binary cross-entropy."""
    target, probs = _target_and_probs(y_true, y_pred, ignore_index)
    log_probs = ops.log(ops.clip(probs, epsilon, 1.0 - epsilon))
    weights = _class_weights(class_weights, target.shape[-1])
    return _pixel_mean(-ops.sum(target * log_probs, axis=-1), target, weights)


def binary_cross_entropy_loss(
    y_true,
    y_pred,
    class_weights: Sequence[float] | None = None,
    epsilon: float = 1e-7,
    ignore_index: int = IGNORE_INDEX,
):
    """Binary cross-entropy of every channel against its one-hot target, averaged over
    channels (one-vs-rest). Equals :func:`cross_entropy_loss` for two classes, a sigmoid
    output included; for C > 2 it also penalises probability given to wrong classes."""
    target, probs = _target_and_probs(y_true, y_pred, ignore_index)
    probs = ops.clip(probs, epsilon, 1.0 - epsilon)
    channel_loss = target * ops.log(probs) + (1.0 - target) * ops.log(1.0 - probs)
    weights = _class_weights(class_weights, target.shape[-1])
    return _pixel_mean(-ops.mean(channel_loss, axis=-1), target, weights)


def focal_loss(
    y_true,
    y_pred,
    gamma: float = 2.0,
    alpha: float | None = None,
    class_weights: Sequence[float] | None = None,
    epsilon: float = 1e-7,
    ignore_index: int = IGNORE_INDEX,
):
    """Focal loss ``−(1 − p_t)^gamma · log p_t`` (Lin et al., 2017): easy pixels fade out.

    Args:
        gamma: focusing power; 0 gives cross-entropy.
        alpha: RetinaNet's balance: pixels of class 0 (background) weigh ``1 − alpha``, all
            others ``alpha``; multiplies ``class_weights``. None: no balancing.
    """
    target, probs = _target_and_probs(y_true, y_pred, ignore_index)
    probs = ops.clip(probs, epsilon, 1.0 - epsilon)
    pixel_loss = -ops.sum(target * (1.0 - probs) ** gamma * ops.log(probs), axis=-1)
    weights = _class_weights(class_weights, probs.shape[-1])
    if alpha is not None:
        balance = [1.0 - alpha] + [alpha] * (probs.shape[-1] - 1)
        weights = weights * ops.convert_to_tensor(balance, dtype="float32")
    return _pixel_mean(pixel_loss, target, weights)


def _jsonable(options: Mapping) -> dict:
    """Options with sequences as lists of floats, so configs are JSON and compare equal."""
    return {
        k: [float(v) for v in value] if k == "class_weights" and value is not None else value
        for k, value in options.items()
    }


def _unreduced(value):
    """A scalar loss as shape ``(1,)``.

    Keras reduces a non-scalar ``call`` result and, under a distribution strategy, divides
    it by the number of replicas before the gradients are summed across them; a scalar skips
    that step, so with N replicas the loss and gradients would be N times too large.
    """
    return ops.reshape(value, (1,))


class SegmentationLoss(keras.losses.Loss):
    """A pure loss function bound to its options; subclasses set ``loss_fn``.

    ``call`` returns the batch's scalar loss, so ``sample_weight`` can only scale a whole
    batch: weight pixels with ``class_weights`` and the ignore label instead.
    """

    loss_fn: Callable
    # The loss function's keyword options (its parameters after ``y_true, y_pred``), read
    # from its signature once per subclass: the signature is the one list of them.
    option_names: list[str] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.option_names = list(inspect.signature(cls.loss_fn).parameters)[2:]

    def __init__(
        self, name: str | None = None, reduction: str = "sum_over_batch_size", dtype=None, **options
    ):
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise ValueError(
                f"{self.loss_fn.__name__} takes no option {unknown}; valid: {self.option_names}"
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.options = _jsonable(options)

    def call(self, y_true, y_pred):
        return _unreduced(self.loss_fn(y_true, y_pred, **self.options))

    def get_config(self):
        return {**super().get_config(), **self.options}


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class DiceLoss(SegmentationLoss):
    """1 − soft Dice; options as :func:`dice_loss`."""

    loss_fn = staticmethod(dice_loss)


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class JaccardLoss(SegmentationLoss):
    """1 − soft IoU; options as :func:`jaccard_loss`."""

    loss_fn = staticmethod(jaccard_loss)


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class CrossEntropyLoss(SegmentationLoss):
    """Categorical (or, for a sigmoid output, binary) cross-entropy; see
    :func:`cross_entropy_loss`."""

    loss_fn = staticmethod(cross_entropy_loss)


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class BinaryCrossEntropyLoss(SegmentationLoss):
    """One-vs-rest binary cross-entropy; see :func:`binary_cross_entropy_loss`."""

    loss_fn = staticmethod(binary_cross_entropy_loss)


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class FocalLoss(SegmentationLoss):
    """Focal loss; options as :func:`focal_loss`."""

    loss_fn = staticmethod(focal_loss)


LOSSES: dict[str, type[SegmentationLoss]] = {
    "ce": CrossEntropyLoss,
    "bce": BinaryCrossEntropyLoss,
    "dice": DiceLoss,
    "jaccard": JaccardLoss,
    "focal": FocalLoss,
}
ALIASES = {"cce": "ce", "iou": "jaccard"}
OPTIONS = sorted({name for cls in LOSSES.values() for name in cls.option_names})


def _term_name(name: str) -> str:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in LOSSES:
        raise ValueError(
            f"unknown loss term {name!r}; valid terms: {sorted(LOSSES)}, aliases: "
            f"{sorted(ALIASES)}, options: {OPTIONS}"
        )
    return key


def _parse_terms(terms) -> dict[str, float]:
    """``"dice+ce"`` or ``{"dice": 1, "ce": 0.5}`` → ``{"dice": 1.0, "ce": 0.5}``."""
    items = [(name, 1.0) for name in terms.split("+")] if isinstance(terms, str) else None
    if items is None and isinstance(terms, Mapping):
        items = list(terms.items())
    if not items:
        raise ValueError(f"loss terms must be a non-empty 'a+b' string or dict, got {terms!r}")
    weights: dict[str, float] = {}
    for name, weight in items:
        key = _term_name(name)
        if key in weights:
            raise ValueError(f"loss term {key!r} appears twice in {terms!r}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise ValueError(f"loss term {name!r} needs a weight ≥ 0, got {weight!r}")
        weights[key] = float(weight)
    return weights


@keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
class CombinedLoss(keras.losses.Loss):
    """Weighted sum of loss terms sharing one set of options.

    Args:
        terms: term name → weight, e.g. ``{"dice": 1.0, "ce": 1.0}`` (or ``"dice+ce"``).
        **options: see the module docstring; each term gets the options its function takes.
    """

    def __init__(
        self,
        terms,
        name: str | None = None,
        reduction: str = "sum_over_batch_size",
        dtype=None,
        **options,
    ):
        self.terms = _parse_terms(terms)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"unknown loss options {unknown}; valid: {OPTIONS}")
        super().__init__(
            name=name or "_".join(self.terms) + "_loss", reduction=reduction, dtype=dtype
        )
        self.options = _jsonable(options)
        self.weighted_losses = []
        for term, weight in self.terms.items():
            loss_cls = LOSSES[term]
            term_options = {k: v for k, v in self.options.items() if k in loss_cls.option_names}
            self.weighted_losses.append((weight, loss_cls(**term_options)))

    def call(self, y_true, y_pred):
        return sum(weight * loss.call(y_true, y_pred) for weight, loss in self.weighted_losses)

    def get_config(self):
        return {**super().get_config(), "terms": dict(self.terms), **self.options}


def build_loss(spec) -> CombinedLoss:
    """Build the loss a config asks for (formats in the module docstring).

    Raises:
        ValueError: unknown term or option names, bad weights, or a spec of another type.
    """
    if isinstance(spec, str):
        return CombinedLoss(spec)
    if not isinstance(spec, Mapping):
        raise ValueError(f"loss spec must be a string or dict, got {type(spec).__name__}")
    spec = dict(spec)
    options = {key: spec.pop(key) for key in list(spec) if key in OPTIONS}
    if "terms" in spec:
        terms = spec.pop("terms")
        if spec:
            raise ValueError(
                f"loss spec has 'terms' and also unknown keys {sorted(spec)}; "
                f"valid options: {OPTIONS}"
            )
    else:
        terms = spec
    return CombinedLoss(terms, **options)


__all__ = [
    "ALIASES",
    "LOSSES",
    "OPTIONS",
    "BinaryCrossEntropyLoss",
    "CombinedLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "JaccardLoss",
    "SegmentationLoss",
    "binary_cross_entropy_loss",
    "build_loss",
    "cross_entropy_loss",
    "dice_loss",
    "focal_loss",
    "jaccard_loss",
]
