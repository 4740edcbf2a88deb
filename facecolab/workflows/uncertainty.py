"""Monte-Carlo dropout uncertainty and calibration.

A model built with always-on dropout (``facecolab.models.layers.AlwaysOnDropout``; e.g.
``segnet_vgg16(bayesian=True)``, ``unet(mc_dropout=True)``) gives a different sample of
probabilities at every forward pass, while batch norm stays in inference mode. Averaging
samples (Gal & Ghahramani, 2016; Bayesian SegNet, arXiv 1511.02680) gives better calibrated
probabilities and two uncertainty maps:

* predictive entropy ``H[mean_s p_s]``: total uncertainty;
* mutual information ``H[mean_s p_s] − mean_s H[p_s]``: the part due to the weights
  (epistemic), high where the samples disagree.

Entropies are in nats. Calibration is measured by the expected calibration error over
equal-width confidence bins (Guo et al., 2017); ``facecolab.viz.plot_reliability`` draws it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import keras
import numpy as np

from facecolab.constants import IGNORE_INDEX
from facecolab.data.resize import resize_image
from facecolab.measures.metrics import class_probabilities
from facecolab.modelfiles.runner import main_probabilities, model_input_size
from facecolab.models.mc_dropout import require_mc_dropout
from facecolab.workflows.face_detection import FaceDetector
from facecolab.workflows.faces import crop_square, face_crops


@dataclass
class MCResult:
    """Monte-Carlo dropout statistics of ``N`` images of ``H × W`` pixels, ``C`` classes.

    Attributes:
        mean: float32 ``(N, H, W, C)`` mean class probabilities (sum to 1 per pixel).
        labels: int64 ``(N, H, W)`` argmax of ``mean``.
        entropy: float32 ``(N, H, W)`` predictive entropy of ``mean`` (nats, ≥ 0).
        mutual_information: float32 ``(N, H, W)`` entropy minus the mean per-sample entropy
            (nats, 0 ≤ MI ≤ entropy).
        variance: float32 ``(N, H, W, C)`` per-class variance of the samples (ddof 0).
        samples: number of samples averaged.
    """

    mean: np.ndarray
    labels: np.ndarray
    entropy: np.ndarray
    mutual_information: np.ndarray
    variance: np.ndarray
    samples: int


def _entropy_terms(probs: np.ndarray) -> np.ndarray:
    """``p · log p`` with ``0 · log 0 = 0``."""
    return probs * np.log(np.where(probs > 0, probs, 1.0))


def mc_statistics(probability_samples: Iterable[np.ndarray]) -> MCResult:
    """Reduce probability samples to :class:`MCResult` with running sums.

    Only ``Σ p``, ``Σ p²`` and ``Σ p·log p`` are kept (float64), never the samples, so the
    memory does not grow with their number.

    Args:
        probability_samples: arrays ``(B, H, W, C)``, or sigmoid ``(B, H, W, 1)``, one per
            sample, all of one shape; read one at a time (a generator is fine).
    """
    count, sum_p, sum_p2, sum_plogp = 0, 0.0, 0.0, 0.0
    for sample in probability_samples:
        probs = class_probabilities(np.asarray(sample, dtype=np.float64))
        count += 1
        sum_p = sum_p + probs
        sum_p2 = sum_p2 + probs**2
        sum_plogp = sum_plogp + _entropy_terms(probs).sum(axis=-1)
    if count == 0:
        raise ValueError("mc_statistics needs at least one probability sample")
    mean = sum_p / count
    entropy = -_entropy_terms(mean).sum(axis=-1)
    expected_entropy = -sum_plogp / count
    return MCResult(
        mean=mean.astype(np.float32),
        labels=mean.argmax(axis=-1),
        entropy=np.maximum(entropy, 0.0).astype(np.float32),
        # Jensen: MI ≥ 0; the clip only removes rounding error.
        mutual_information=np.clip(entropy - expected_entropy, 0.0, None).astype(np.float32),
        variance=np.maximum(sum_p2 / count - mean**2, 0.0).astype(np.float32),
        samples=count,
    )


def predict_mc(model: keras.Model, images, samples: int = 50, batch_size: int = 8) -> MCResult:
    """Monte-Carlo dropout prediction.

    Each batch runs ``samples`` times through ``model.predict_on_batch`` (inference mode, so
    batch norm uses its moving statistics; only always-on dropout samples).

    Args:
        model: a model with ``AlwaysOnDropout`` layers; output softmax ``(B, H, W, C)`` or
            sigmoid ``(B, H, W, 1)`` (the first output if there are several).
        images: float32 ``(N, H, W, 3)`` in [0, 1].
        samples: forward passes per image (50 in Bayesian SegNet).
        batch_size: images per forward pass; memory is about ``batch_size`` samples' worth
            of running sums plus the ``(N, H, W, C)`` outputs.

    Raises:
        ValueError: the model has no MC dropout layers, or bad ``samples``/``batch_size``/
            image shape.
    """
    require_mc_dropout(model)
    if samples < 1 or batch_size < 1:
        raise ValueError(f"samples and batch_size must be ≥ 1, got {samples}, {batch_size}")
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, 3), got shape {images.shape}")
    parts = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        parts.append(
            mc_statistics(main_probabilities(model.predict_on_batch(batch)) for _ in range(samples))
        )
    return MCResult(
        **{
            field: np.concatenate([getattr(part, field) for part in parts])
            for field in ("mean", "labels", "entropy", "mutual_information", "variance")
        },
        samples=samples,
    )


@dataclass
class ReliabilityDiagram:
    """Calibration of top-class confidences over equal-width bins ``[k/B, (k+1)/B)``.

    Attributes:
        edges: float64 ``(B + 1,)`` bin edges over [0, 1].
        counts: int64 ``(B,)`` pixels per bin.
        accuracy: float64 ``(B,)`` fraction of correct predictions per bin (NaN if empty).
        confidence: float64 ``(B,)`` mean top-class probability per bin (NaN if empty).
    """

    edges: np.ndarray
    counts: np.ndarray
    accuracy: np.ndarray
    confidence: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error ``Σ_b (n_b / n) · |accuracy_b − confidence_b|``."""
        filled = self.counts > 0
        gaps = np.abs(self.accuracy[filled] - self.confidence[filled])
        return float((self.counts[filled] * gaps).sum() / max(self.counts.sum(), 1))


def face_uncertainty(
    model: keras.Model, image: np.ndarray, framing, samples: int = 50, detector=None
) -> tuple[np.ndarray, MCResult]:
    """Monte-Carlo dropout over the most confident face of a photo, cropped per ``framing``
    (``facecolab.workflows.faces.framing_of``) as ``facecolab.workflows.predict.parse_faces``
    crops it.

    Returns:
        ``(crop, result)``: the ``uint8 (h, w, 3)`` face crop at the model's input size and
        the :class:`MCResult` of that one image (``N = 1``).

    Raises:
        ValueError: no face found, or a model without MC dropout layers.
    """
    require_mc_dropout(model)
    faces, boxes = face_crops(image, detector or FaceDetector(), framing)
    if not faces:
        raise ValueError("no face found in the photo")
    crop = resize_image(crop_square(image, boxes[0]), model_input_size(model))
    return crop, predict_mc(model, crop[None].astype(np.float32) / 255.0, samples=samples)


def reliability_diagram(
    probs, labels, bins: int = 15, ignore_index: int = IGNORE_INDEX
) -> ReliabilityDiagram:
    """Bin pixels by the probability of their predicted class.

    Args:
        probs: ``(…, C)`` probabilities or sigmoid ``(…, 1)``.
        labels: ``(…)`` true class ids; ``ignore_index`` pixels are skipped.
    """
    if bins < 1:
        raise ValueError(f"bins must be ≥ 1, got {bins}")
    probs = class_probabilities(np.asarray(probs, dtype=np.float64))
    labels = np.asarray(labels)
    if labels.shape != probs.shape[:-1]:
        raise ValueError(
            f"labels of shape {labels.shape} do not match probabilities of shape {probs.shape}"
        )
    keep = labels != ignore_index
    probs, labels = probs[keep], labels[keep]
    confidence = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == labels
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(which, weights=correct, minlength=bins) / counts
        mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / counts
    return ReliabilityDiagram(np.linspace(0.0, 1.0, bins + 1), counts, accuracy, mean_confidence)


def expected_calibration_error(
    probs, labels, bins: int = 15, ignore_index: int = IGNORE_INDEX
) -> float:
    """ECE of ``probs`` against ``labels`` (see :func:`reliability_diagram`); 0 = calibrated."""
    return reliability_diagram(probs, labels, bins, ignore_index).ece


__all__ = [
    "MCResult",
    "ReliabilityDiagram",
    "expected_calibration_error",
    "mc_statistics",
    "predict_mc",
    "reliability_diagram",
]
